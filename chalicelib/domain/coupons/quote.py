"""The quote for a cart: subtotal, the best stack, alternatives, and why others were left out.

Without ``coupon_ids`` every wallet coupon is considered (used ones and ones that expired
more than ``EXPIRED_SHOWN_DAYS`` ago are left out silently) and ``best`` is the exact optimum
(optimizer.py). With ``coupon_ids`` (an explicit choice) exactly those coupons are evaluated:
in the order given, one that breaks a stacking rule with those kept before it is rejected
with STACKING_CONFLICT, and ``alternatives`` is empty.
"""

from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.coupons.cart import Cart, lines_of
from chalicelib.domain.coupons.eligibility import (
    NOT_FOUND,
    STACKING_CONFLICT,
    USED,
    Context,
    Rejection,
    WalletCoupon,
    check,
    check_spend,
    coverage,
)
from chalicelib.domain.coupons.optimizer import search
from chalicelib.domain.coupons.rules import GIFT
from chalicelib.domain.coupons.stacking import Outcome, Prepared, Space, evaluate
from chalicelib.domain.models import Out

EXPIRED_SHOWN_DAYS = 30


class LineDiscount(Out):
    sku: str
    discount: int


class GiftLine(Out):
    sku: str
    name: str | None = None
    quantity: int
    value: int
    coupon_id: str


class CouponShare(Out):
    """One coupon's part of a stack (funding is for reports)."""

    coupon_id: str
    template_id: str
    discount: int
    shipping_discount: int
    funding: dict[str, object]


class Stack(Out):
    coupon_ids: list[str]
    discount: int
    shipping_discount: int
    gifts: list[GiftLine]
    total: int
    lines: list[LineDiscount]
    coupons: list[CouponShare]


class Rejected(Out):
    coupon_id: str
    reason: str
    details: dict[str, object]


class Quote(Out):
    subtotal: int
    shipping_fee: int
    best: Stack
    alternatives: list[Stack]
    rejected: list[Rejected]


def quote(cart: Cart, wallet: list[WalletCoupon], ctx: Context,
          coupon_ids: list[str] | None = None, *, alternatives: int = 3) -> Quote:
    """Quote ``cart`` against the member's ``wallet`` (pure; writes nothing)."""
    lines = lines_of(cart)
    rejected: list[Rejection] = []
    if coupon_ids is not None:
        by_id = {c.coupon_id: c for c in wallet}
        considered = []
        for cid in dict.fromkeys(coupon_ids):
            if cid in by_id:
                considered.append(by_id[cid])
            else:
                rejected.append(Rejection(cid, NOT_FOUND, {"message": "not in this wallet"}))
    else:
        oldest = ctx.at - timedelta(days=EXPIRED_SHOWN_DAYS)
        considered = [c for c in wallet if c.status != USED and c.valid_until > oldest]
    usable: list[tuple[WalletCoupon, int, int]] = []
    for c in considered:
        rej = check(c, cart, ctx)
        if rej is None:
            mask, eligible = coverage(c.rules, lines)
            rej = check_spend(c, mask, eligible, cart.shipping_fee)
            if rej is None:
                usable.append((c, mask, eligible))
                continue
        rejected.append(rej)
    space = Space(lines, cart.shipping_fee, usable)
    if coupon_ids is not None:
        order = {cid: i for i, cid in enumerate(coupon_ids)}
        chosen, conflicts = _explicit(sorted(space.prepared, key=lambda p: order[p.coupon_id]),
                                      ctx.max_per_order)
        rejected += conflicts
        out = evaluate(space, chosen)
        if not out.valid:
            idle = [p for p, t, s in zip(out.stack, out.takes, out.ship_takes, strict=True)
                    if not (t or s or p.phase == GIFT)]
            rejected += [_conflict(p, "no_extra_benefit", chosen) for p in idle]
            idle_ids = {p.coupon_id for p in idle}
            out = evaluate(space, [p for p in chosen if p.coupon_id not in idle_ids])
        outs = [out]
    else:
        outs = search(space, ctx.max_per_order, alternatives + 1) or [evaluate(space, [])]
        best = outs[0].stack
        in_best = {p.coupon_id for p in best}
        rejected += [_why_not(p, best, ctx.max_per_order) for p in space.prepared
                     if p.coupon_id not in in_best]
    stacks = [stack_view(space, o) for o in outs]
    return Quote.model_construct(
        subtotal=space.subtotal, shipping_fee=cart.shipping_fee, best=stacks[0],
        alternatives=stacks[1:], rejected=[Rejected.model_construct(
            coupon_id=r.coupon_id, reason=r.reason, details=r.details) for r in rejected])


def _explicit(prepared: list[Prepared], max_count: int,
              ) -> tuple[list[Prepared], list[Rejection]]:
    kept: list[Prepared] = []
    conflicts: list[Rejection] = []
    for p in prepared:
        rule = _clash(p, kept, max_count)
        if rule is None:
            kept.append(p)
        else:
            conflicts.append(_conflict(p, rule[0], rule[1]))
    return kept, conflicts


def _clash(p: Prepared, kept: list[Prepared] | tuple[Prepared, ...], max_count: int,
           ) -> tuple[str, list[Prepared]] | None:
    if not kept:
        return None
    if p.coupon.rules.exclusive:
        return "exclusive", list(kept)
    excl = [q for q in kept if q.coupon.rules.exclusive]
    if excl:
        return "exclusive", excl
    group = p.coupon.rules.group
    same_group = [q for q in kept if group is not None and q.coupon.rules.group == group]
    if same_group:
        return "stack_group", same_group
    same_tpl = [q for q in kept if q.template_id == p.template_id]
    if same_tpl:
        return "same_template", same_tpl
    if len(kept) >= max_count:
        return "max_per_order", list(kept)
    return None


def _conflict(p: Prepared, rule: str, others: list[Prepared] | tuple[Prepared, ...],
              ) -> Rejection:
    return Rejection(p.coupon_id, STACKING_CONFLICT,
                     {"rule": rule, "with": [q.coupon_id for q in others if q is not p]})


def _why_not(p: Prepared, best: tuple[Prepared, ...], max_count: int) -> Rejection:
    rule = _clash(p, best, max_count)
    return _conflict(p, *(rule or ("no_extra_benefit", list(best))))


def stack_view(space: Space, out: Outcome) -> Stack:
    """The API shape of an evaluated stack, with per-line and per-coupon breakdowns (built
    with ``model_construct``: every value here is computed, not input)."""
    line_off = space.line_discounts(out.state, out.discount)
    gifts = [GiftLine.model_construct(sku=p.coupon.rules.gift_sku or "",
                                      name=p.coupon.rules.gift_name,
                                      quantity=p.coupon.rules.gift_quantity,
                                      value=p.gift_value, coupon_id=p.coupon_id)
             for p in out.stack if p.phase == GIFT]
    shares = [CouponShare.model_construct(
        coupon_id=p.coupon_id, template_id=p.template_id, discount=t, shipping_discount=s,
        funding={"source": p.coupon.rules.funding_source, "id": p.coupon.rules.funding_id})
        for p, t, s in zip(out.stack, out.takes, out.ship_takes, strict=True)]
    return Stack.model_construct(
        coupon_ids=[p.coupon_id for p in out.stack], discount=out.discount,
        shipping_discount=out.shipping_discount, gifts=gifts,
        total=space.subtotal + space.shipping_fee - out.discount - out.shipping_discount,
        lines=[LineDiscount.model_construct(sku=ln.sku, discount=d)
               for ln, d in zip(space.lines, line_off, strict=True)],
        coupons=shares)

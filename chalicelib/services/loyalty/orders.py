"""Orders and refunds from the commerce backend: points, window, tier — exactly once.

POST /orders costs two DynamoDB requests on the happy path: one BatchGetItem (profile,
LOYALTY, the order id, and the program when the in-process copy is stale) and one
TransactWriteItems (order, LOYALTY under a version check, lot, ledger entry; every item
named). With ``reservation_id`` one GetItem of the reservation comes first: the order must
match it (else 409 listing the differences), earns on its per-line discounts, and confirms
it in the same transaction. A replayed
order_id returns the stored result and earns nothing, with or without Idempotency-Key.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any, NoReturn

from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.adapters.loyalty.records import Recorded, StoredOrder
from chalicelib.adapters.loyalty.writes import StaleWrite
from chalicelib.domain.loyalty import dates, tiers
from chalicelib.domain.loyalty.orders import (
    NewOrder,
    OrderPlan,
    facts_after_refund,
    plan_order,
)
from chalicelib.domain.loyalty.program import Program
from chalicelib.domain.loyalty.refunds import NewRefund, plan_refund
from chalicelib.domain.loyalty.views import OrderResult, RefundResult, TierOutcome, TierProgress
from chalicelib.domain.loyalty.wallet import Lot, plan_reverse
from chalicelib.errors import AlreadyExists, Conflict, NotFound, ReservationExpired
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.loyalty import hooks as loyalty_hooks
from chalicelib.services.loyalty import perks
from chalicelib.services.loyalty import program as programs
from chalicelib.services.loyalty.loyalty import (
    entry,
    named,
    optimistic,
    repo,
    takes_summary,
    today_and_now,
    token,
)

Named = list[tuple[str, dict[str, Any]]]


def _replay(stored: Recorded, fingerprint: str, what: str) -> dict[str, Any]:
    if stored.fingerprint != fingerprint:
        raise AlreadyExists(f"{what} was already recorded with different content", details=[
            {"path": "/", "message": "reuse an id only to replay the same request"}])
    return dict(stored.result)


def record(req: NewOrder) -> OrderResult:
    """Record an order: points, window bucket, upgrade; a replay returns the first result."""
    fingerprint = req.fingerprint()

    def attempt() -> OrderResult:
        now = clock.now()
        hit = programs.cached()
        got = repo().order_reads(req.member_id, req.order_id, with_program=hit is None)
        version, program = hit or programs.remember(got.program)
        if got.recorded:
            return OrderResult.model_validate(_replay(got.recorded, fingerprint, "order"))
        if not got.member_live:
            raise NotFound(f"member {req.member_id} not found")
        line_discounts, confirm = _reservation(req, dates.iso(now))
        plan = plan_order(program, got.state, req, now, got.timezone, line_discounts,
                          perks.birthday_bonus(program, got.state.tier, got.birthday,
                                               req.placed_at))
        upgrade = perks.on_upgrade(program, plan.change, plan.state, now)  # gifts, month
        plan = replace(plan, state=upgrade.state)
        result = _result(req, plan)
        try:
            # a lost race on the member's points, on the reservation (released, re-reserved
            # or confirmed meanwhile) or on a perk's grant record: read again, decide afresh
            _write_order(req, plan, program, version, fingerprint, result, got.state.version,
                         dates.iso(now), [*confirm, *upgrade.items])
        except TransactionCancelled as e:
            _cancelled(e)
        _metrics(plan)
        perks.count_granted(upgrade)
        return result

    return optimistic(attempt)


def _reservation(req: NewOrder, now_iso: str
                 ) -> tuple[list[int] | None, list[tuple[str, dict[str, Any]]]]:
    """The reservation's line discounts and confirming items (409 when the order differs)."""
    if not req.reservation_id:
        return None, []
    return loyalty_hooks.reservation_for_order(
        order_id=req.order_id, member_id=req.member_id, reservation_id=req.reservation_id,
        lines=[(i.sku, i.quantity, i.unit_price) for i in req.items],
        discount_total=req.discount_total, shipping_fee=req.shipping_fee, now=now_iso,
        categories=[i.category for i in req.items])


def _cancelled(e: TransactionCancelled) -> NoReturn:
    """Why the order's transaction was cancelled, by item name."""
    failed = e.failed_names
    if "order" in failed:  # the same order_id committed concurrently: replay it
        raise StaleWrite(e) from e
    taken = sorted(n.removeprefix("coupon:") for n in failed if n.startswith("coupon:"))
    if taken:
        raise ReservationExpired(
            "the hold lapsed and a coupon was taken by another order; quote and reserve again",
            details=[{"path": "/reservation_id", "message": f"coupon {c} is no longer held",
                      "reason": "RESERVATION_EXPIRED", "coupon_id": c} for c in taken]) from e
    raise Conflict("the order could not be recorded together with its coupons; retry",
                   details=[{"path": "/", "message": f"condition failed: {n}"}
                            for n in sorted(failed)]) from e


def _result(req: NewOrder, plan: OrderPlan) -> OrderResult:
    before = plan.change.before if plan.change else plan.state.tier
    return OrderResult(
        order_id=req.order_id, member_id=req.member_id, currency=req.currency,
        qualifying_spend=plan.earned.qualifying, points_earned=plan.points,
        points_pending=plan.pending, points_available_on=plan.available_on,
        points_expire_at=plan.expires_at if plan.points else None, capped=plan.earned.capped,
        first_order=plan.first_order,
        tier=TierOutcome(before=before or "", after=plan.state.tier or "",
                         changed=plan.change is not None,
                         change=plan.change.kind if plan.change else None,
                         review_at=plan.state.review_at),
        progress=TierProgress(qualifying_spend=plan.window_spend,
                              qualifying_orders=plan.window_orders,
                              next_tier=plan.progress.next_tier,
                              spend_to_next=plan.progress.spend_to_next,
                              orders_to_next=plan.progress.orders_to_next),
        lines=[{"sku": ln.sku, "qualifying": ln.qualifying, "points": ln.points}
               for ln in plan.earned.lines],
    )


def _write_order(req: NewOrder, plan: OrderPlan, program: Program, version: int,
                 fingerprint: str, result: OrderResult, read_version: int, now_iso: str,
                 confirm: Named) -> None:
    """One transaction: the order record, LOYALTY, the ledger entry and lot, tier coupons,
    the reservation's confirmation and the upgrade's perks (``confirm``: the caller's named
    items; the reservation and perk records are re-read on a lost race, like LOYALTY)."""
    member = req.member_id
    lot = None
    if plan.lot_points:
        lot = Lot(f"l{secrets.token_hex(8)}", plan.lot_points, plan.lot_points, plan.expires_at,
                  plan.available_on, f"order:{req.order_id}")
    earned = entry("earn", plan.points, "order", now_iso, order_id=req.order_id,
                   lots=[{"lot_id": lot.lot_id, "points": plan.lot_points}] if lot else [],
                   debt_repaid=plan.debt_repaid or None,
                   available_on=plan.available_on) if plan.points else None
    coupons: Named = []
    if plan.change:  # coupon templates granted on entering the tier
        tier = program.tiers[program.tier_index(plan.change.after)]
        for template in tier.benefits.coupon_templates:
            _, extra = loyalty_hooks.coupon_issue_items(
                member, template, source="tier", ref=f"{member}:{tier.id}:{plan.change.since}",
                now=now_iso)
            coupons += named(f"tier_coupon:{template}", extra)
    repo().record_order(req, plan, result, read_version=read_version,
                        base_tier=program.base.id, program_version=version,
                        fingerprint=fingerprint, lot=lot, entry=earned, now=now_iso,
                        extra=[*coupons, *confirm], guarded={"reservation", *perks.GUARDED},
                        token=token())


def _metrics(plan: OrderPlan) -> None:
    metrics_add("OrderRecorded")
    if plan.points:
        metrics_add("PointsEarned", plan.points)
    if plan.change:
        metrics_add("TierUpgraded")


def get(order_id: str) -> dict[str, Any]:
    """The stored order with its refund totals (service/admin)."""
    order = repo().order(order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    refunds = sorted(order.refunds.values(), key=lambda r: r.created_at)
    return {**order.fields, "refunds": [r.result for r in refunds]}


def refund(order_id: str, req: NewRefund) -> RefundResult:
    """Reverse points for a refund, line by line; exactly once per refund_id."""
    fingerprint = req.fingerprint()

    def attempt() -> RefundResult:
        order = repo().order(order_id)
        if order is None:
            raise NotFound(f"order {order_id} not found")
        if req.refund_id in order.refunds:
            return RefundResult.model_validate(
                _replay(order.refunds[req.refund_id], fingerprint, "refund"))
        result = _write_refund(order, req, fingerprint)
        metrics_add("RefundRecorded")
        if result.points_reversed:
            metrics_add("PointsReversed", result.points_reversed)
        return result

    return optimistic(attempt)


def _write_refund(order: StoredOrder, req: NewRefund, fingerprint: str) -> RefundResult:
    """Plan the refund on the order and the member's lots as read, and record it."""
    _, program = programs.current()
    plan = plan_refund(order.fields["lines"], req)
    member = str(order.fields["member_id"])
    state, lots = repo().member_points(member, consistent=True)
    now = clock.now()
    today, now_iso = today_and_now(program, now)
    policy = program.points.refund_policy
    rev = plan_reverse(lots, plan.points, order.fields.get("lot_id"), policy, today, now_iso)
    newly_full = plan.fully_refunded and not order.fields.get("fully_refunded")
    new = replace(
        state, points=state.points - rev.reversed, debt=state.debt + rev.debt_added,
        lifetime_reversed=state.lifetime_reversed + rev.reversed,
        lifetime_spend=max(0, state.lifetime_spend - plan.value),
        window=tiers.add(state.window, order.fields["month"], -plan.value,
                         -1 if newly_full else 0, now, program.timezone),
        facts=facts_after_refund(state.facts, order.fields, plan.lines, newly_full, now,
                                 state.timezone or program.timezone))
    result = RefundResult(
        refund_id=req.refund_id, order_id=order.fields["order_id"], member_id=member,
        refunded_value=plan.value, points_reversed=rev.reversed,
        points_written_off=rev.written_off, debt_added=rev.debt_added,
        fully_refunded=plan.fully_refunded, policy=policy.value, lines=plan.refunded)
    restore = loyalty_hooks.refund_restore_items(order=order.fields, refund_id=req.refund_id,
                                                 now=now_iso) if newly_full else []
    result.coupons_restored = len(restore)
    reversed_ = entry(
        "reverse", -rev.reversed, "refund", now_iso, order_id=result.order_id,
        refund_id=req.refund_id, lots=takes_summary(rev.takes),
        written_off=rev.written_off or None, debt_added=rev.debt_added or None,
    ) if rev.reversed or rev.written_off else None
    try:
        repo().record_refund(order, req.refund_id, plan, new, read_version=state.version,
                             base_tier=program.base.id, takes=rev.takes, entry=reversed_,
                             fingerprint=fingerprint, result=result.model_dump(mode="json"),
                             now=now_iso, extra=named("restore", restore), token=token())
    except TransactionCancelled as e:
        if e.failed_item("refund"):  # the same refund committed concurrently: replay it
            raise StaleWrite(e) from e
        raise Conflict("the refund could not be recorded together with its coupon "
                       "restorations; retry") from e
    return result

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

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.adapters.loyalty import items as li
from chalicelib.adapters.loyalty.repository import StaleWrite
from chalicelib.domain.loyalty import dates, tiers
from chalicelib.domain.loyalty.orders import NewOrder, OrderPlan, plan_order
from chalicelib.domain.loyalty.program import Program
from chalicelib.domain.loyalty.refunds import NewRefund, plan_refund
from chalicelib.domain.loyalty.state import LoyaltyState
from chalicelib.domain.loyalty.views import OrderResult, RefundResult, TierOutcome, TierProgress
from chalicelib.domain.loyalty.wallet import Lot, plan_reverse
from chalicelib.errors import AlreadyExists, Conflict, NotFound, ReservationExpired
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.loyalty import hooks as loyalty_hooks
from chalicelib.services.loyalty import program as programs
from chalicelib.services.loyalty.loyalty import entry, optimistic, repo, today_and_now, token


def _replay(stored: dict[str, Any], fingerprint: str, what: str) -> dict[str, Any]:
    if stored.get("fingerprint") != fingerprint:
        raise AlreadyExists(f"{what} was already recorded with different content", details=[
            {"path": "/", "message": "reuse an id only to replay the same request"}])
    return dict(stored["result"])


def record(req: NewOrder) -> OrderResult:
    """Record an order: points, window bucket, upgrade; a replay returns the first result."""
    fingerprint = req.fingerprint()

    def attempt() -> OrderResult:
        now = clock.now()
        hit = programs.cached()
        wanted = {"profile": keys.member_profile(req.member_id),
                  "loyalty": keys.member_loyalty(req.member_id), "order": keys.order(req.order_id)}
        if hit is None:
            wanted["program"] = keys.program_current()
        got = repo().get_many(wanted)
        version, program = hit or programs.remember(got.get("program"))
        if got["order"]:
            return OrderResult.model_validate(_replay(got["order"], fingerprint, "order"))
        profile = got["profile"]
        if profile is None or profile.get("erased"):
            raise NotFound(f"member {req.member_id} not found")
        state = LoyaltyState.from_item(req.member_id, got["loyalty"])
        line_discounts, confirm = _reservation(req, dates.iso(now))
        plan = plan_order(program, state, req, now, profile.get("timezone"), line_discounts)
        result = _result(req, plan)
        items = _order_items(req, plan, program, version, fingerprint, result, state.version,
                             dates.iso(now)) + confirm
        try:
            # a lost race on the member's points or on the reservation (released,
            # re-reserved or confirmed meanwhile): read both again and decide afresh
            repo().transact_named(items, token(), guarded={"loyalty", "reservation"})
        except TransactionCancelled as e:
            _cancelled(e)
        _metrics(plan)
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


def _order_items(req: NewOrder, plan: OrderPlan, program: Program, version: int,
                 fingerprint: str, result: OrderResult, read_version: int, now_iso: str
                 ) -> list[tuple[str, dict[str, Any]]]:
    member = req.member_id
    lot_id = f"l{secrets.token_hex(8)}" if plan.lot_points else None
    gross, paid = plan.earned.gross, plan.earned.gross - req.discount_total + req.shipping_fee
    order = {
        **keys.order(req.order_id), "entity": "order", "version": 1, "order_id": req.order_id,
        "member_id": member, "currency": req.currency, "placed_at": dates.iso(req.placed_at),
        "recorded_at": now_iso, "store_id": req.store_id, "channel": req.channel,
        "payment_method": req.payment_method, "reservation_id": req.reservation_id,
        "gross": gross, "discount_total": req.discount_total, "shipping_fee": req.shipping_fee,
        "total": paid, "qualifying_spend": plan.earned.qualifying, "points": plan.points,
        "lot_id": lot_id, "month": plan.month, "first_order": plan.first_order,
        "tier_before": result.tier.before, "tier_after": result.tier.after,
        "tier_change": result.tier.change, "program_version": version,
        "fingerprint": fingerprint, "refunded_value": 0, "reversed_points": 0,
        "fully_refunded": False,
        "lines": [{"sku": ln.sku, "category": ln.category, "quantity": ln.quantity,
                   "unit_price": ln.unit_price, "gross": ln.gross, "discount": ln.discount,
                   "qualifying": ln.qualifying, "points": ln.points, "refunded_qty": 0,
                   "refunded_value": 0, "reversed_points": 0} for ln in plan.earned.lines],
        "result": result.model_dump(mode="json"),
    }
    items = [("order", li.put(order)),
             ("loyalty", li.loyalty_write(plan.state, read_version, program.base.id))]
    if plan.points:
        items.append(("ledger", li.ledger_put(member, entry(
            "earn", plan.points, "order", now_iso, order_id=req.order_id,
            lots=[{"lot_id": lot_id, "points": plan.lot_points}] if lot_id else [],
            debt_repaid=plan.debt_repaid or None, available_on=plan.available_on))))
    if lot_id:
        lot = Lot(lot_id, plan.lot_points, plan.lot_points, plan.expires_at, plan.available_on,
                  f"order:{req.order_id}")
        items.append(("lot", li.lot_put(member, lot, plan.expiry_date, now_iso)))
    if plan.change:  # coupon templates granted on entering the tier
        tier = program.tiers[program.tier_index(plan.change.after)]
        for template in tier.benefits.coupon_templates:
            _, extra = loyalty_hooks.coupon_issue_items(
                member, template, source="tier", ref=f"{member}:{tier.id}:{plan.change.since}",
                now=now_iso)
            items.extend((f"tier_coupon:{template}:{n}", item) for n, item in enumerate(extra))
    return items


def _metrics(plan: OrderPlan) -> None:
    metrics_add("OrderRecorded")
    if plan.points:
        metrics_add("PointsEarned", plan.points)
    if plan.change:
        metrics_add("TierUpgraded")


def get(order_id: str) -> dict[str, Any]:
    """The stored order with its refund totals (service/admin)."""
    order, refunds = repo().order_and_refunds(order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    hidden = {"PK", "SK", "fingerprint", "result", "entity", "version"}
    out = {k: v for k, v in order.items() if k not in hidden}
    out["refunds"] = [r["result"] for r in sorted(refunds.values(),
                                                   key=lambda r: r.get("created_at", ""))]
    return out


def refund(order_id: str, req: NewRefund) -> RefundResult:
    """Reverse points for a refund, line by line; exactly once per refund_id."""
    fingerprint = req.fingerprint()

    def attempt() -> RefundResult:
        order, refunds = repo().order_and_refunds(order_id)
        if order is None:
            raise NotFound(f"order {order_id} not found")
        if req.refund_id in refunds:
            return RefundResult.model_validate(
                _replay(refunds[req.refund_id], fingerprint, "refund"))
        _, program = programs.current()
        plan = plan_refund(order["lines"], req)
        member = order["member_id"]
        item, lots = repo().member_points(member, consistent=True)
        state = LoyaltyState.from_item(member, item)
        now = clock.now()
        today, now_iso = today_and_now(program, now)
        policy = program.points.refund_policy
        rev = plan_reverse(lots, plan.points, order.get("lot_id"), policy, today, now_iso)
        newly_full = plan.fully_refunded and not order.get("fully_refunded")
        new = replace(
            state, points=state.points - rev.reversed, debt=state.debt + rev.debt_added,
            lifetime_reversed=state.lifetime_reversed + rev.reversed,
            lifetime_spend=max(0, state.lifetime_spend - plan.value),
            window=tiers.add(state.window, order["month"], -plan.value,
                             -1 if newly_full else 0, now, program.timezone))
        result = RefundResult(
            refund_id=req.refund_id, order_id=order_id, member_id=member,
            refunded_value=plan.value, points_reversed=rev.reversed,
            points_written_off=rev.written_off, debt_added=rev.debt_added,
            fully_refunded=plan.fully_refunded, policy=policy.value, lines=plan.refunded)
        extra = loyalty_hooks.refund_restore_items(order=order, refund_id=req.refund_id,
                                                   now=now_iso) if newly_full else []
        result.coupons_restored = len(extra)
        items = [
            li.put({**keys.order_refund(order_id, req.refund_id), "entity": "refund",
                    "order_id": order_id, "refund_id": req.refund_id, "member_id": member,
                    "created_at": now_iso, "fingerprint": fingerprint,
                    "result": result.model_dump(mode="json")}),
            li.order_update(order_id, int(order["version"]), {
                "lines": plan.lines, "fully_refunded": plan.fully_refunded,
                "refunded_value": int(order.get("refunded_value", 0)) + plan.value,
                "reversed_points": int(order.get("reversed_points", 0)) + plan.points}),
            li.loyalty_write(new, state.version, program.base.id),
            *(li.lot_take(member, t) for t in rev.takes),
        ]
        guarded = tuple(range(1, len(items)))
        if rev.reversed or rev.written_off:
            items.append(li.ledger_put(member, entry(
                "reverse", -rev.reversed, "refund", now_iso, order_id=order_id,
                refund_id=req.refund_id, lots=li.takes_summary(rev.takes),
                written_off=rev.written_off or None, debt_added=rev.debt_added or None)))
        items.extend(extra)
        try:
            repo().transact(items, token(), guarded=guarded)
        except TransactionCancelled as e:
            if e.failed(0):  # the same refund committed concurrently: replay it
                raise StaleWrite(e) from e
            raise Conflict("the refund could not be recorded together with its coupon "
                           "restorations; retry") from e
        metrics_add("RefundRecorded")
        if rev.reversed:
            metrics_add("PointsReversed", rev.reversed)
        return result

    return optimistic(attempt)

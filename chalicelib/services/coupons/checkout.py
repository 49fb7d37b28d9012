"""Checkout: quote (reads only), reserve (one transaction), confirm, release, refund restore.

Request budget: a quote is one wallet Query plus one BatchGetItem (LOYALTY, and PROGRAM when
not cached) and writes nothing. A reservation adds the reservation item to that batch and
writes one TransactWriteItems: the reservation, a conditional hold per coupon, and — for
templates with a per-member use limit — a check that the member's other coupons counted as
unused still are (so two orders cannot both take the last use). Confirm and release read
the reservation and write one TransactWriteItems.

Holds last ``reservation_hold_minutes`` (15). A hold that lapsed counts as released for
everyone else (a new reservation may take the coupon); the reservation item itself is
removed by TTL a week later. A confirm that arrives after the hold lapsed still succeeds
when nobody took the coupons in the meantime, else it is 409 RESERVATION_EXPIRED.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.coupons.repository import Hold, Reads
from chalicelib.adapters.dynamo import NamedItems, TransactionCancelled
from chalicelib.config import get_settings
from chalicelib.domain.coupons.checkout import (
    OrderTerms,
    QuoteRequest,
    ReservationRequest,
    ReservationView,
    order_mismatches,
    reservation_record,
    reservation_view,
    reserved_line_discounts,
)
from chalicelib.domain.coupons.eligibility import (
    RESERVED,
    Context,
    WalletCoupon,
    uses_by_template,
)
from chalicelib.domain.coupons.quote import Quote, quote
from chalicelib.errors import Conflict, NotFound, ReservationExpired, Unavailable, Unprocessable
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.coupons.coupons import member_tier, program_facts, repo, want_program
from chalicelib.services.coupons.records import wallet_coupon

ATTEMPTS = 8
MAX_TRANSACT_ITEMS = 100
NOT_HELD = "RESERVATION_NOT_HELD"
__all__ = ["ReservationExpired"]  # re-exported: it used to live here


def _context(member_id: str, at: datetime, order_id: str | None = None,
             ) -> tuple[list[dict[str, Any]], Context | None, dict[str, Any]]:
    """Read 1: the wallet. Read 2: LOYALTY (+ PROGRAM, + the order's reservation) — skipped
    when the wallet is empty and there is no order."""
    items = [i for i in repo().wallet(member_id) if i.get("rules")]
    if items or order_id:
        reads = Reads().reservation(order_id) if order_id else Reads()
        reads.loyalty(member_id)
        hit = want_program(reads)
        got = repo().fetch(reads)
        facts = program_facts(hit, got)
        coupons = [wallet_coupon(i) for i in items]
        ctx = Context(at=at, tz=facts.tz, tier=member_tier(got["loyalty"]),
                      tier_order=facts.tier_order,
                      max_per_order=get_settings().max_coupons_per_order, order_id=order_id,
                      uses=uses_by_template(coupons, at, order_id))
        return items, ctx, got
    return items, None, {}


def quote_for(member_id: str, req: QuoteRequest) -> Quote:
    """The best stack for a cart, alternatives and reasons (writes nothing)."""
    at = req.cart.at or clock.now()
    items, ctx, _ = _context(member_id, at)
    if ctx is None:
        from zoneinfo import ZoneInfo

        ctx = Context(at=at, tz=ZoneInfo(get_settings().default_timezone),
                      max_per_order=get_settings().max_coupons_per_order)
    return quote(req.cart, [wallet_coupon(i) for i in items], ctx, req.coupon_ids)


def reserve(member_id: str, req: ReservationRequest) -> ReservationView:
    """Re-validate the chosen coupons on the cart and hold them for the order."""
    for attempt in range(ATTEMPTS):
        try:
            return _reserve_once(member_id, req)
        except TransactionCancelled as e:
            if not e.throttled:
                raise
            time.sleep(random.uniform(0, 0.005 * 2 ** attempt))
    raise Unavailable("too many concurrent checkouts for these coupons; retry")


def _reserve_once(member_id: str, req: ReservationRequest) -> ReservationView:
    now = clock.now()
    items, ctx, got = _context(member_id, now, req.order_id)
    assert ctx is not None
    existing = got.get("reservation")
    if existing is not None:
        if existing["member_id"] != member_id:
            raise Conflict("this order id is reserved by another member")
        if existing["status"] in ("confirmed", "refunded"):
            raise Conflict(f"the reservation for order {req.order_id} is already confirmed")
    coupons = [wallet_coupon(i) for i in items]
    q = quote(req.cart, coupons, ctx, req.coupon_ids)
    if q.rejected:
        index = {cid: n for n, cid in enumerate(req.coupon_ids)}
        details = [{"path": f"/coupon_ids/{index.get(r.coupon_id, 0)}", "message": r.reason,
                    "reason": r.reason, **r.details} for r in q.rejected]
        err = Conflict if any(r.reason == RESERVED for r in q.rejected) else Unprocessable
        raise err("some coupons cannot be applied to this cart", details=details)
    hold = get_settings().reservation_hold_minutes
    until = int((now + timedelta(minutes=hold)).timestamp())
    by_id = {i["coupon_id"]: i for i in items}
    record = reservation_record(req, member_id, q.best, by_id, now, until,
                                int(existing["version"]) + 1 if existing else 1)
    h = _hold(member_id, req.order_id, record, existing, q.best.coupon_ids, coupons, by_id,
              until, now)
    if h.size() > MAX_TRANSACT_ITEMS:
        raise Unprocessable("too many coupons to hold in one reservation", details=[
            {"path": "/coupon_ids", "message": f"at most {MAX_TRANSACT_ITEMS} items per "
             "transaction (coupons held plus per-member-use checks)"}])
    try:
        repo().hold(h)
    except TransactionCancelled as e:
        if e.throttled:
            raise
        stored = e.old("reservation") if e.failed_item("reservation") else None
        if not (stored and stored.get("version") == record["version"]
                and stored.get("created_at") == record["created_at"]):  # else: ours, committed
            raise Conflict("a coupon was reserved or used concurrently; quote again",
                           details=[{"path": "/coupon_ids", "message": RESERVED,
                                     "reason": RESERVED}]) from e
    metrics_add("CouponsReserved", len(q.best.coupon_ids))
    return reservation_view(record, now)


def _hold(member_id: str, order_id: str, record: dict[str, Any],
          existing: dict[str, Any] | None, chosen_ids: list[str], coupons: list[WalletCoupon],
          by_id: dict[str, dict[str, Any]], until: int, now: datetime) -> Hold:
    """What reserving ``chosen_ids`` for the order writes: the reservation, a hold per
    chosen coupon, releases of coupons this order held before and no longer uses, and —
    per-member use limits were counted on the wallet as read — a check that the other
    coupons of those templates that counted as unused still are when this commits."""
    chosen = set(chosen_ids)
    dropped = {c.coupon_id for c in coupons if existing is not None and c.coupon_id not in chosen
               and c.status == "reserved" and c.hold_order == order_id}
    limited = {c.template_id for c in coupons if c.coupon_id in chosen
               and c.rules.per_member_use is not None}
    unused = [c.coupon_id for c in coupons if c.template_id in limited
              and c.coupon_id not in chosen and c.coupon_id not in dropped
              and c.status != "used" and not c.held_by_other(order_id, now)]
    newly = [by_id[cid] for cid in chosen_ids
             if not (by_id[cid].get("status") == "reserved"
                     and by_id[cid].get("hold_order") == order_id)]
    return Hold(member_id=member_id, order_id=order_id, record=record,
                replaces=int(existing["version"]) if existing else None,
                hold=tuple(chosen_ids), release=tuple(sorted(dropped)), unused=tuple(unused),
                reserved_templates=tuple(i["template_id"] for i in newly),
                until=until, now=int(now.timestamp()))


def _load(order_id: str, member_id: str | None) -> dict[str, Any]:
    res = repo().reservation(order_id)
    if res is None or (member_id is not None and res["member_id"] != member_id):
        raise NotFound(f"no reservation for order {order_id}")
    return res


def confirm(order_id: str, member_id: str | None = None) -> ReservationView:
    """Mark the reserved coupons used (replays return the confirmed reservation)."""
    for _ in range(ATTEMPTS):
        res = _load(order_id, member_id)
        now = clock.now()
        if res["status"] == "confirmed":
            return reservation_view(res, now)
        if res["status"] != "held":
            raise Conflict(f"the reservation is {res['status']}")
        try:
            repo().confirm(res, clock.iso(now))
        except TransactionCancelled as e:
            if e.failed_item("reservation") or e.throttled:
                continue  # a concurrent confirm or release: read it again
            raise ReservationExpired("the hold lapsed and a coupon was taken by another "
                                     "order; quote and reserve again") from e
        metrics_add("CouponRedeemed", len(res["coupon_ids"]))
        return reservation_view({**res, "status": "confirmed", "confirmed_at": clock.iso(now)},
                                now)
    raise Unavailable("the reservation is changing concurrently; retry")


def release(order_id: str, member_id: str | None = None) -> None:
    """Give the coupons back (idempotent); a confirmed reservation cannot be released."""
    for _ in range(ATTEMPTS):
        res = _load(order_id, member_id)
        if res["status"] == "released":
            return
        if res["status"] != "held":
            raise Conflict(f"the reservation is {res['status']}; refund the order instead")
        if _release_once(res):
            metrics_add("CouponsReleased")
            return
    raise Unavailable("the reservation is changing concurrently; retry")


def _release_once(res: dict[str, Any]) -> bool:
    """Release the reservation as read; False when it changed meanwhile (read it again).
    A lapsed hold another order has since taken is not ours to release: left out."""
    skip: set[str] = set()
    while True:
        coupons = [c for c in res["coupon_ids"] if c not in skip]
        try:
            repo().release(res, coupons, clock.iso())
            return True
        except TransactionCancelled as e:
            taken = {c for c in coupons if e.failed_item(f"coupon:{c}")}
            if e.failed_item("reservation") or e.throttled or not taken:
                return False
            skip |= taken


# --- hooks for loyalty's POST /orders and refunds --------------------------------------------

def order_confirmation(*, order_id: str, member_id: str, reservation_id: str,
                       lines: list[tuple[str, int, int]], discount_total: int, shipping_fee: int,
                       now: str, categories: list[str | None] | None = None,
                       ) -> tuple[list[int], NamedItems]:
    """For POST /orders with ``reservation_id``: check the order against the reservation
    (409 listing every difference) and return the reservation's per-line discounts with the
    named items confirming it inside the order's own transaction ("reservation", then
    "coupon:<id>" per coupon; none when this order already confirmed it)."""
    res = repo().reservation(reservation_id)
    if res is None:
        raise NotFound(f"reservation {reservation_id} not found", details=[
            {"path": "/reservation_id", "message": "no such reservation"}])
    diffs = order_mismatches(res, OrderTerms(order_id, member_id, lines, discount_total,
                                             shipping_fee, categories))
    if diffs:
        raise Conflict("the order does not match its reservation", details=diffs)
    if res["status"] not in ("held", "confirmed"):
        raise Conflict(f"the reservation is {res['status']}", details=[
            {"path": "/reservation_id", "message": f"the reservation is {res['status']}",
             "reason": NOT_HELD, "status": res["status"]}])
    discounts = reserved_line_discounts(res)
    if res["status"] == "confirmed":
        return discounts, []
    return discounts, repo().confirm_items(res, now)


def _restorable(order: dict[str, Any], now: str) -> tuple[str, list[str]] | None:
    """(member, coupon ids) of the order's coupons that a full refund gives back: used by
    this order, their template allows it and they are still valid."""
    order_id = order["order_id"]
    res = repo().reservation(order.get("reservation_id") or order_id)
    if res is None or res["order_id"] != order_id or res["status"] != "confirmed":
        return None
    at = datetime.fromisoformat(now)
    wanted = [c["coupon_id"] for c in res.get("coupons", [])
              if c.get("restore_on_refund") and datetime.fromisoformat(c["valid_until"]) > at]
    if not wanted:
        return None
    member = res["member_id"]
    reads = Reads()
    for c in wanted:
        reads.coupon(member, c, c)
    got = repo().fetch(reads)
    return member, [c for c in wanted if (got[c] or {}).get("status") == "used"
                    and (got[c] or {}).get("used_order") == order_id]


def restore_items(*, order: dict[str, Any], refund_id: str, now: str) -> list[dict[str, Any]]:
    """Items giving back, on a full refund, the order's coupons whose template allows it
    and that are still valid (one item per restored coupon)."""
    found = _restorable(order, now)
    return repo().restore_items(found[0], order["order_id"], found[1], now) if found else []


def restore(order_id: str) -> list[str]:
    """Restore an order's coupons outside a loyalty refund (operations, tests)."""
    _load(order_id, None)
    now = clock.iso()
    found = _restorable({"order_id": order_id}, now)
    if not found or not found[1]:
        return []
    member, coupon_ids = found
    repo().restore(member, order_id, coupon_ids, now)
    return coupon_ids


def get(order_id: str, member_id: str | None = None) -> ReservationView:
    """A reservation with its state; 404 for another member's."""
    return reservation_view(_load(order_id, member_id), clock.now())

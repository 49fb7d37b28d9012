"""Domain events: table changes become events on the events queue; the events worker runs
event-triggered campaigns, attributes orders to campaigns and counts coupon redemptions.

The source is the table's DynamoDB stream (NEW_AND_OLD_IMAGES), so an event exists exactly
when its write committed — no dual write, nothing lost if a request dies after its commit:

    PROFILE insert                      → signup
    ORDER insert                        → order (+ first_order when it was the first)
    LOYALTY tier changed                → tier_upgrade | tier_downgrade
    COUPON status → used, from campaign → coupon_redeemed (campaign stats)

``inactive`` and ``points_expiring`` are not changes to a row; the planner finds them with key
queries on the last-order and lot-expiry indexes. Every event carries a deterministic id, so
the stream's at-least-once delivery and SQS redelivery produce at most one send per
(campaign, event, member): the event id is the occurrence of its send record.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.adapters.delivery import stream
from chalicelib.adapters.retries import with_retries
from chalicelib.domain.campaigns.model import Campaign, Event
from chalicelib.domain.delivery.work import Task
from chalicelib.observability import logger
from chalicelib.services import clock


def from_stream(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lambda DynamoDB stream records → domain events (unrelated changes are skipped)."""
    return [e for change in stream.changes(records) for e in events_of(change)]


def events_of(ch: stream.Change) -> list[dict[str, Any]]:
    """The domain events one committed change means (most changes mean none)."""
    if ch.kind == "profile" and ch.event == "INSERT":
        return [{"id": "signup", "type": "signup",
                 "member_id": ch.new.get("member_id") or ch.member_id,
                 "at": ch.new.get("signup_at") or ch.new.get("created_at")}]
    if ch.kind == "order" and ch.event == "INSERT" and ch.new.get("member_id"):
        return _order_events(ch.new)
    if ch.kind == "order" and ch.event == "MODIFY" and ch.new.get("fully_refunded") and \
            not ch.old.get("fully_refunded") and ch.new.get("member_id"):
        oid = ch.new.get("order_id")
        return [{"id": f"refunded-{oid}", "type": "order_refunded", "order_id": oid,
                 "member_id": ch.new["member_id"], "at": clock.iso()}]
    if ch.kind == "loyalty" and ch.event in ("INSERT", "MODIFY"):
        return _tier_change(ch)
    if ch.kind == "coupon" and ch.event == "MODIFY" and _redemption(ch.old, ch.new):
        new = ch.new
        return [{"id": f"redeemed-{new.get('coupon_id')}", "type": "coupon_redeemed",
                 "member_id": ch.member_id, "coupon_id": new.get("coupon_id"),
                 "source_ref": new["source_ref"], "order_id": new.get("used_order"),
                 "at": new.get("used_at")}]
    return []


def _order_events(new: dict[str, Any]) -> list[dict[str, Any]]:
    """``order``, and ``first_order`` when it was the member's first."""
    order = {"id": new.get("order_id"), "total": int(new.get("total") or 0),
             "points": int(new.get("points") or 0), "placed_at": new.get("placed_at")}
    base = {"member_id": new["member_id"], "at": new.get("placed_at"), "order": order,
            "points": order["points"]}
    out = [{**base, "id": f"order-{order['id']}", "type": "order"}]
    if new.get("first_order"):
        out.append({**base, "id": f"first-order-{order['id']}", "type": "first_order"})
    return out


def _tier_change(ch: stream.Change) -> list[dict[str, Any]]:
    """``tier_upgrade`` / ``tier_downgrade`` when the tier actually changed."""
    before, after = ch.old.get("tier"), ch.new.get("tier")
    kind = ch.new.get("tier_change")
    if not (before and after and before != after and kind in ("upgrade", "downgrade")):
        return []
    at = ch.new.get("tier_changed_at") or clock.iso()
    return [{"id": f"tier-{after}-{at}", "type": f"tier_{kind}", "member_id": ch.member_id,
             "tier": after, "tier_before": before, "at": at}]


def _redemption(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """A campaign-issued coupon just became used."""
    return (old.get("status") != "used" and new.get("status") == "used"
            and new.get("source") == "campaign" and bool(new.get("source_ref")))


def on_stream(event: dict[str, Any]) -> dict[str, Any]:
    """Stream batch → events queue (SendMessageBatch, ten per request)."""
    from chalicelib.services.delivery import delivery

    found = from_stream(event.get("Records", []))
    if found:
        delivery.queues().send_events(
            [json.dumps(e, default=str, ensure_ascii=False) for e in found])
    return {"events": len(found)}


def handle_batch(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Events queue batch → partial batch response."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    from chalicelib.services.delivery import delivery

    # The active campaigns, read once per batch and fresh: a list reused across batches (30 s)
    # missed a campaign activated meanwhile, and its events (a signup's welcome message) were
    # dropped for good. A failed read fails the batch, which SQS delivers again.
    active = with_retries(lambda: delivery.campaigns().active())
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(
        event=event, processor=processor, context=context,
        record_handler=lambda record: handle(json.loads(record.body), active)))


def handle(e: dict[str, Any], active: list[Campaign] | None = None) -> dict[str, int]:
    """One domain event: stats for redemptions, attribution for orders, then campaigns
    (``active``: the batch's active campaigns; read fresh when not given)."""
    from chalicelib.services.delivery import delivery

    kind = e.get("type")
    if kind == "coupon_redeemed":
        return {"redeemed": int(_redeemed(e))}
    referral = _referral(e)  # 老带新: the first order starts its window, a refund reverses
    out = {"attributed": _attribute(e)} if kind == "order" else {}
    tasks = []
    if active is None:
        active = with_retries(lambda: delivery.campaigns().active())
    for c in active:
        t = c.trigger
        if not isinstance(t, Event) or str(t.event) != kind or not _params_match(t, e):
            continue
        if not c.in_window(clock.now()):
            continue
        tasks.append(Task(c.id, str(e["id"]), str(e["member_id"]), str(e.get("at") or clock.iso()),
                          event=e))
    if tasks:
        out.update(delivery.worker().run_tasks(tasks))
    return {**out, **referral}


def _referral(e: dict[str, Any]) -> dict[str, int]:
    from chalicelib.services.engagement import referral_rewards

    kind, member = e.get("type"), str(e.get("member_id") or "")
    if kind == "first_order":
        order = e.get("order") or {}
        return {"referral_window": int(referral_rewards.on_first_order(
            member, str(order.get("id")), str(order.get("placed_at") or e.get("at"))))}
    if kind == "order_refunded":
        return {"referral_reversed": int(referral_rewards.on_refund(
            member, str(e.get("order_id"))))}
    return {}


def _params_match(t: Event, e: dict[str, Any]) -> bool:
    p = t.params
    if p.min_order_total is not None and int((e.get("order") or {}).get("total", 0)) < \
            p.min_order_total:
        return False
    return not (p.to_tiers and e.get("tier") not in p.to_tiers)


def _parse(at: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(at).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _attribute(e: dict[str, Any]) -> int:
    """Count an order once for every (campaign, occurrence) that targeted the member within
    the attribution window before it: treated (assigned to treatment) or holdout."""
    from chalicelib.services.delivery import delivery

    order = e.get("order") or {}
    placed = _parse(order.get("placed_at") or e.get("at"))
    if placed is None or not order.get("id"):
        return 0
    member = str(e["member_id"])
    window = timedelta(days=delivery.ATTRIBUTION_DAYS)
    n = 0
    for rec in with_retries(partial(delivery.repo().sends_of, member)):
        # The record's group (treated: assigned to treatment, delivered or not; holdout);
        # records written before groups were recorded on suppressions: by state.
        group = rec.get("group") or {"delivered": "treated", "held_out": "holdout"}.get(
            rec.get("state", ""))
        decided = _parse(rec.get("decided_at"))
        if group is None or decided is None or not (decided <= placed <= decided + window):
            continue
        if rec["occurrence"] == e.get("id"):
            continue  # the order that triggered this very send
        n += int(_credit(member, order, rec, str(group), placed))
    return n


def _credit(member: str, order: dict[str, Any], rec: dict[str, Any], group: str,
            placed: datetime) -> bool:
    """One order credited to one send record's (campaign, occurrence) and group, once; the
    member converts once. Daily results count it on the day it was placed (campaign
    timezone)."""
    from chalicelib.services.delivery import delivery

    repo = delivery.repo()
    cid, occ = str(rec["campaign_id"]), str(rec["occurrence"])
    day, arm = delivery.results_day(cid, placed), rec.get("variant")
    # The send record's attributed revenue keeps the arm's sum of squares exact.
    added = with_retries(partial(repo.count_order, member, str(order["id"]), cid, occ, group,
                                 int(order.get("total", 0)), clock.iso(), day=day,
                                 variant=arm if group == "treated" else None,
                                 prior=int(rec.get("attributed_revenue") or 0)))
    with_retries(partial(repo.convert, member, cid, occ, group, clock.iso(), day=day,
                         variant=arm))
    return bool(added)


def _redeemed(e: dict[str, Any]) -> bool:
    from chalicelib.services.delivery import delivery

    parts = str(e.get("source_ref", "")).split("#")
    if len(parts) < 3:
        logger().warning("redeemed coupon without a campaign reference")
        return False
    cid, occ, member = parts[0], parts[1], str(e["member_id"])
    coupon_id, order_id = str(e.get("coupon_id")), str(e.get("order_id") or "")
    repo = delivery.repo()
    # The coupon's discount (items and shipping) from the checkout reservation, in fen.
    discount = repo.order_discounts(order_id).get(coupon_id, 0) if order_id else 0
    # The redemption counts on its own day, and for the arm the member's send record names.
    day = delivery.results_day(cid, _parse(e.get("at")) or clock.now())
    sent = with_retries(partial(repo.send_record, member, cid, occ)) or {}
    return bool(with_retries(partial(
        repo.count_redemption, member, coupon_id, cid, occ,
        {"coupons_redeemed": 1, "cost_minor": discount}, clock.iso(), day=day,
        variant=sent.get("variant"))))

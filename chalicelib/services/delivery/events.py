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

from chalicelib.adapters import keys
from chalicelib.adapters.retries import send_batches, with_retries
from chalicelib.config import get_settings
from chalicelib.domain.campaigns.model import Campaign, Event
from chalicelib.domain.delivery.work import Task
from chalicelib.observability import logger
from chalicelib.services import clock


def _value(v: Any) -> Any:
    """One AttributeValue → Python, tolerating the empty ``{}`` some engines put in stream
    images for an empty map (a malformed value must never block the stream's shard)."""
    from decimal import Decimal

    if not isinstance(v, dict) or len(v) != 1:
        return None
    kind, x = next(iter(v.items()))
    if kind == "M":
        return {k: _value(i) for k, i in (x or {}).items()}
    if kind == "L":
        return [_value(i) for i in x or []]
    if kind == "N":
        return Decimal(x)
    if kind in ("NS",):
        return {Decimal(i) for i in x}
    if kind == "NULL":
        return None
    return x  # S, B, BOOL, SS, BS


def _image(raw: dict[str, Any] | None) -> dict[str, Any]:
    from chalicelib.adapters.dynamo import plain

    return plain({k: _value(v) for k, v in (raw or {}).items()}) or {}


def _relevant(keys_: dict[str, Any]) -> bool:
    pk = str((keys_.get("PK") or {}).get("S", ""))
    sk = str((keys_.get("SK") or {}).get("S", ""))
    return (pk.startswith(keys.MEMBER) and (sk in (keys.PROFILE, keys.LOYALTY)
                                            or sk.startswith("COUPON#"))) or (
        pk.startswith("ORDER#") and sk == "ORDER")


def from_stream(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lambda DynamoDB stream records → domain events (unrelated changes are skipped)."""
    out: list[dict[str, Any]] = []
    for r in records:
        name = r.get("eventName")
        ddb = r.get("dynamodb", {})
        if not _relevant(ddb.get("Keys") or {}):
            continue
        new, old = _image(ddb.get("NewImage")), _image(ddb.get("OldImage"))
        pk, sk = str(new.get("PK") or old.get("PK", "")), str(new.get("SK") or old.get("SK", ""))
        if name == "INSERT" and pk.startswith(keys.MEMBER) and sk == keys.PROFILE:
            member = new.get("member_id") or pk[len(keys.MEMBER):]
            out.append({"id": "signup", "type": "signup", "member_id": member,
                        "at": new.get("signup_at") or new.get("created_at")})
        elif name == "INSERT" and pk.startswith("ORDER#") and sk == "ORDER" and new.get(
                "member_id"):
            order = {"id": new.get("order_id"), "total": int(new.get("total") or 0),
                     "points": int(new.get("points") or 0),
                     "placed_at": new.get("placed_at")}
            base = {"member_id": new["member_id"], "at": new.get("placed_at"), "order": order,
                    "points": order["points"]}
            out.append({**base, "id": f"order-{order['id']}", "type": "order"})
            if new.get("first_order"):
                out.append({**base, "id": f"first-order-{order['id']}", "type": "first_order"})
        elif name in ("INSERT", "MODIFY") and sk == keys.LOYALTY and pk.startswith(keys.MEMBER):
            before, after = old.get("tier"), new.get("tier")
            kind = new.get("tier_change")
            if before and after and before != after and kind in ("upgrade", "downgrade"):
                at = new.get("tier_changed_at") or clock.iso()
                out.append({"id": f"tier-{after}-{at}", "type": f"tier_{kind}",
                            "member_id": pk[len(keys.MEMBER):], "tier": after,
                            "tier_before": before, "at": at})
        elif name == "MODIFY" and sk.startswith("COUPON#") and _redemption(old, new):
            out.append({"id": f"redeemed-{new.get('coupon_id')}", "type": "coupon_redeemed",
                        "member_id": pk[len(keys.MEMBER):], "coupon_id": new.get("coupon_id"),
                        "source_ref": new["source_ref"],
                        "order_id": new.get("used_order"), "at": new.get("used_at")})
    return out


def _redemption(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """A campaign-issued coupon just became used."""
    return (old.get("status") != "used" and new.get("status") == "used"
            and new.get("source") == "campaign" and bool(new.get("source_ref")))


def on_stream(event: dict[str, Any]) -> dict[str, Any]:
    """Stream batch → events queue (SendMessageBatch, ten per request)."""
    found = from_stream(event.get("Records", []))
    if found:
        from chalicelib.adapters import aws

        url = aws.queue_url(get_settings().events_queue_name)
        send_batches(url, [json.dumps(e, default=str, ensure_ascii=False) for e in found])
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
    return out


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
    repo = delivery.repo()
    n = 0
    for rec in with_retries(lambda: repo.sends_of(member)):
        # The record's group (treated: assigned to treatment, delivered or not; holdout);
        # records written before groups were recorded on suppressions: by state.
        group = rec.get("group") or {"delivered": "treated", "held_out": "holdout"}.get(
            rec.get("state", ""))
        decided = _parse(rec.get("decided_at"))
        if group is None or decided is None or not (decided <= placed <= decided + window):
            continue
        cid, occ = rec["campaign_id"], rec["occurrence"]
        if occ == e.get("id"):
            continue  # the order that triggered this very send
        # Daily results count the order on the day it was placed (campaign timezone); the
        # send record's attributed revenue keeps the arm's sum of squares exact.
        day, arm = delivery.results_day(cid, placed), rec.get("variant")
        added = with_retries(partial(
            repo.credit_order, member, str(order["id"]), cid, occ, str(group),
            int(order.get("total", 0)), clock.iso(), day=day,
            variant=arm if group == "treated" else None,
            prior=int(rec.get("attributed_revenue") or 0)))
        with_retries(partial(repo.convert, member, cid, occ, str(group), clock.iso(), day=day,
                             variant=arm))
        n += int(added)
    return n


def _redeemed(e: dict[str, Any]) -> bool:
    from chalicelib.services.delivery import delivery

    parts = str(e.get("source_ref", "")).split("#")
    if len(parts) < 3:
        logger().warning("redeemed coupon without a campaign reference")
        return False
    cid, occ, member = parts[0], parts[1], str(e["member_id"])
    discount = _discount(str(e.get("order_id") or ""), str(e.get("coupon_id")))
    marker = {"PK": keys.member_pk(member), "SK": f"REDEEMED#{e.get('coupon_id')}",
              "campaign_id": cid, "at": clock.iso()}
    # The redemption counts on its own day, and for the arm the member's send record names.
    day = delivery.results_day(cid, _parse(e.get("at")) or clock.now())
    sent = with_retries(lambda: delivery.repo().send_record(member, cid, occ)) or {}
    return bool(with_retries(lambda: delivery.repo().add_stats(
        cid, occ, member, {"coupons_redeemed": 1, "cost_minor": discount},
        marker=marker, day=day, variant=sent.get("variant"))))


def _discount(order_id: str, coupon_id: str) -> int:
    """The coupon's discount (items and shipping) from the checkout reservation, in fen."""
    if not order_id:
        return 0
    from chalicelib.adapters import aws
    from chalicelib.adapters.dynamo import plain, translated

    def read() -> dict[str, Any] | None:
        with translated():
            got = aws.table().get_item(Key=keys.reservation(order_id)).get("Item")
        return plain(got) if got else None

    res = with_retries(read) or {}
    share = next((c for c in res.get("coupons", []) if c.get("coupon_id") == coupon_id), {})
    return int(share.get("discount", 0)) + int(share.get("shipping_discount", 0))

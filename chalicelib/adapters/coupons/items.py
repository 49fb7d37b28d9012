"""TransactWriteItems entries for coupons and checkout, every one of them conditional.

Each builder returns one TransactItem in the resource (plain-value) form and asks for the
old item on a failed condition, so callers learn *why* a transaction was cancelled without
reading again. Coupon states: ``available`` → ``reserved`` (hold_order, hold_until) →
``used`` (used_order); a hold whose ``hold_until`` has passed counts as released.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import storable, update_args
from chalicelib.config import get_settings

Item = dict[str, Any]
OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
AVAILABLE, HELD, USED = "available", "reserved", "used"


def _table() -> str:
    return get_settings().table_name


def put_new(key: dict[str, str], record: dict[str, Any]) -> Item:
    """Create an item; fails if it exists."""
    return {"Put": {"TableName": _table(), "Item": storable({**record, **key}),
                    "ConditionExpression": "attribute_not_exists(PK)", **OLD}}


def put_over(key: dict[str, str], record: dict[str, Any], version: int | None) -> Item:
    """Create (version None) or replace an item still at ``version``."""
    body: Item = {"TableName": _table(), "Item": storable({**record, **key}), **OLD}
    if version is None:
        body["ConditionExpression"] = "attribute_not_exists(PK)"
    else:
        body.update(ConditionExpression="#v = :v", ExpressionAttributeNames={"#v": "version"},
                    ExpressionAttributeValues={":v": version})
    return {"Put": body}


def update(key: dict[str, str], **kw: Any) -> Item:
    return {"Update": {"TableName": _table(), "Key": key, **update_args(**kw), **OLD}}


def check(key: dict[str, str], condition: str, names: dict[str, str],
          values: dict[str, Any] | None = None) -> Item:
    body: Item = {"TableName": _table(), "Key": key, "ConditionExpression": condition,
                  "ExpressionAttributeNames": names, **OLD}
    if values:
        body["ExpressionAttributeValues"] = storable(values)
    return {"ConditionCheck": body}


# --- claims ---------------------------------------------------------------------------------

FUNNEL_STAGES = ("claimed", "reserved", "redeemed")


def funnel_add(template_id: str, member_id: str, stage: str, n: int = 1) -> Item:
    """Count ``n`` coupons of a template reaching ``stage`` (unconditional ADD on a shard),
    inside the transaction that moves them there, so the funnel never disagrees with it."""
    assert stage in FUNNEL_STAGES, stage
    return update(keys.template_funnel(template_id, member_id), add={stage: n},
                  set_={"entity": "coupon_funnel", "template_id": template_id})

def stock_take(template_id: str, shard: int) -> Item:
    """One unit off a stock shard, only while it has one."""
    return update(keys.template_stock(template_id, shard), add={"remaining": -1, "claimed": 1},
                  condition="#rem >= :one", names={"#rem": "remaining"}, values={":one": 1})


def claim_count(member_id: str, template_id: str, limit: int | None, now: str) -> Item:
    """Count a claim against the member's per-template claim limit."""
    cond = "attribute_not_exists(#n) OR #n < :limit" if limit is not None else None
    return update(keys.member_claims(member_id, template_id), add={"claims": 1},
                  set_={"template_id": template_id, "member_id": member_id, "last_claim_at": now,
                        "entity": "coupon_claims"},
                  condition=cond, names={"#n": "claims"} if limit is not None else None,
                  values={":limit": limit} if limit is not None else None)


def member_check(member_id: str, allowed_tiers: frozenset[str] | None, base_tier: str | None,
                 new_only: bool) -> Item | None:
    """Audience re-checked inside the claim: tier (absent = base tier) and no prior order."""
    parts: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    if allowed_tiers is not None:
        names["#tier"] = "tier"
        refs = []
        for i, t in enumerate(sorted(allowed_tiers)):
            values[f":t{i}"] = t
            refs.append(f":t{i}")
        clause = f"#tier IN ({', '.join(refs)})" if refs else "attribute_exists(#tier) AND " \
            "attribute_not_exists(#tier)"
        if base_tier in allowed_tiers:
            clause = f"attribute_not_exists(PK) OR attribute_not_exists(#tier) OR {clause}"
        parts.append(f"({clause})")
    if new_only:
        names["#oc"] = "orders_count"
        values[":zero"] = 0
        parts.append("(attribute_not_exists(PK) OR attribute_not_exists(#oc) OR #oc = :zero)")
    if not parts:
        return None
    return check(keys.member_loyalty(member_id), " AND ".join(parts), names, values)


# --- checkout -------------------------------------------------------------------------------

def coupon_hold(member_id: str, coupon_id: str, order_id: str, until: int, now: int) -> Item:
    """available (or lapsed hold, or already ours) → reserved for ``order_id``."""
    return update(
        keys.member_coupon(member_id, coupon_id),
        set_={"status": HELD, "hold_order": order_id, "hold_until": until},
        condition="attribute_exists(PK) AND (#st = :avail OR (#st = :held AND "
                  "(#hu < :now OR #ho = :order)))",
        names={"#st": "status", "#hu": "hold_until", "#ho": "hold_order"},
        values={":avail": AVAILABLE, ":held": HELD, ":now": now, ":order": order_id})


def coupon_use(member_id: str, coupon_id: str, order_id: str, now: str) -> Item:
    """reserved by ``order_id`` → used (even after the hold lapsed, if nobody took it)."""
    return update(keys.member_coupon(member_id, coupon_id),
                  set_={"status": USED, "used_order": order_id, "used_at": now},
                  remove=["hold_order", "hold_until"], add={"uses": 1},
                  condition="#st = :held AND #ho = :order",
                  names={"#st": "status", "#ho": "hold_order"},
                  values={":held": HELD, ":order": order_id})


def coupon_release(member_id: str, coupon_id: str, order_id: str) -> Item:
    return update(keys.member_coupon(member_id, coupon_id), set_={"status": AVAILABLE},
                  remove=["hold_order", "hold_until"],
                  condition="#st = :held AND #ho = :order",
                  names={"#st": "status", "#ho": "hold_order"},
                  values={":held": HELD, ":order": order_id})


def coupon_restore(member_id: str, coupon_id: str, order_id: str, now: str) -> Item:
    """used by ``order_id`` → available again (refund)."""
    return update(keys.member_coupon(member_id, coupon_id),
                  set_={"status": AVAILABLE, "restored_at": now}, add={"restored": 1},
                  remove=["used_order", "used_at"],
                  condition="#st = :used AND #uo = :order",
                  names={"#st": "status", "#uo": "used_order"},
                  values={":used": USED, ":order": order_id})


def coupon_unused(member_id: str, coupon_id: str, order_id: str, now: int) -> Item:
    """Still neither used nor held by another order (per-member use limits)."""
    return check(keys.member_coupon(member_id, coupon_id),
                 "#st = :avail OR (#st = :held AND (#hu < :now OR #ho = :order))",
                 {"#st": "status", "#hu": "hold_until", "#ho": "hold_order"},
                 {":avail": AVAILABLE, ":held": HELD, ":now": now, ":order": order_id})


def reservation_move(order_id: str, version: int, set_: dict[str, Any],
                     remove: list[str] | None = None) -> Item:
    """Change a reservation still at ``version``."""
    return update(keys.reservation(order_id), set_=set_, remove=remove or [],
                  add={"version": 1}, condition="#ver = :ver", names={"#ver": "version"},
                  values={":ver": version})

"""TransactWriteItems entries for coupons and checkout, every one of them conditional.

Each builder returns one TransactItem in the resource (plain-value) form and asks for the
old item on a failed condition, so callers learn *why* a transaction was cancelled without
reading again. Coupon states: ``available`` → ``reserved`` (hold_order, hold_until) →
``used`` (used_order); a hold whose ``hold_until`` has passed counts as released.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.audit_log import audit_item
from chalicelib.adapters.dynamo import doc_text, storable, update_args
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


def put_always(key: dict[str, str], record: dict[str, Any]) -> Item:
    """Create or replace an item, whatever is there."""
    return {"Put": {"TableName": _table(), "Item": storable({**record, **key})}}


def delete(key: dict[str, str]) -> Item:
    return {"Delete": {"TableName": _table(), "Key": key}}


def check(key: dict[str, str], condition: str, names: dict[str, str],
          values: dict[str, Any] | None = None) -> Item:
    body: Item = {"TableName": _table(), "Key": key, "ConditionExpression": condition,
                  "ExpressionAttributeNames": names, **OLD}
    if values:
        body["ExpressionAttributeValues"] = storable(values)
    return {"ConditionCheck": body}


# --- templates, stock shards and code batches ------------------------------------------------

def template_current(record: dict[str, Any], version: int | None) -> Item:
    """The template's CURRENT item (listed in the catalog index), replacing ``version``."""
    tid = record["template_id"]
    return put_over(keys.template_current(tid), {**record, **keys.template_catalog(tid)},
                    version)


def template_version(record: dict[str, Any]) -> Item:
    """The template's history entry of ``record["version"]`` (written once)."""
    return put_new(keys.template_version(record["template_id"], int(record["version"])), record)


def template_audit(record: dict[str, Any], created: bool, changes: Any) -> Item:
    """The audit entry of a template save (who, when, what changed as JSON text)."""
    item = audit_item(record["updated_at"], record["updated_by"], "coupon_template",
                      record["template_id"], "create" if created else "update",
                      version=int(record["version"]), changes=doc_text(changes))
    return put_new({"PK": item.pop("PK"), "SK": item.pop("SK")}, item)


def stock_record(template_id: str, remaining: int) -> dict[str, Any]:
    return {"entity": "coupon_stock", "template_id": template_id, "remaining": remaining,
            "claimed": 0}


def stock_create(template_id: str, shard: int, remaining: int) -> Item:
    """A new stock shard (fails if it exists)."""
    return put_over(keys.template_stock(template_id, shard),
                    stock_record(template_id, remaining), None)


def stock_reset(template_id: str, shard: int, remaining: int) -> Item:
    """A stock shard written afresh, whatever it held (only while nothing was claimed)."""
    return put_always(keys.template_stock(template_id, shard),
                      stock_record(template_id, remaining))


def stock_delete(template_id: str, shard: int) -> Item:
    return delete(keys.template_stock(template_id, shard))


def stock_adjust(template_id: str, shard: int, change: int) -> Item:
    """``change`` units onto a shard; taking units away needs that many still there."""
    if change > 0:
        return update(keys.template_stock(template_id, shard), add={"remaining": change},
                      condition="attribute_exists(PK)")
    return update(keys.template_stock(template_id, shard), add={"remaining": change},
                  condition="#rem >= :need", names={"#rem": "remaining"},
                  values={":need": -change})


def code_create(template_id: str, batch_id: str, code: str, now: str) -> Item:
    """A new unbound code of a batch (listed per batch in GSI1); fails if the code exists."""
    return put_new(keys.coupon_code(code), {
        "entity": "coupon_code", "code": code, "template_id": template_id,
        "batch_id": batch_id, "status": "unbound", "created_at": now,
        **keys.code_batch_index(template_id, batch_id, code)})


def batch_create(record: dict[str, Any]) -> Item:
    return put_new(keys.template_batch(record["template_id"], record["batch_id"]), record)


def code_bind(code: str, member_id: str, coupon_id: str, at: str) -> Item:
    """unbound → bound to the member's new coupon."""
    return update(keys.coupon_code(code),
                  set_={"status": "bound", "member_id": member_id, "coupon_id": coupon_id,
                        "bound_at": at},
                  condition="#st = :unbound", names={"#st": "status"},
                  values={":unbound": "unbound"})


# --- claims ---------------------------------------------------------------------------------

FUNNEL_STAGES = ("claimed", "reserved", "redeemed")


def funnel_add(template_id: str, member_id: str, stage: str, n: int = 1) -> Item:
    """Count ``n`` coupons of a template reaching ``stage`` (unconditional ADD on a shard),
    inside the transaction that moves them there, so the funnel never disagrees with it."""
    assert stage in FUNNEL_STAGES, stage
    return update(keys.template_funnel(template_id, member_id), add={stage: n},
                  set_={"entity": "coupon_funnel", "template_id": template_id})

def coupon_create(member_id: str, coupon_id: str, record: dict[str, Any]) -> Item:
    """A new wallet coupon (fails if the id is taken: issuing is exactly once)."""
    return put_new(keys.member_coupon(member_id, coupon_id), record)


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


def reservation_put(order_id: str, record: dict[str, Any], version: int | None) -> Item:
    """Create the order's reservation (version None) or replace it at ``version``."""
    return put_over(keys.reservation(order_id), record, version)


def reservation_move(order_id: str, version: int, set_: dict[str, Any],
                     remove: list[str] | None = None) -> Item:
    """Change a reservation still at ``version``."""
    return update(keys.reservation(order_id), set_=set_, remove=remove or [],
                  add={"version": 1}, condition="#ver = :ver", names={"#ver": "version"},
                  values={":ver": version})

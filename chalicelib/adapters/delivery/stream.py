"""The table's DynamoDB stream, decoded: the item changes delivery turns into domain events.

The key layout stays here: a record is recognised by its keys alone (an unrelated item's
images are never read), and its images come out as plain values without keys or index
attributes. Decoding tolerates malformed values (some engines put an empty ``{}`` in stream
images for an empty map): one odd record must never block the stream's shard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import plain

Kind = Literal["profile", "loyalty", "coupon", "order"]
ORDER_SK = keys.order("")["SK"]  # an order's own item (its refunds share the partition)


@dataclass(frozen=True)
class Change:
    """One committed write of an item delivery cares about."""

    kind: Kind
    event: str                      # INSERT | MODIFY | REMOVE
    member_id: str                  # from the key (members' items) or the order's attribute
    new: dict[str, Any] = field(default_factory=dict)   # the item after, without keys
    old: dict[str, Any] = field(default_factory=dict)   # the item before, without keys


def changes(records: list[dict[str, Any]]) -> list[Change]:
    """Lambda DynamoDB stream records → the changes of profiles, loyalty items, coupons and
    orders (everything else is skipped without decoding its images)."""
    out: list[Change] = []
    for r in records:
        ddb = r.get("dynamodb") or {}
        raw_keys = ddb.get("Keys") or {}
        kind = _kind(_key(raw_keys, "PK"), _key(raw_keys, "SK"))
        if kind is None:
            continue
        new, old = _image(ddb.get("NewImage")), _image(ddb.get("OldImage"))
        pk = _key(raw_keys, "PK")
        member = keys.member_of(pk) if kind != "order" else str(
            new.get("member_id") or old.get("member_id") or "")
        out.append(Change(kind, str(r.get("eventName") or ""), member or "",
                          _without_keys(new), _without_keys(old)))
    return out


def _key(raw: dict[str, Any], name: str) -> str:
    return str((raw.get(name) or {}).get("S", ""))


def _kind(pk: str, sk: str) -> Kind | None:
    if pk.startswith(keys.MEMBER):
        if sk == keys.PROFILE:
            return "profile"
        if sk == keys.LOYALTY:
            return "loyalty"
        if sk.startswith(keys.COUPON):
            return "coupon"
    if pk.startswith(keys.ORDER) and sk == ORDER_SK:
        return "order"
    return None


def _value(v: Any) -> Any:
    """One AttributeValue → Python (None for anything malformed)."""
    if not isinstance(v, dict) or len(v) != 1:
        return None
    kind, x = next(iter(v.items()))
    if kind == "M":
        return {k: _value(i) for k, i in (x or {}).items()}
    if kind == "L":
        return [_value(i) for i in x or []]
    if kind == "N":
        return Decimal(x)
    if kind == "NS":
        return {Decimal(i) for i in x}
    if kind == "NULL":
        return None
    return x  # S, B, BOOL, SS, BS


def _image(raw: dict[str, Any] | None) -> dict[str, Any]:
    return plain({k: _value(v) for k, v in (raw or {}).items()}) or {}


def _without_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("PK", "SK", *keys.GSI_ATTRS)}

"""Shared loyalty test data: a program, members, order bodies."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

PROGRAM: dict[str, Any] = {
    "name": "Perks test program",
    "currency": "CNY",
    "minor_units": 2,
    "timezone": "Asia/Shanghai",
    "earning": {"points_per_unit": 1, "category_multipliers": {"beauty": 2}},
    "points": {"expiry_months": 12, "pending_days": 0, "refund_policy": "allow_negative"},
    "tiers": [
        {"id": "member", "name": "Member"},
        {"id": "silver", "name": "Silver",
         "thresholds": {"min_spend": 100000, "min_orders": 5, "combine": "any"},
         "benefits": {"points_multiplier": 1.25}},
        {"id": "gold", "name": "Gold",
         "thresholds": {"min_spend": 500000, "min_orders": 10, "combine": "all"},
         "benefits": {"points_multiplier": 1.5,
                      "coupon_templates": ["tpl-gold-welcome"]}},
    ],
    "review": {"months": 12, "policy": "one_down"},
    "rewards": [
        {"id": "tote", "name": "Tote bag", "kind": "gift", "gift_sku": "GIFT-TOTE",
         "cost_points": 100},
        {"id": "coupon-20", "name": "¥20 off", "kind": "coupon",
         "coupon_template_id": "tpl-20-off", "cost_points": 200, "per_member_limit": 2},
        {"id": "limited", "name": "Limited mug", "kind": "gift", "gift_sku": "GIFT-MUG",
         "cost_points": 10, "stock": 5},
    ],
}


def program(**changes: Any) -> dict[str, Any]:
    p = copy.deepcopy(PROGRAM)
    for path, value in changes.items():
        node = p
        *parents, leaf = path.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return p


def order(order_id: str, member_id: str = "m-1", *, amount: int = 10000, qty: int = 1,
          sku: str = "SKU-1", category: str | None = None, discount: int = 0,
          shipping: int = 0, placed_at: datetime | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"sku": sku, "quantity": qty, "unit_price": amount}
    if category:
        item["category"] = category
    return {"order_id": order_id, "member_id": member_id, "currency": "CNY",
            "items": [item], "shipping_fee": shipping, "discount_total": discount,
            "placed_at": (placed_at or _now()).isoformat(), **extra}


def _now() -> datetime:
    from chalicelib.services import clock

    return clock.now()


def publish(**changes: Any) -> None:
    """Publish the test program (optionally changed) through the service."""
    from chalicelib.domain.loyalty.program import parse_program
    from chalicelib.services.loyalty import program as programs

    programs.publish(parse_program(program(**changes)), "tester")


def join(*member_ids: str, timezone: str = "Asia/Shanghai") -> None:
    from chalicelib.domain.members.model import NewMember
    from chalicelib.services.members import members

    for m in member_ids:
        members.register(NewMember(member_id=m, timezone=timezone))


def place(order_id: str, member_id: str = "m-1", **kw: Any) -> Any:
    """Record an order through the service (the body goes through the API's JSON parsing)."""
    import json

    from chalicelib.domain.loyalty.orders import NewOrder
    from chalicelib.services.loyalty import orders

    return orders.record(NewOrder.model_validate_json(json.dumps(order(order_id, member_id,
                                                                       **kw))))


def refund(order_id: str, body: dict[str, Any]) -> Any:
    import json

    from chalicelib.domain.loyalty.refunds import NewRefund
    from chalicelib.services.loyalty import orders

    return orders.refund(order_id, NewRefund.model_validate_json(json.dumps(body)))


def books(member_id: str) -> dict[str, Any]:
    """What the table holds for a member, and whether the points books balance."""
    from chalicelib.services.members import members

    items = members.repo().partition(member_id)
    loyalty = next((i for i in items if i["SK"] == "LOYALTY"), {})
    lots = [i for i in items if i["SK"].startswith("LOT#")]
    ledger = [i for i in items if i["SK"].startswith("LEDGER#")]
    out = {
        "points": int(loyalty.get("points", 0)),
        "debt": int(loyalty.get("debt", 0)),
        "ledger_sum": sum(int(e["points"]) for e in ledger),
        "lots_sum": sum(int(lt["remaining"]) for lt in lots),
        "lots": lots,
        "ledger": ledger,
        "loyalty": loyalty,
    }
    assert out["points"] == out["ledger_sum"] == out["lots_sum"] - out["debt"], out
    assert all(int(lt["remaining"]) > 0 for lt in lots)
    return out


def serialise_moto(monkeypatch: Any) -> None:
    """Make each moto request atomic, as each DynamoDB request is in AWS.

    moto handles concurrent requests without any locking (a TransactWriteItems deep-copies
    tables while other threads write), so threads could corrupt its state or see half a
    transaction. Serialising single requests keeps every read-then-write race that matters
    here — requests from different threads still interleave freely.
    """
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.RLock()
    original = BotocoreStubber.process_request

    def atomic(self: Any, request: Any) -> Any:
        with lock:
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", atomic)
    _cheap_transaction_backups(monkeypatch)


def _cheap_transaction_backups(monkeypatch: Any) -> None:
    """moto deep-copies the whole table (its ever-growing stream records included) once per
    item of every TransactWriteItems, so a transaction costs ~60 ms per item after a few
    dozen writes. Copy everything but the stream records (test speed only)."""
    import copy

    from moto.dynamodb.models.table import Table

    def deepcopy_without_stream(self: Any, memo: dict[int, Any]) -> Any:
        new = self.__class__.__new__(self.__class__)
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            setattr(new, k, v if k == "stream_shard" else copy.deepcopy(v, memo))
        return new

    monkeypatch.setattr(Table, "__deepcopy__", deepcopy_without_stream, raising=False)

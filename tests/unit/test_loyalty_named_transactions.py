"""Loyalty's transactions name their items: failures are read by name, never by position.

A fake client records each TransactWriteItems and cancels it the way DynamoDB does (one
reason per item, in request order); the repository must turn that into names.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.adapters.loyalty.repository import LoyaltyRepository
from chalicelib.adapters.loyalty.writes import Expiry, StaleWrite
from chalicelib.domain.loyalty.state import LoyaltyState
from chalicelib.domain.loyalty.wallet import Lot, Take

NOW = "2026-03-10T02:00:00.000Z"


def key_of(op: dict[str, Any]) -> dict[str, Any]:
    body = next(iter(op.values()))
    return dict(body.get("Key") or {k: body["Item"][k] for k in ("PK", "SK")})


class FakeClient:
    """Commits, or cancels the items ``fails`` picks by key (reasons in request order)."""

    def __init__(self, fails: Callable[[dict[str, Any]], bool] = lambda k: False) -> None:
        self.fails = fails
        self.calls: list[list[dict[str, Any]]] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **_: Any) -> None:
        self.calls.append(TransactItems)
        codes = ["ConditionalCheckFailed" if self.fails(key_of(op)) else "None"
                 for op in TransactItems]
        if "ConditionalCheckFailed" in codes:
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": ""},
                               "CancellationReasons": [{"Code": c} for c in codes]},
                              "TransactWriteItems")


def repo(client: FakeClient) -> LoyaltyRepository:
    return LoyaltyRepository(SimpleNamespace(meta=SimpleNamespace(client=client), name="t"))


def lot(lot_id: str, remaining: int = 100) -> Lot:
    return Lot(lot_id, 100, remaining, "2027-03-31T16:00:00.000Z", "2026-03-10", "order:o-1")


def entry(points: int) -> dict[str, Any]:
    return {"entry_id": f"e{abs(points)}", "kind": "x", "points": points, "reason": "r",
            "created_at": NOW}


STATE = LoyaltyState("m-1", version=3, points=100, tier="member")
SEND = {"Put": {"TableName": "t", "Item": {"PK": "MEMBER#m-1", "SK": "SEND#c-1#1"},
                "ConditionExpression": "attribute_not_exists(PK)"}}


def test_credit_reports_a_callers_failed_item_by_its_name() -> None:
    client = FakeClient(fails=lambda k: k["SK"].startswith("SEND#"))
    with pytest.raises(TransactionCancelled) as err:
        repo(client).credit(STATE, 3, "member", entry(50), lot=lot("l1"),
                            expiry_date="2027-04-01", now=NOW, extra=[("send_record", SEND)])
    named = dict(zip(err.value.names, (key_of(op)["SK"] for op in client.calls[0]), strict=True))
    assert named["loyalty"] == "LOYALTY" and named["ledger"] == f"LEDGER#{NOW}#e50"
    assert named["lot"].startswith("LOT#") and named["send_record"] == "SEND#c-1#1"
    assert err.value.failed_names == {"send_record"}
    assert err.value.failed_item("send_record") and not err.value.failed_item("loyalty")
    assert err.value.old("send_record") is None


def test_a_lost_race_on_loyalty_or_a_lot_read_earlier_is_a_stale_write() -> None:
    takes = [Take(lot("l1"), 60), Take(lot("l2"), 40)]
    client = FakeClient(fails=lambda k: k["SK"].endswith("#l2"))
    with pytest.raises(StaleWrite) as err:
        repo(client).spend(STATE, 3, "member", takes, entry(-100))
    assert err.value.cancelled is not None
    assert err.value.cancelled.failed_names == {"lot:l2"}
    assert err.value.cancelled.names == ["loyalty", "lot:l1", "lot:l2", "ledger"]


def test_a_full_stock_shard_is_reported_by_name_not_retried_as_stale() -> None:
    client = FakeClient(fails=lambda k: k["PK"].startswith("REWARD#"))
    redemption = {"redemption_id": "r1", "reward_id": "tote", "created_at": NOW}
    with pytest.raises(TransactionCancelled) as err:
        repo(client).redeem(STATE, 3, "member", [Take(lot("l1"), 100)], entry(-100),
                            redemption, reward_id="tote", stock=10, shard=2,
                            extra=[("request", SEND)])
    assert err.value.failed_names == {"stock"}
    assert err.value.names == ["loyalty", "lot:l1", "ledger", "stock", "redemption", "request"]


def test_a_replayed_refund_fails_its_refund_item_by_name() -> None:
    from chalicelib.adapters.loyalty.records import Recorded, StoredOrder
    from chalicelib.domain.loyalty.refunds import RefundPlan

    order = StoredOrder({"order_id": "o-1", "member_id": "m-1", "refunded_value": 0},
                        version=1, recorded=Recorded("f", {}), refunds={})
    plan = RefundPlan(lines=[], refunded=[], value=100, points=10, fully_refunded=False)
    client = FakeClient(fails=lambda k: k["SK"] == "REFUND#rf-1")
    with pytest.raises(TransactionCancelled) as err:
        repo(client).record_refund(order, "rf-1", plan, STATE, read_version=3,
                                   base_tier="member", takes=[Take(lot("l1"), 10)],
                                   entry=entry(-10), fingerprint="f", result={}, now=NOW,
                                   extra=[("restore:0", SEND)])
    assert not isinstance(err.value, StaleWrite)
    assert err.value.failed_item("refund")
    assert err.value.names == ["refund", "order", "loyalty", "lot:l1", "ledger", "restore:0"]


def test_expiry_names_each_members_items_and_guards_lots_only_when_asked() -> None:
    expiries = [Expiry("m-1", [Take(lot("l1"), 100)], entry(-100)),
                Expiry("m-2", [Take(lot("l1"), 100)], entry(-100))]
    client = FakeClient(fails=lambda k: k["PK"] == "MEMBER#m-2" and k["SK"].startswith("LOT#"))
    with pytest.raises(TransactionCancelled) as err:
        repo(client).expire(expiries)
    assert not isinstance(err.value, StaleWrite)
    assert err.value.names == ["lot:l1:m-1", "loyalty:m-1", "ledger:m-1",
                               "lot:l1:m-2", "loyalty:m-2", "ledger:m-2"]
    assert err.value.failed_prefixed("lot:") == ["lot:l1:m-2"]
    with pytest.raises(StaleWrite):
        repo(client).expire(expiries[1:], guard_lots=True)

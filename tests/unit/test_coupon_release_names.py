"""Releasing a reservation reads a cancellation by item name (services/coupons/checkout)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.errors import Unavailable
from chalicelib.services.coupons import checkout

HELD = {"order_id": "o-1", "member_id": "m-1", "status": "held", "version": 1,
        "coupon_ids": ["c1", "c2"]}


class FakeRepo:
    """A reservation read and release attempts, each answered from ``outcomes``."""

    def __init__(self, outcomes: list[list[str] | None]) -> None:
        self.outcomes = outcomes  # per attempt: the reasons of a cancellation, None: commit
        self.released: list[list[str]] = []

    def reservation(self, order_id: str) -> dict[str, Any]:
        return dict(HELD)

    def release(self, res: dict[str, Any], coupon_ids: list[str], now: str) -> None:
        self.released.append(list(coupon_ids))
        reasons = self.outcomes.pop(0) if self.outcomes else ["Unknown"]
        if reasons is not None:
            names = ["reservation", *(f"coupon:{c}" for c in coupon_ids)]
            raise TransactionCancelled(reasons, [None] * len(reasons)).named(names)


def test_a_coupon_taken_by_another_order_is_left_out_by_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRepo([["None", "None", "ConditionalCheckFailed"], None])
    monkeypatch.setattr(checkout, "repo", lambda: fake)
    checkout.release("o-1")
    assert fake.released == [["c1", "c2"], ["c1"]]


def test_a_cancellation_naming_no_item_reads_again_instead_of_spinning(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRepo([])  # every attempt: cancelled, no item's condition failed
    monkeypatch.setattr(checkout, "repo", lambda: fake)
    with pytest.raises(Unavailable):
        checkout.release("o-1")
    assert len(fake.released) == checkout.ATTEMPTS

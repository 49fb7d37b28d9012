"""A member's points are one Query (the LOYALTY item and the lots), and a Query is not
isolated from a transaction committing in the same partition: it can catch the lots
mid-change. Seen in CI: one of 200 concurrent draw entries on DynamoDB Local was refused
"10 points needed, 0 available" by a member holding 60. A shortfall the balance read with
it contradicts is read again; a real shortfall is still refused."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.loyalty.repository import LoyaltyRepository
from chalicelib.errors import InsufficientFunds
from chalicelib.services.loyalty import loyalty
from tests.integration.test_coupon_concurrency import bulk_members
from tests.loyalty_support import publish


def _torn_first(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first read returns the LOYALTY item without its lots (a torn read)."""
    real, calls = LoyaltyRepository.member_points, []

    def member_points(self: Any, member_id: str, consistent: bool = False) -> Any:
        state, lots = real(self, member_id, consistent=consistent)
        calls.append(len(lots))
        return state, ([] if len(calls) == 1 else lots)

    monkeypatch.setattr(LoyaltyRepository, "member_points", member_points)
    return calls


def test_a_torn_read_is_read_again_before_a_shortfall_is_believed(engine, monkeypatch):
    publish()
    member = bulk_members(1, "torn")[0]
    loyalty.award(member, 100, reason="seed")
    calls = _torn_first(monkeypatch)
    state, named = loyalty.exchange_items(member, loyalty.live_program(), 10, 0,
                                          reason="entry", earn_reason="", source="test")
    assert len(calls) == 2 and state.points == 100
    assert any(name.startswith("lot:") for name, _ in named)


def test_a_real_shortfall_is_still_refused(engine, monkeypatch):
    publish()
    member = bulk_members(1, "short")[0]
    loyalty.award(member, 5, reason="seed")
    calls = _torn_first(monkeypatch)
    with pytest.raises(InsufficientFunds):
        loyalty.exchange_items(member, loyalty.live_program(), 10, 0,
                               reason="entry", earn_reason="", source="test")
    assert len(calls) == 1  # the balance agrees: no second read

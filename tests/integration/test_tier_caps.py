"""Frequency caps come from the program (issue 13): per cap class, published like the rest
of the program, and campaign priority decides which campaigns spend them."""

from __future__ import annotations

from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    INBOX_MSG,
    add_member,
    campaign,
    fast_moto_transactions,
    inbox,
    install,
    sends,
    stats,
    tick_through,
    utc,
)
from tests.loyalty_support import publish


def _run(*priorities: int) -> None:
    install(*(campaign({"type": "birthday"}, [INBOX_MSG], id=f"p{p}", priority=p)
              for p in priorities))
    for i in range(3):
        add_member(f"m{i}", birthday="1990-07-01")
    tick_through(utc(2026, 7, 1, 0, 45), utc(2026, 7, 1, 1, 0))


def _delivered(member: str) -> list[str]:
    return sorted(r["campaign_id"] for r in sends(member) if r["state"] == "delivered")


def test_configured_caps_are_spent_by_the_highest_priority_campaigns(engine):
    publish(caps={"marketing": {"per_day": 2, "per_week": 5}})
    _run(5, 500, 50)
    for i in range(3):
        assert _delivered(f"m{i}") == ["p50", "p500"]  # the two highest priorities
        assert len(inbox(f"m{i}")) == 2
    assert stats("p5")["totals"]["suppressed"]["cap"] == 3


def test_without_caps_in_the_program_the_defaults_apply(engine):
    publish()
    _run(5, 500)
    assert [_delivered(f"m{i}") for i in range(3)] == [["p500"]] * 3  # marketing 1/day

"""Check-in and activities under concurrency, on moto and on DynamoDB Local: twenty taps
at once check in once and reward once; twenty copies of an activity award once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.loyalty.activities import ActivityEvent
from chalicelib.domain.loyalty.program import parse_program
from chalicelib.services import clock
from chalicelib.services.engagement import checkins
from chalicelib.services.loyalty import activities, loyalty
from chalicelib.services.loyalty import program as programs
from tests.integration.test_coupon_concurrency import bulk_members, run_all
from tests.loyalty_support import program, serialise_moto

TAPS = 20


@pytest.fixture(autouse=True)
def _atomic_moto_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    serialise_moto(monkeypatch)


@pytest.fixture
def club(engine: str) -> list[str]:
    body = program(checkin={"cycle_days": 7, "daily_points": 5,
                            "makeup": {"price_points": 20, "max_per_month": 3}},
                   activities={"types": {"store_visit": {"points": 10, "daily_cap": 1}}})
    programs.publish(parse_program(body), "admin-1")
    clock.freeze(datetime(2026, 12, 3, 2, 0, tzinfo=UTC))
    return bulk_members(2, prefix="m-cc")


def test_twenty_parallel_taps_check_in_once_and_reward_once(club: list[str]) -> None:
    member = club[0]
    out: list[Any] = run_all(lambda _: checkins.check_in(member), list(range(TAPS)),
                             workers=TAPS)
    errors = [o for o in out if isinstance(o, Exception)]
    assert errors == []
    assert sum(o.created for o in out) == 1
    assert len({o.day.model_dump_json() for o in out}) == 1
    assert loyalty.points(member).available == 5
    assert len(loyalty.history(member, 100, None).entries) == 1
    assert checkins.stats("2026-12-03", "2026-12-03").totals.checkins == 1


def test_parallel_make_ups_of_one_day_charge_once(club: list[str]) -> None:
    member = club[1]
    loyalty.adjust(member, 100, "goodwill", "admin-1")
    out: list[Any] = run_all(lambda _: checkins.make_up(member, datetime(2026, 12, 1).date()),
                             list(range(8)), workers=8)
    assert [o for o in out if isinstance(o, Exception)] == []
    assert sum(o.created for o in out) == 1
    assert loyalty.points(member).available == 80


def test_twenty_copies_of_an_activity_award_once(club: list[str]) -> None:
    event = ActivityEvent(member_id=club[0], type="store_visit", natural_key="visit-1",
                          occurred_at=clock.now())
    out: list[Any] = run_all(lambda _: activities.record(event), list(range(TAPS)),
                             workers=TAPS)
    assert [o for o in out if isinstance(o, Exception)] == []
    assert sum(created for _, created in out) == 1
    assert {r.points for r, _ in out} == {10}
    assert loyalty.points(club[0]).available == 10

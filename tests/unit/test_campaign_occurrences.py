"""When triggers fire: cron, birthdays (29 February), lunar holidays, timezones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.campaigns import occurrences as occ
from chalicelib.domain.campaigns.cron import CronError, parse_cron
from chalicelib.domain.campaigns.model import Birthday, Holiday, Once, Recurring
from chalicelib.domain.campaigns.validate import parse_campaign


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)  # type: ignore[misc]


BIRTHDAY = Birthday(type="birthday")


@pytest.mark.parametrize(("tz", "expected"), [
    ("Asia/Shanghai", utc(2026, 3, 29, 1, 0)),
    ("Europe/Berlin", utc(2026, 3, 29, 7, 0)),  # DST started at 01:00 UTC that day
    ("America/Los_Angeles", utc(2026, 3, 29, 16, 0)),
    ("Asia/Kolkata", utc(2026, 3, 29, 3, 30)),
    ("Pacific/Chatham", utc(2026, 3, 28, 19, 15)),  # +13:45 until April
])
def test_a_0900_birthday_fires_at_nine_local_time_in_every_timezone(tz: str,
                                                                    expected: datetime) -> None:
    found = occ.upcoming(BIRTHDAY, utc(2026, 1, 1), 1, tz, birthday="1990-03-29")
    assert [o.at for o in found] == [expected]
    assert found[0].local.time() == time(9, 0) and found[0].key == "2026"


def test_berlin_birthday_moves_an_hour_in_utc_across_dst() -> None:
    winter = occ.upcoming(BIRTHDAY, utc(2026, 1, 1), 1, "Europe/Berlin", birthday="--01-15")
    summer = occ.upcoming(BIRTHDAY, utc(2026, 1, 1), 1, "Europe/Berlin", birthday="--07-15")
    assert (winter[0].at.hour, summer[0].at.hour) == (8, 7)


def test_29_february_birthdays_are_celebrated_on_28_february_in_common_years() -> None:
    found = occ.upcoming(BIRTHDAY, utc(2026, 1, 1), 3, "Asia/Shanghai", birthday="2000-02-29")
    assert [o.local.date() for o in found] == [date(2026, 2, 28), date(2027, 2, 28),
                                               date(2028, 2, 29)]


def test_birthdays_due_names_both_index_partitions_on_28_february() -> None:
    due = occ.birthdays_due(BIRTHDAY, utc(2027, 2, 28, 0, 0), utc(2027, 2, 28, 2, 0),
                            "Asia/Shanghai")
    assert [(o.key, mds) for o, mds in due] == [("2027", ["02-28", "02-29"])]


def test_days_before_fires_earlier_and_keys_the_birthday_year() -> None:
    early = Birthday(type="birthday", days_before=3, at=time(10, 0))
    found = occ.upcoming(early, utc(2026, 12, 1), 1, "Asia/Shanghai", birthday="--01-02")
    assert found[0].local == datetime(2026, 12, 30, 10, 0, tzinfo=occ.zone("Asia/Shanghai"))
    assert found[0].key == "2027"


@pytest.mark.parametrize(("name", "year", "day"), [
    ("Spring Festival", 2026, date(2026, 2, 17)),
    ("Spring Festival", 2027, date(2027, 2, 6)),
    ("春节", 2027, date(2027, 2, 6)),
    ("Mid-Autumn Festival", 2026, date(2026, 9, 25)),
    ("Mid-Autumn Festival", 2027, date(2027, 9, 15)),
    ("Dragon Boat Festival", 2026, date(2026, 6, 19)),
    ("Chinese New Year's Eve", 2026, date(2026, 2, 16)),
    ("--11-11", 2027, date(2027, 11, 11)),
    ("2026-11-11", 2026, date(2026, 11, 11)),
])
def test_lunar_and_explicit_holidays_resolve_to_their_date(name: str, year: int,
                                                           day: date) -> None:
    assert occ.resolve_holiday("CN", name, year) == day


def test_explicit_date_outside_the_year_and_29_february_in_common_years_do_not_fire() -> None:
    assert occ.resolve_holiday("CN", "2026-11-11", 2027) is None
    assert occ.resolve_holiday("CN", "--02-29", 2027) is None
    assert occ.resolve_holiday("CN", "--02-29", 2028) == date(2028, 2, 29)


def test_holiday_trigger_fires_days_before_in_member_time_keyed_by_holiday_date() -> None:
    t = Holiday(type="holiday", holidays=["Spring Festival"], days_before=1, at=time(20, 0))
    found = occ.upcoming(t, utc(2026, 12, 1), 1, "America/Los_Angeles")
    assert found[0].local.replace(tzinfo=None) == datetime(2027, 2, 5, 20, 0)
    assert found[0].key == "2027-02-06"


@pytest.mark.parametrize(("expr", "fires"), [
    ("0 9 * * *", [datetime(2026, 3, 2, 9), datetime(2026, 3, 3, 9)]),
    ("*/30 9 * * mon", [datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 9, 30)]),
    ("0 10 1,15 * *", [datetime(2026, 3, 15, 10), datetime(2026, 4, 1, 10)]),
    ("0 0 * * 7", [datetime(2026, 3, 8, 0), datetime(2026, 3, 15, 0)]),
    ("0 12 13 * fri", [datetime(2026, 3, 6, 12), datetime(2026, 3, 13, 12)]),
    ("@monthly", [datetime(2026, 4, 1, 0), datetime(2026, 5, 1, 0)]),
])
def test_cron_fires_at_the_expected_wall_clock_times(expr: str, fires: list[datetime]) -> None:
    t = Recurring(type="recurring", cron=expr)
    found = occ.upcoming(t, utc(2026, 3, 1, 12), 2, "UTC")
    assert [o.local.replace(tzinfo=None) for o in found] == fires


@pytest.mark.parametrize(("expr", "field"), [
    ("0 9 * *", "5 fields"), ("60 9 * * *", "minute"), ("0 9 32 * *", "day of month"),
    ("0 9 * 13 *", "month"), ("0 9 * * 8", "day of week"), ("0 9 * * xyz", "day of week"),
    ("0 9 31 2 *", "never occurs"), ("*/0 9 * * *", "step"), ("5-1 * * * *", "backwards"),
])
def test_bad_cron_expressions_name_the_field(expr: str, field: str) -> None:
    with pytest.raises(CronError, match=field):
        parse_cron(expr)


def test_a_wall_clock_time_skipped_by_dst_fires_once_an_hour_later() -> None:
    t = Recurring(type="recurring", cron="30 2 * * *", local_time=True)
    found = occ.between(t, utc(2026, 3, 8, 0), utc(2026, 3, 9, 0), "America/Los_Angeles")
    assert [o.local.strftime("%H:%M %z") for o in found] == ["03:30 -0700"]


def test_a_wall_clock_time_repeated_by_dst_fires_once() -> None:
    t = Recurring(type="recurring", cron="30 1 * * *", local_time=True)
    found = occ.between(t, utc(2026, 11, 1, 0), utc(2026, 11, 2, 0), "America/Los_Angeles")
    assert len(found) == 1 and found[0].at == utc(2026, 11, 1, 8, 30)


def test_once_with_local_time_fires_at_that_wall_clock_time_per_timezone() -> None:
    t = Once(type="once", at=datetime(2027, 11, 11, 10, 0), local_time=True)
    sh = occ.between(t, utc(2027, 11, 10), utc(2027, 11, 12), "Asia/Shanghai")
    la = occ.between(t, utc(2027, 11, 10), utc(2027, 11, 12), "America/Los_Angeles")
    assert sh[0].at == utc(2027, 11, 11, 2) and la[0].at == utc(2027, 11, 11, 18)
    assert sh[0].key == la[0].key == "2027-11-11T10:00"


def test_campaign_occurrences_stay_inside_the_window_and_use_member_zones() -> None:
    c = parse_campaign({
        "id": "weekly", "name": "w", "window": {"start": "2026-03-02T00:00:00+08:00",
                                                "end": "2026-03-20T00:00:00+08:00"},
        "trigger": {"type": "recurring", "cron": "0 10 * * mon", "local_time": True},
        "actions": [{"type": "award_points", "points": 1}]})
    found = occ.campaign_upcoming(c, utc(2026, 1, 1), 5, member_timezone="Europe/Berlin")
    assert [o.at for o in found] == [utc(2026, 3, 2, 9), utc(2026, 3, 9, 9),
                                     utc(2026, 3, 16, 9)]
    assert occ.zone_for(c, None).key == "Asia/Shanghai"


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["Asia/Shanghai", "Europe/Berlin",
                                                 "America/Los_Angeles", "Pacific/Chatham",
                                                 "Asia/Kolkata"]),
       st.sampled_from([15, 60, 24 * 60]))
def test_consecutive_windows_see_each_fire_exactly_once(offset_hours: int, tz: str,
                                                        step_minutes: int) -> None:
    t = Recurring(type="recurring", cron="0 9,21 * * *", local_time=True)
    start = utc(2026, 1, 1) + timedelta(hours=offset_hours)
    end = start + timedelta(days=3)
    whole = occ.between(t, start, end, tz)
    pieces = []
    lo = start
    while lo < end:
        hi = min(lo + timedelta(minutes=step_minutes), end)
        pieces += occ.between(t, lo, hi, tz)
        lo = hi
    assert pieces == whole and len(whole) in (5, 6, 7)

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.domain.delivery.windows import all_zones, campaign_slots, groups

MATRIX = ["Asia/Shanghai", "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata",
          "Pacific/Chatham"]
INBOX = [{"type": "message", "channels": ["inbox"],
          "content": {"zh-CN": {"title": "生日快乐", "body": "hi"}}}]


def campaign(trigger: dict, **kw) -> object:
    return parse_campaign({"id": kw.pop("id", "c-1"), "name": "n", "status": "active",
                           "window": kw.pop("window", {"start": "2020-01-01T00:00:00+00:00"}),
                           "trigger": trigger, "actions": INBOX, **kw})


BDAY = campaign({"type": "birthday", "at": "09:00"})


def windows(c, start: datetime, hours: int = 48, step: int = 15, zones=MATRIX):
    out = []
    t = start
    while t < start + timedelta(hours=hours):
        out += campaign_slots(c, t, t + timedelta(minutes=step), zones)
        t += timedelta(minutes=step)
    return out


@pytest.mark.parametrize("day, expected", [
    (date(2026, 1, 15), {"Asia/Shanghai": "01:00", "America/Los_Angeles": "17:00",
                         "Europe/Berlin": "08:00", "Asia/Kolkata": "03:30",
                         "Pacific/Chatham": "19:15"}),  # Chatham summer +13:45, day before
    # Los Angeles springs forward on 2026-03-08: 09:00 PDT = 16:00 UTC
    (date(2026, 3, 8), {"America/Los_Angeles": "16:00", "Europe/Berlin": "08:00"}),
    # Berlin springs forward on 2026-03-29: 09:00 CEST = 07:00 UTC
    (date(2026, 3, 29), {"Europe/Berlin": "07:00", "America/Los_Angeles": "16:00"}),
    # Chatham leaves DST on 2026-04-05: 09:00 +12:45 = 20:15 UTC the day before
    (date(2026, 4, 5), {"Pacific/Chatham": "20:15", "Asia/Kolkata": "03:30"}),
    # Berlin falls back on 2026-10-25, Los Angeles on 2026-11-01
    (date(2026, 10, 25), {"Europe/Berlin": "08:00", "America/Los_Angeles": "16:00"}),
    (date(2026, 11, 1), {"America/Los_Angeles": "17:00", "Europe/Berlin": "08:00"}),
])
def test_nine_oclock_birthday_fires_once_per_zone_in_the_right_utc_quarter_hour(day, expected):
    start = datetime.combine(day - timedelta(days=1), time(0), tzinfo=UTC)
    md = f"{day.month:02d}-{day.day:02d}"
    found = [s for s in windows(BDAY, start) if md in s.month_days]
    by_tz: dict[str, list] = {}
    for s in found:
        by_tz.setdefault(s.tz, []).append(s)
    for tz, hhmm in expected.items():
        assert len(by_tz[tz]) == 1, tz
        s = by_tz[tz][0]
        assert s.fire_at.strftime("%H:%M") == hhmm, tz
        assert s.fire_at.astimezone(ZoneInfo(tz)).time() == time(9, 0)
        assert s.occurrence == str(day.year)


def test_every_zone_gets_exactly_one_slot_per_birthday_over_a_year_of_windows():
    seen: dict[tuple[str, str], int] = {}
    for s in windows(BDAY, datetime(2026, 1, 1, tzinfo=UTC), hours=24 * 365, step=60):
        for md in s.month_days:
            seen[(s.tz, md)] = seen.get((s.tz, md), 0) + 1
    assert set(seen.values()) == {1}
    assert len(seen) == len(MATRIX) * 366  # 365 days + 29 Feb folded into 28 Feb


def test_29_february_birthdays_are_celebrated_on_28_february_in_common_years():
    s = campaign_slots(BDAY, datetime(2027, 2, 28, 0, 45, tzinfo=UTC),
                       datetime(2027, 2, 28, 1, 0, tzinfo=UTC), ["Asia/Shanghai"])
    assert [x.month_days for x in s] == [("02-28", "02-29")]
    leap = campaign_slots(BDAY, datetime(2028, 2, 28, 0, 45, tzinfo=UTC),
                          datetime(2028, 2, 28, 1, 0, tzinfo=UTC), ["Asia/Shanghai"])
    assert [x.month_days for x in leap] == [("02-28",)]


def test_a_missed_run_catches_up_and_a_repeated_window_yields_the_same_slots():
    a = datetime(2026, 5, 1, tzinfo=UTC)
    long = campaign_slots(BDAY, a, a + timedelta(hours=6), MATRIX)
    pieces = windows(BDAY, a, hours=6)
    assert long == pieces and long
    assert campaign_slots(BDAY, a, a + timedelta(hours=6), MATRIX) == long


def test_slots_outside_the_campaign_window_are_not_due():
    c = campaign({"type": "birthday"}, window={"start": "2026-05-01T12:00:00+00:00",
                                                "end": "2026-05-02T00:00:00+00:00"})
    s = campaign_slots(c, datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 3, tzinfo=UTC),
                       MATRIX)
    assert s and all(datetime(2026, 5, 1, 12, tzinfo=UTC) <= x.fire_at
                     <= datetime(2026, 5, 2, tzinfo=UTC) for x in s)


def test_zones_are_grouped_by_offset_and_split_across_a_transition():
    t = datetime(2026, 1, 15, tzinfo=UTC)
    g = groups(all_zones(), t, t + timedelta(minutes=15))
    assert len(g) < 60
    assert sum(len(m) for _, m in g) == len(all_zones())
    change = datetime(2026, 3, 29, 0, 50, tzinfo=UTC)
    assert [m for _, m in groups(["Europe/Berlin", "Europe/Paris"], change,
                                 change + timedelta(minutes=15))] == [["Europe/Berlin"],
                                                                      ["Europe/Paris"]]


def test_grouped_evaluation_over_all_zones_equals_evaluating_each_zone_alone():
    t = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # EU DST change inside the window
    grouped = campaign_slots(BDAY, t, t + timedelta(hours=10), all_zones())
    single = []
    for z in all_zones():
        single += campaign_slots(BDAY, t, t + timedelta(hours=10), [z])
    key = lambda s: (s.tz, s.occurrence, s.fire_at, s.month_days)  # noqa: E731
    assert sorted(grouped, key=key) == sorted(single, key=key)


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1)),
       st.sampled_from(MATRIX), st.integers(1, 180))
def test_consecutive_windows_partition_the_slots_of_a_long_window(start, tz, minutes):
    start = start.replace(tzinfo=UTC)
    end = start + timedelta(hours=30)
    whole = campaign_slots(BDAY, start, end, [tz])
    parts = []
    t = start
    while t < end:
        nxt = min(t + timedelta(minutes=minutes), end)
        parts += campaign_slots(BDAY, t, nxt, [tz])
        t = nxt
    assert parts == whole


def test_holiday_local_time_fires_days_before_in_each_zone():
    c = campaign({"type": "holiday", "calendar": "CN", "holidays": ["Mid-Autumn Festival"],
                  "at": "10:00", "days_before": 1})
    s = campaign_slots(c, datetime(2026, 9, 23, tzinfo=UTC), datetime(2026, 9, 25, tzinfo=UTC),
                       ["Asia/Shanghai", "Europe/Berlin"])
    assert {(x.tz, x.occurrence, x.fire_at) for x in s} == {
        ("Asia/Shanghai", "2026-09-25", datetime(2026, 9, 24, 2, 0, tzinfo=UTC)),
        ("Europe/Berlin", "2026-09-25", datetime(2026, 9, 24, 8, 0, tzinfo=UTC))}


def test_fixed_time_triggers_fire_once_for_everyone_in_the_campaign_timezone():
    c = campaign({"type": "once", "at": "2026-11-11T10:00:00+08:00"})
    s = campaign_slots(c, datetime(2026, 11, 11, 1, 45, tzinfo=UTC),
                       datetime(2026, 11, 11, 2, 0, tzinfo=UTC))
    assert [(x.tz, x.fire_at) for x in s] == [(None, datetime(2026, 11, 11, 2, 0, tzinfo=UTC))]
    weekly = campaign({"type": "recurring", "cron": "30 9 * * mon", "local_time": True})
    s = campaign_slots(weekly, datetime(2026, 3, 9, tzinfo=UTC),
                       datetime(2026, 3, 10, tzinfo=UTC), ["Asia/Shanghai", "Asia/Kolkata"])
    assert {(x.tz, x.fire_at.strftime("%H:%M"), x.occurrence) for x in s} == {
        ("Asia/Shanghai", "01:30", "2026-03-09T09:30"),
        ("Asia/Kolkata", "04:00", "2026-03-09T09:30")}

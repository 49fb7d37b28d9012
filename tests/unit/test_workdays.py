"""Official working days (调休) and the holiday rules built on them: 'the first working day
after 国庆', checked against the State Council's published schedules (2025, 2026) in three
packages, and a clear refusal for a year not published yet."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

import holidays
import pytest
from lunar_python.util import HolidayUtil

from chalicelib.domain.campaigns import occurrences as occ
from chalicelib.domain.campaigns import workdays as wd
from chalicelib.domain.campaigns.lint import lint
from chalicelib.domain.campaigns.preview import holiday_calendar
from chalicelib.domain.campaigns.validate import parse_campaign, validate_campaign

# Weekend days worked in exchange (调休上班), from the State Council's holiday notices
# (国务院办公厅关于部分节假日安排的通知) for 2025 and 2026.
WEEKEND_WORKDAYS = {
    2025: ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
    2026: ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
}
# (holiday, date, rule, n) → the day, per the same notices.
RULES = [
    ("国庆节 2025", date(2025, 10, 1), "after", 1, date(2025, 10, 9)),    # 10/1-8 off
    ("国庆节 2026", date(2026, 10, 1), "after", 1, date(2026, 10, 8)),    # 10/1-7 off
    ("国庆节 2026", date(2026, 10, 1), "after", 2, date(2026, 10, 9)),
    ("春节 2026", date(2026, 2, 17), "before", 1, date(2026, 2, 14)),     # a Saturday worked
    ("春节 2026", date(2026, 2, 17), "after", 1, date(2026, 2, 24)),      # 2/15-23 off
    ("春节 2025", date(2025, 1, 29), "after", 1, date(2025, 2, 5)),       # 1/28-2/4 off
    ("劳动节 2026", date(2026, 5, 1), "after", 1, date(2026, 5, 6)),      # 5/1-5 off
    ("元旦 2026", date(2026, 1, 1), "after", 1, date(2026, 1, 4)),        # a Sunday worked
]
NEXT_YEAR = wd.published_years("CN").stop  # type: ignore[union-attr]


def in_lunar_python(d: date) -> bool:
    h = HolidayUtil.getHoliday(d.year, d.month, d.day)
    return bool(h.isWork()) if h else d.weekday() < 5


@pytest.mark.parametrize("year", sorted(WEEKEND_WORKDAYS))
def test_published_years_agree_in_three_packages_day_by_day(year: int) -> None:
    cn = holidays.CN(years=year)
    d = date(year, 1, 1)
    worked_weekends = []
    while d.year == year:
        mine = wd.is_working_day("CN", d)
        assert mine == cn.is_working_day(d) == in_lunar_python(d), d
        if mine and d.weekday() >= 5:
            worked_weekends.append(d.isoformat())
        d += timedelta(days=1)
    assert worked_weekends == WEEKEND_WORKDAYS[year]


@pytest.mark.parametrize(("label", "base", "way", "n", "expected"), RULES,
                         ids=[f"{r[0]}-{r[2]}-{r[3]}" for r in RULES])
def test_working_day_rules_on_published_years(label: str, base: date, way: str, n: int,
                                              expected: date) -> None:
    step = wd.working_day_after if way == "after" else wd.working_day_before
    assert step("CN", base, n) == expected


def test_a_year_not_yet_published_is_refused_not_guessed() -> None:
    with pytest.raises(wd.CalendarUnpublished) as e:
        wd.working_day_after("CN", date(NEXT_YEAR, 10, 1), 1)
    assert str(e.value) == f"{NEXT_YEAR} working-day calendar not yet published"
    assert "State Council" in e.value.hint
    # the last day of the last published year looks into the next one: refused too
    with pytest.raises(wd.CalendarUnpublished):
        wd.working_day_after("CN", date(NEXT_YEAR - 1, 12, 31), 1)


def test_other_calendars_use_the_holidays_package_working_days() -> None:
    assert wd.working_day_after("US", date(2027, 7, 3), 1) == date(2027, 7, 6)  # 7/5 observed
    assert wd.is_published("US", 2040)


# --- the rule in a campaign ---------------------------------------------------------------------

def campaign(holidays_: list[Any], start: str, end: str | None) -> dict[str, Any]:
    window = {"start": start} | ({"end": end} if end else {})
    return {
        "id": "back-to-work", "name": "Back to work", "window": window,
        "trigger": {"type": "holiday", "calendar": "CN", "holidays": holidays_, "at": "09:00"},
        "actions": [{"type": "award_points", "points": 10}],
        "budget": {"points": 100000},
    }


RULE = {"holiday": "国庆节", "working_day_after": 1}


def test_the_first_working_day_after_national_day_fires_and_is_keyed_by_that_day() -> None:
    c = parse_campaign(campaign([RULE], "2026-09-01T00:00:00+08:00",
                                "2026-12-31T00:00:00+08:00"))
    found = occ.campaign_upcoming(c, datetime(2026, 9, 1, tzinfo=UTC), 3)
    assert [(o.key, o.local.isoformat()) for o in found] == [
        ("2026-10-08", "2026-10-08T09:00:00+08:00")]


def test_offsets_and_mixed_refs_round_trip_and_fire() -> None:
    doc = campaign(["七夕节", {"holiday": "七夕节", "offset_days": -3}],
                   "2027-07-01T00:00:00+08:00", "2027-08-31T00:00:00+08:00")
    c = parse_campaign(doc)
    assert c.document()["trigger"]["holidays"] == doc["trigger"]["holidays"]
    found = occ.campaign_upcoming(c, datetime(2027, 7, 1, tzinfo=UTC), 5)
    assert [o.key for o in found] == ["2027-08-05", "2027-08-08"]


def test_a_window_only_in_an_unpublished_year_is_an_error_with_path_and_hint() -> None:
    _, errors = validate_campaign(campaign([RULE], f"{NEXT_YEAR}-09-01T00:00:00+08:00",
                                           f"{NEXT_YEAR}-10-31T00:00:00+08:00"))
    assert errors == [{"path": "/trigger/holidays/0/working_day_after",
                       "message": f"{NEXT_YEAR} working-day calendar not yet published",
                       "hint": errors[0]["hint"]}]
    assert "November" in errors[0]["hint"]


def test_a_window_partly_unpublished_is_valid_with_a_lint_warning_and_preview_lists_it() -> None:
    c = parse_campaign(campaign([RULE, "中秋节"], f"{NEXT_YEAR - 1}-09-01T00:00:00+08:00",
                                f"{NEXT_YEAR}-10-31T00:00:00+08:00"))
    warnings = [w for w in lint(c) if w["code"] == "calendar-unpublished"]
    assert [(w["path"], w["message"]) for w in warnings] == [(
        "/trigger/holidays/0", f"'国庆节 +1 working day' skips a date in the window: "
        f"{NEXT_YEAR} working-day calendar not yet published")]
    shown = holiday_calendar(c, datetime(NEXT_YEAR - 1, 9, 1, tzinfo=UTC))
    assert shown is not None
    assert [d["holiday"] for d in shown["dates"]].count("国庆节 +1 working day") == 1
    assert {d["holiday"] for d in shown["dates"]} == {"国庆节 +1 working day", "中秋节"}
    assert shown["unresolved"][0]["reason"] == (f"{NEXT_YEAR} working-day calendar not yet "
                                                "published")
    # the scheduler skips the unknown day rather than fail or guess: only 中秋 fires
    fires = occ.campaign_between(c, datetime(NEXT_YEAR, 9, 1, tzinfo=UTC),
                                 datetime(NEXT_YEAR, 10, 31, tzinfo=UTC))
    mid_autumn = occ.resolve_holiday("CN", "中秋节", NEXT_YEAR)
    assert mid_autumn is not None
    assert [o.key for o in fires] == [mid_autumn.isoformat()]


@pytest.mark.parametrize(("ref", "path", "suggestion"), [
    ("国廣节", "/trigger/holidays/0", "did you mean '国庆节'?"),
    ({"holiday": "Qixi Festval", "offset_days": 1}, "/trigger/holidays/0/holiday",
     "did you mean 'Qixi Festival'?"),
    ("Double Nineth Festival", "/trigger/holidays/0", "did you mean 'Double Ninth Festival'?"),
    ("重阳节日", "/trigger/holidays/0", "did you mean '重阳节'?"),
])
def test_unknown_names_get_a_did_you_mean_over_chinese_and_english_names(
        ref: Any, path: str, suggestion: str) -> None:
    _, errors = validate_campaign(campaign([ref], "2027-01-01T00:00:00+08:00",
                                           "2027-12-31T00:00:00+08:00"))
    assert [e["path"] for e in errors] == [path]
    assert errors[0]["hint"].startswith(suggestion)


def test_ambiguous_and_malformed_refs_name_their_path() -> None:
    doc = campaign(["小年", 5, {"holiday": "国庆节", "offset_days": 1, "working_day_after": 1},
                    {"holiday": "国庆节", "working_day_after": 0}],
                   "2027-01-01T00:00:00+08:00", "2027-12-31T00:00:00+08:00")
    _, errors = validate_campaign(copy.deepcopy(doc))
    assert [e["path"] for e in errors] == ["/trigger/holidays/1", "/trigger/holidays/2",
                                           "/trigger/holidays/3/working_day_after"]
    del doc["trigger"]["holidays"][1:]
    _, errors = validate_campaign(doc)
    assert errors[0]["path"] == "/trigger/holidays/0"
    assert "北方小年" in errors[0]["hint"]

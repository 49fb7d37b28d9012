"""Preview of festival and working-day triggers on moto and DynamoDB Local: the resolved
holiday dates and fire times of the window, the days not resolvable yet, and audiences by
city tier read from the member index."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.members.index import MemberIndex
from chalicelib.domain.campaigns import workdays
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.services.campaigns import campaigns

NEXT_YEAR = workdays.published_years("CN").stop  # type: ignore[union-attr]
CITIES = ("上海市", "Hangzhou", "延边州", "Wuxi", "三沙", "Atlantis")  # tiers 1 2 6 3 6 -


def campaign(start: str, end: str, audience: dict[str, Any] | None = None) -> Any:
    return parse_campaign({
        "id": "festivals", "name": "Festivals", "status": "draft",
        "window": {"start": start, "end": end},
        "trigger": {"type": "holiday", "calendar": "CN", "at": "09:30", "holidays": [
            "七夕节", {"holiday": "国庆节", "working_day_after": 1},
            {"holiday": "重阳节", "offset_days": -1}]},
        "audience": audience,
        "actions": [{"type": "award_points", "points": 10}],
        "budget": {"points": 10000},
    })


def load() -> None:
    profiles = [{"member_id": f"m{i:03d}", "city": CITIES[i % len(CITIES)], "locale": "zh-CN",
                 "timezone": "Asia/Shanghai"} for i in range(30)]
    MemberIndex().put_members(profiles, [])


def test_preview_lists_each_holiday_date_and_fire_time_of_the_window(engine: str) -> None:
    load()
    out = campaigns.preview(campaign("2026-07-01T00:00:00+08:00", "2026-12-31T00:00:00+08:00"),
                            at=datetime(2026, 7, 1, tzinfo=UTC), samples=1)
    assert out["occurrences"]["holidays"] == {"dates": [
        {"holiday": "七夕节", "date": "2026-08-19", "fires_at": "2026-08-19T09:30:00+08:00"},
        {"holiday": "国庆节 +1 working day", "date": "2026-10-08",
         "fires_at": "2026-10-08T09:30:00+08:00"},
        {"holiday": "重阳节 -1 days", "date": "2026-10-17",
         "fires_at": "2026-10-17T09:30:00+08:00"},
    ], "unresolved": []}
    assert out["occurrences"]["Asia/Shanghai"][:3] == [
        "2026-08-19T09:30:00+08:00", "2026-10-08T09:30:00+08:00", "2026-10-17T09:30:00+08:00"]
    assert out["audience"]["size"] == 30
    assert out["projection"]["deliveries_per_recipient"] == 1  # limits: once per campaign


def test_preview_reports_the_working_day_not_published_yet_and_lint_warns(engine: str) -> None:
    load()
    c = campaign(f"{NEXT_YEAR - 1}-09-01T00:00:00+08:00", f"{NEXT_YEAR}-12-31T00:00:00+08:00",
                 audience={"attr": "city_tier", "op": "lte", "value": 3})
    out = campaigns.preview(c, at=datetime(NEXT_YEAR - 1, 9, 1, tzinfo=UTC), samples=1)
    holidays = out["occurrences"]["holidays"]
    assert [d["holiday"] for d in holidays["dates"]] == [
        "国庆节 +1 working day", "重阳节 -1 days", "七夕节", "重阳节 -1 days"]
    assert holidays["unresolved"][0]["holiday"] == "国庆节 +1 working day"
    assert holidays["unresolved"][0]["reason"] == (f"{NEXT_YEAR} working-day calendar not "
                                                   "yet published")
    assert [w["code"] for w in out["warnings"]] == ["calendar-unpublished"]
    # 上海市, Hangzhou and Wuxi are tiers 1-3: 3 of every 6 members
    assert out["audience"] == {"size": 15, "exact": True, "profiles_read": 30}

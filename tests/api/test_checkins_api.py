"""Daily check-in and points for activities over HTTP, on moto and on DynamoDB Local."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.services import clock
from tests.loyalty_support import program

CHECKIN = {"cycle_days": 7, "daily_points": 5,
           "rewards": [{"day": 7, "points": 50}],
           "makeup": {"price_points": 20, "max_per_month": 1}}
ACTIVITIES = {"types": {"review_written": {"points": 20, "daily_cap": 2, "monthly_cap": 3},
                        "store_visit": {"points": 10}}}
# 2026-12-01 10:00 in Shanghai
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def club(api_on: Any) -> Any:
    body = program(checkin=CHECKIN, activities=ACTIVITIES)
    assert api_on.put("/admin/program", role="admin", body=body).status_code == 200
    assert api_on.post("/members", role="service", body={"member_id": "m-1"}).status_code == 201
    return api_on


def on_day(n: int) -> None:
    clock.freeze(START + timedelta(days=n))


def points(api: Any) -> int:
    return int(api.get("/me/points", role="member").json["available"])


def test_a_week_of_check_ins_with_one_make_up_earns_the_day_seven_reward(club):
    for n in (0, 1, 2, 4, 5):  # day 4 (2026-12-04) missed
        on_day(n)
        r = club.post("/me/checkins", role="member")
        assert r.status_code == 201, r.json
    assert r.json["streak"] == 2 and points(club) == 25
    r = club.post("/me/checkins/makeup", role="member", body={"date": "2026-12-04"})
    assert r.status_code == 201 and r.json["points_spent"] == 20, r.json
    assert club.post("/me/checkins/makeup", role="member",
                     body={"date": "2026-12-04"}).status_code == 200  # a double tap
    r = club.post("/me/checkins/makeup", role="member", body={"date": "2026-12-02"})
    assert r.status_code == 409 and r.json["error"]["details"][0]["reason"] == \
        "ALREADY_CHECKED_IN"
    cal = club.get("/me/checkins", role="member").json
    assert (cal["streak"], cal["checked_in_today"], cal["makeups_left"]) == (6, True, 0)
    assert cal["next_reward"] == {"cycle_day": 7, "points": 50, "coupon_template_id": None}
    assert [d["kind"] for d in cal["days"]] == ["checkin"] * 3 + ["makeup"] + ["checkin"] * 2
    on_day(6)
    r = club.post("/me/checkins", role="member")
    assert (r.status_code, r.json["streak"], r.json["points"]) == (201, 7, 50)
    assert points(club) == 25 - 20 + 50
    stats = club.get("/admin/checkins/stats?from=2026-12-01&to=2026-12-07",
                     role="marketer").json
    assert stats["totals"] == {"date": "total", "checkins": 6, "makeups": 1,
                               "points_awarded": 75, "points_spent": 20, "coupons": 0}


def test_a_second_tap_answers_the_first_record_with_200_and_no_second_reward(club):
    on_day(0)
    first = club.post("/me/checkins", role="member")
    again = club.post("/me/checkins", role="member")
    keyed = club.post("/me/checkins", role="member", headers={"Idempotency-Key": "tap-1"})
    assert (first.status_code, again.status_code, keyed.status_code) == (201, 200, 200)
    assert first.json == again.json == keyed.json
    assert points(club) == 5


def test_make_up_rules_answer_with_reasons(club):
    on_day(3)
    r = club.post("/me/checkins/makeup", role="member", body={"date": "2026-12-02"})
    assert r.status_code == 409 and r.json["error"]["code"] == "INSUFFICIENT_POINTS"
    club.post("/admin/members/m-1/points", role="admin", body={"delta": 100, "reason": "goodwill"})
    for day, reason in (("2026-12-04", "MAKEUP_NOT_PAST"), ("2026-11-30", "MAKEUP_OTHER_MONTH")):
        r = club.post("/me/checkins/makeup", role="member", body={"date": day})
        assert r.status_code == 422 and r.json["error"]["details"][0]["reason"] == reason
    assert club.post("/me/checkins/makeup", role="member",
                     body={"date": "2026-12-02"}).status_code == 201
    r = club.post("/me/checkins/makeup", role="member", body={"date": "2026-12-01"})
    assert r.json["error"]["details"][0]["reason"] == "MAKEUP_LIMIT"
    assert club.get("/me/checkins?month=2026-13", role="member").status_code == 400


def activity(key: str, kind: str = "review_written", at: datetime | None = None) -> dict:
    return {"member_id": "m-1", "type": kind, "natural_key": key,
            "occurred_at": (at or clock.now()).isoformat()}


def test_activities_award_once_per_natural_key_within_daily_and_monthly_caps(club):
    on_day(0)
    codes = [club.post("/activities", role="service", body=activity(k)) for k in
             ("r1", "r1", "r2", "r3")]
    assert [c.status_code for c in codes] == [201, 200, 201, 201]
    assert [c.json["points"] for c in codes] == [20, 20, 20, 0]
    assert codes[3].json["reason"] == "CAP_DAILY"
    on_day(1)
    r4 = club.post("/activities", role="service", body=activity("r4"))
    r5 = club.post("/activities", role="service", body=activity("r5"))
    assert (r4.json["points"], r5.json["reason"]) == (20, "CAP_MONTHLY")
    assert points(club) == 60
    r = club.post("/activities", role="service", body=activity("x", kind="review_writen"))
    assert r.status_code == 422
    assert r.json["error"]["details"][0] == {"path": "/type", "reason": "UNKNOWN_ACTIVITY",
                                             "message": "did you mean 'review_written'?"}
    other = {**activity("r1"), "member_id": "m-2"}
    club.post("/members", role="service", body={"member_id": "m-2"})
    assert club.post("/activities", role="service", body=other).status_code == 409
    stats = club.get("/admin/activities/stats?from=2026-12-01&to=2026-12-02",
                     role="marketer").json
    assert stats["totals"]["review_written"] == {"events": 5, "awarded": 3, "capped": 2,
                                                 "points": 60}
    assert club.post("/activities", role="member", body=activity("r9")).status_code == 403


def test_the_cycle_day_coupon_is_issued_with_the_check_in_or_skipped_if_it_cannot_issue(
        api_on):
    api = api_on
    assert api.put("/admin/coupon-templates/tpl-streak", role="marketer", body={
        "name": "连续签到券", "benefit": {"type": "no_threshold", "amount": 500},
        "validity": {"starts_at": "2026-11-01T00:00:00+08:00",
                     "ends_at": "2027-01-01T00:00:00+08:00"},
        "limits": {"stock": None, "per_member_claim": 1, "per_member_use": 1}}).status_code in (
            200, 201)
    streak = {"cycle_days": 2, "daily_points": 1,
              "rewards": [{"day": 2, "points": 0, "coupon_template_id": "tpl-streak"}]}
    api.put("/admin/program", role="admin", body=program(checkin=streak))
    api.post("/members", role="service", body={"member_id": "m-1"})
    on_day(0)
    api.post("/me/checkins", role="member")
    on_day(1)
    r = api.post("/me/checkins", role="member")
    assert (r.status_code, r.json["cycle_day"], r.json["points"]) == (201, 2, 0)
    coupons = api.get("/me/coupons", role="member").json
    assert [c["coupon_id"] for c in coupons] == [r.json["coupon_id"]]
    streak["rewards"][0]["coupon_template_id"] = "tpl-missing"
    api.put("/admin/program", role="admin", body=program(checkin=streak))
    for n in (2, 3):
        on_day(n)
        r = api.post("/me/checkins", role="member")
    assert r.status_code == 201 and r.json["coupon_skipped"] is True and r.json["streak"] == 4
    assert len(api.get("/me/coupons", role="member").json) == 1

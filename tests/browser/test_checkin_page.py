"""The 签到与任务 page in a real browser: the program's check-in and activity settings, and the
figures of a few check-ins, a make-up and activities (one over its daily cap) seeded over the
API, equal to what the stats endpoints answer; a date range without data shows zeros; axe
finds nothing serious; English labels on switching."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import ROOT, Stack, axe_violations, shot
from tests.browser.test_console import sign_in
from tests.fuzz.stack import member_tokens

SAMPLE = json.loads((ROOT / "campaigns" / "program.json").read_text())
MEMBERS = ["m-br-0", "m-br-1", "m-br-2"]  # conftest's members (Asia/Shanghai, then London)


def checkin_and_activities_on(stack: Stack) -> dict[str, Any]:
    """The live program with the sample's checkin and activities (published when missing)."""
    code, live = stack.call("GET", "/admin/program", "admin")
    program = live["program"] if code == 200 else json.loads(json.dumps(SAMPLE))
    program.pop("$schema", None)
    if code != 200 or program.get("checkin") != SAMPLE["checkin"] or \
            program.get("activities") != SAMPLE["activities"]:
        program["checkin"], program["activities"] = SAMPLE["checkin"], SAMPLE["activities"]
        code, body = stack.call("PUT", "/admin/program", "admin", program)
        assert code == 200, body
    return dict(program)


def as_member(stack: Stack, member_id: str) -> Stack:
    """``stack`` with ``member_id``'s token as the member's."""
    return Stack(stack.api, stack.console,
                 {**stack.tokens, "member": member_tokens("dev", [member_id])[member_id]})


def seed(stack: Stack) -> bool:
    """Three check-ins today, m-br-0's make-up of yesterday (when it is this month in
    Shanghai), two reviews and two store visits (the second over the daily cap of 1)."""
    for member_id in MEMBERS:
        code, body = as_member(stack, member_id).call("POST", "/me/checkins", "member")
        assert code in (200, 201), body
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    made_up = today.day > 1
    if made_up:
        code, body = stack.call("POST", "/admin/members/m-br-0/points", "admin",
                                {"delta": 20, "reason": "browser test make-up card"})
        assert code == 201, body
        code, body = as_member(stack, "m-br-0").call(
            "POST", "/me/checkins/makeup", "member", {"date": str(today - timedelta(days=1))})
        assert code in (200, 201), body
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    for kind, expected in [("review_written", 20), ("review_written", 20),
                           ("store_visit", 10), ("store_visit", 0)]:
        code, body = stack.call("POST", "/activities", "service", {
            "member_id": "m-br-1", "type": kind, "natural_key": uuid.uuid4().hex,
            "occurred_at": now})
        assert code == 201 and body["points"] == expected, body
    return made_up


def test_checkin_settings_and_figures(page: Any, stack: Stack) -> None:
    checkin_and_activities_on(stack)
    made_up = seed(stack)
    _, checkins = stack.call("GET", "/admin/checkins/stats", "marketer")
    _, activities = stack.call("GET", "/admin/activities/stats", "marketer")
    totals = checkins["totals"]
    assert totals["checkins"] >= 3 and totals["makeups"] >= int(made_up)
    assert activities["totals"]["store_visit"]["capped"] >= 1
    sign_in(page)
    page.get_by_role("link", name="签到与任务", exact=True).click()
    expect(page.get_by_role("heading", name="签到与任务", level=1)).to_be_visible()
    box = page.locator("#checkin-settings")
    expect(box).to_contain_text("已开启")
    expect(box).to_contain_text("7 天")
    expect(page.locator("#makeup")).to_contain_text("每张 20 积分")
    expect(page.locator("#makeup")).to_contain_text("每人每月最多 2 张")
    expect(page.locator("#checkin-rewards tr[data-day='7']")).to_contain_text("points-20-off")
    visit = page.locator("#activity-rules tr[data-type=store_visit]")
    expect(visit).to_contain_text("到店 Store visit")
    expect(visit.locator("td").nth(2)).to_have_text("不限")  # no monthly cap
    for kpi in ("checkins", "makeups", "points_awarded", "points_spent"):
        expect(page.locator(f"[data-kpi={kpi}] .big")).to_have_text(f"{totals[kpi]:,}")
    expect(page.get_by_role("status")).to_contain_text(
        f"{checkins['first']} 至 {checkins['last']}")
    for kind, figures in activities["totals"].items():
        row = page.locator(f"#activity-totals tr[data-type={kind}]")
        for col, n in figures.items():
            expect(row.locator(f"[data-col={col}]")).to_have_text(f"{n:,}")
    expect(page.locator("#chart-checkins canvas")).to_have_count(1)
    shot(page, "checkins")
    assert axe_violations(page) == []
    past = str(datetime.fromisoformat(checkins["first"]).date() - timedelta(days=30))
    page.get_by_label("开始日期").fill(past)
    page.get_by_label("结束日期").fill(past)
    page.get_by_role("button", name="查看").click()
    expect(page.get_by_role("status")).to_contain_text(f"{past} 至 {past}")
    expect(page.locator("[data-kpi=checkins] .big")).to_have_text("0")
    expect(page.locator("#activity-totals tr[data-type=store_visit] [data-col=capped]")
           ).to_have_text("0")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Check-in & activities", level=1)).to_be_visible()
    expect(page.locator("#makeup")).to_have_text("20 points each, at most 2 per member per month")

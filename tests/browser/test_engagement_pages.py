"""The engagement pages in a real browser: 推荐有礼 shows the program's referral settings and
the funnel with rejections by reason (zh and en labels); 幸运抽奖 lists the draws, shows a
draw's prizes, commitment and stats, and reveals a closed draw's seed, which matches the
commitment, with the verify command."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import ROOT, Stack, axe_violations, shot
from tests.browser.test_console import sign_in

DRAW, LATER = "browser-draw", "browser-draw-later"


def referrals_on(stack: Stack) -> dict[str, Any]:
    """The live program with referrals on (published only when it is not already)."""
    code, live = stack.call("GET", "/admin/program", "admin")
    program = live["program"] if code == 200 else json.loads(
        (ROOT / "campaigns" / "program.json").read_text())
    program.pop("$schema", None)
    if code != 200 or not (program.get("referrals") or {}).get("enabled"):
        program["referrals"] = json.loads(
            (ROOT / "campaigns" / "program.json").read_text())["referrals"]
        code, body = stack.call("PUT", "/admin/program", "admin", program)
        assert code == 200, body
    return dict(program["referrals"])


def a_referral_and_a_rejection(stack: Stack) -> dict[str, Any]:
    """m-br-0 invites: one friend signs up with the code, another with an unknown code."""
    settings = referrals_on(stack)
    code, me = stack.call("GET", "/me/referral", "member")
    assert code == 200, me
    for member_id, referral_code, state in [("m-br-ref-1", me["code"], "signed_up"),
                                            ("m-br-ref-2", "ZZZZZZZZ", "rejected")]:
        code, body = stack.call("POST", "/members", "service",
                                {"member_id": member_id, "name": "张三"})
        assert code in (201, 409), body
        code, body = stack.call("POST", "/referrals/signups", "service",
                                {"member_id": member_id, "referral_code": referral_code})
        assert code == 200 and body["state"] == state, body
    return settings


def draw_doc(draw_id: str, opens: datetime, closes: datetime) -> dict[str, Any]:
    return {"id": draw_id, "name": {"zh": "浏览器测试抽奖", "en": "Browser test draw"},
            "window": {"opens_at": opens.isoformat(), "closes_at": closes.isoformat()},
            "entry": {"cost_points": 10}, "limits": {"per_day": 5, "total": 10},
            "budget": {"points": 1000},
            "prizes": [{"id": "p20", "kind": "points", "name": {"zh": "20 积分", "en": "20 pts"},
                        "amount": 20, "weight": 50, "stock": 5},
                       {"id": "thanks", "kind": "none", "name": {"zh": "谢谢参与",
                                                                 "en": "Thanks"},
                        "weight": 50}]}


def a_closed_draw_with_entries(stack: Stack) -> dict[str, Any]:
    """A draw entered twice while open, then closed (the closing time may still change)."""
    now = datetime.now(UTC).replace(microsecond=0)
    doc = draw_doc(DRAW, now - timedelta(hours=1), now + timedelta(hours=1))
    code, body = stack.call("PUT", f"/admin/draws/{DRAW}", "marketer", doc)
    assert code == 200, body
    code, body = stack.call("POST", "/admin/members/m-br-0/points", "admin",
                            {"delta": 20, "reason": "browser test draw entries"})
    assert code == 201, body
    for _ in range(2):
        code, body = stack.call("POST", f"/me/draws/{DRAW}/entries", "member")
        assert code == 201, body
    doc["window"]["closes_at"] = (now - timedelta(seconds=1)).isoformat()
    code, rec = stack.call("PUT", f"/admin/draws/{DRAW}", "marketer", doc)
    assert code == 200, rec
    later = draw_doc(LATER, now + timedelta(days=30), now + timedelta(days=31))
    code, body = stack.call("PUT", f"/admin/draws/{LATER}", "marketer", later)
    assert code == 200, body
    return dict(rec)


def test_referral_settings_and_figures(page: Any, stack: Stack) -> None:
    settings = a_referral_and_a_rejection(stack)
    _, stats = stack.call("GET", "/admin/referrals/stats", "marketer")
    sign_in(page)
    page.get_by_role("link", name="推荐有礼", exact=True).click()
    expect(page.get_by_role("heading", name="推荐有礼", level=1)).to_be_visible()
    box = page.locator("#referral-settings")
    expect(box).to_contain_text("已开启")
    expect(box).to_contain_text(settings["share_url"])
    expect(box).to_contain_text(f"每位推荐人每月 {settings['monthly_cap']} 人")
    for kpi in ("invites", "signups", "rejected"):
        expect(page.locator(f"[data-kpi={kpi}] .big")).to_have_text(f"{stats[kpi]:,}")
    assert stats["signups"] >= 1 and stats["rejected_by_reason"]["UNKNOWN_CODE"] >= 1
    row = page.locator("tr[data-reason=UNKNOWN_CODE]")
    expect(row).to_contain_text("邀请码不存在")
    expect(row.locator("td.num")).to_have_text(str(stats["rejected_by_reason"]["UNKNOWN_CODE"]))
    expect(page.locator("tr[data-reason=REFERRER_CAP] td.num")).to_have_text(
        str(stats["rejected_by_reason"].get("REFERRER_CAP", 0)))
    shot(page, "referrals")
    assert axe_violations(page) == []
    page.get_by_role("button", name="English").click()
    expect(row).to_contain_text("Unknown referral code")
    expect(page.get_by_role("heading", name="Referral settings")).to_be_visible()


def test_draws_list_detail_and_reveal(page: Any, stack: Stack) -> None:
    rec = a_closed_draw_with_entries(stack)
    _, stats = stack.call("GET", f"/admin/draws/{DRAW}/stats", "marketer")
    sign_in(page)
    page.get_by_role("link", name="幸运抽奖", exact=True).click()
    expect(page.get_by_role("heading", name="幸运抽奖", level=1)).to_be_visible()
    expect(page.locator(f"tr[data-draw={DRAW}]")).to_contain_text("已结束")
    expect(page.locator(f"tr[data-draw={LATER}]")).to_contain_text("未开始")
    assert axe_violations(page) == []
    page.locator(f"tr[data-draw={DRAW}]").get_by_role("link").click()
    expect(page.get_by_role("heading", name="浏览器测试抽奖")).to_be_visible()
    expect(page.locator("#commitment")).to_have_text(rec["commitment"])
    expect(page.locator("#draw-entries")).to_have_text("2")
    won = {p["id"]: p["won"] for p in stats["prizes"]}
    assert sum(won.values()) == 2
    expect(page.locator("[data-won=p20]")).to_have_text(str(won["p20"]))
    expect(page.locator("tr[data-prize=p20]")).to_contain_text("50.00%")
    assert axe_violations(page) == []
    page.get_by_role("button", name="公开种子").click()
    expect(page.get_by_role("status")).to_contain_text(DRAW)
    seed = page.locator("#seed-value").inner_text()
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == rec["commitment"]
    expect(page.locator("#seed-check")).to_contain_text("一致")
    expect(page.locator("#verify-cmd")).to_have_text(f"perks draws verify {DRAW}")
    shot(page, "draws")
    assert axe_violations(page) == []
    _, shown = stack.call("GET", f"/draws/{DRAW}", "member")
    assert shown["seed"] == seed and shown["revealed_at"]
    page.goto(f"/#/draws/{LATER}")
    expect(page.locator("#draw-seed")).to_contain_text("抽奖结束")
    expect(page.get_by_role("button", name="公开种子")).to_have_count(0)

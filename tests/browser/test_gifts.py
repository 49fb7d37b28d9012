"""The gift fulfilment queue in a real browser: a redeemed gift waits in 待发货, an operator
ships it with carrier and tracking number, it moves to 已发货 and the member sees the parcel."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import ROOT, Stack, axe_violations, shot
from tests.browser.test_console import sign_in


def a_redeemed_gift(stack: Stack) -> str:
    code, live = stack.call("GET", "/admin/program", "admin")
    program = live["program"] if code == 200 else json.loads(
        (ROOT / "campaigns" / "program.json").read_text())
    program.pop("$schema", None)
    gift = {"id": "browser-gift", "name": "浏览器测试礼品", "kind": "gift",
            "gift_sku": "GIFT-BROWSER", "cost_points": 10}
    program["rewards"] = [r for r in program["rewards"] if r["id"] != gift["id"]] + [gift]
    code, body = stack.call("PUT", "/admin/program", "admin", program)
    assert code == 200, body
    code, body = stack.call("POST", "/admin/members/m-br-0/points", "admin",
                            {"delta": gift["cost_points"], "reason": "browser test gift"})
    assert code == 201, body
    code, body = stack.call("POST", f"/me/rewards/{gift['id']}/redeem", "member")
    assert code == 201, body
    return str(body["redemption_id"])


def test_an_operator_ships_a_gift_from_the_queue(page: Any, stack: Stack) -> None:
    fid = a_redeemed_gift(stack)
    sign_in(page)
    page.get_by_role("link", name="礼品履约", exact=True).click()
    expect(page.get_by_role("heading", name="礼品履约队列")).to_be_visible()
    page.get_by_role("button", name=f"处理 {fid}").click()
    page.get_by_label("快递公司").fill("顺丰速运")
    page.get_by_label("运单号").fill("SF1234567890")
    shot(page, "gifts")
    assert axe_violations(page) == []
    page.get_by_role("button", name="确认发货").click()
    expect(page.get_by_role("status")).to_contain_text(fid)
    page.get_by_label("状态").select_option("shipped")
    expect(page.locator("#gifts")).to_contain_text("SF1234567890")
    _, mine = stack.call("GET", "/me/gifts", "member")
    got = next(g for g in mine["gifts"] if g["fulfilment_id"] == fid)
    assert (got["status"], got["carrier"], got["tracking_number"]) == (
        "shipped", "顺丰速运", "SF1234567890")

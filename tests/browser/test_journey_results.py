"""A journey's results page in a real browser: members entered and waiting at each step, from
the sharded step counters, after a scheduled journey has fired."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from tests.browser.conftest import ROOT, Stack, axe_violations, shot

CID = "journey-br"
N = 3


def _journey() -> dict[str, Any]:
    inbox = {"type": "message", "channels": ["inbox"], "content": {
        "zh-CN": {"title": "欢迎来到旅程", "body": "第一步"},
        "en": {"title": "Welcome to the journey", "body": "Step one"}}}
    return {
        "id": CID, "name": "三天旅程演示", "status": "active",
        "window": {"start": "2025-01-01T00:00:00+08:00"},
        "trigger": {"type": "once", "at": "2025-05-01T09:00:00+08:00"},
        "audience": {"all": [{"attr": "attributes.journey_demo", "op": "eq", "value": True}]},
        "delivery": {"quiet_hours": None},
        "journey": {"steps": [
            {"id": "hello", "type": "action", "actions": [inbox]},
            {"id": "three-days", "type": "wait", "days": 3, "at": "10:00"},
            {"id": "again", "type": "action", "actions": [inbox]}]}}


def _run(stack: Stack) -> None:
    code, body = stack.call("PUT", f"/admin/campaigns/{CID}", "admin", _journey())
    assert code == 200, body
    for i in range(N):
        code, body = stack.call("POST", "/members", "service", {
            "member_id": f"m-jr-{i}", "name": f"旅程{i}", "timezone": "Asia/Shanghai",
            "locale": "zh-CN", "attributes": {"journey_demo": True}})
        assert code in (201, 409), body
    env = {k: v for k, v in os.environ.items() if k not in (
        "DYNAMODB_ENDPOINT_URL", "PERKS_STAGE", "TABLE_NAME")}
    out = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "campaigns", "run", CID, "--at",
         "2025-05-01T09:00:00+08:00", "--stack-dir", stack.data_dir],  # type: ignore[attr-defined]
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_results_page_shows_how_many_members_are_at_each_step(page: Any, stack: Stack
                                                                   ) -> None:
    _run(stack)
    code, api = stack.call("GET", f"/admin/campaigns/{CID}/results", "marketer")
    assert code == 200, api
    j = api["journey"]
    assert (j["entered"], j["active"], j["completed"]) == (N, N, 0), j
    page.goto("/#/signin")
    page.select_option("#role", "marketer")
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/#/campaigns")
    page.goto(f"/#/results/{CID}")
    page.wait_for_selector("#journey-steps")
    assert page.get_by_role("heading", name="各步骤人数").is_visible()
    assert page.locator("[data-kpi=journey-entered] .big").inner_text() == str(N)
    wait = page.locator("#journey-steps tr[data-step='three-days']")
    assert wait.locator("td[data-col=at]").inner_text() == str(N)
    assert wait.locator("td[data-col=reached]").inner_text() == str(N)
    assert page.locator("#journey-steps tr[data-step='again'] td[data-col=reached]"
                        ).inner_text() == "0"
    assert axe_violations(page) == []
    shot(page, "results-journey")
    page.click("#lang")
    assert page.get_by_role("heading", name="Journey: members per step").is_visible()
    page.click("#lang")

"""Results per arm in a real browser: rows with 95 % intervals for each variant and the
holdout, and the sample-ratio-mismatch banner when the split no longer matches the counts
(the variant weights were changed after members had been assigned)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from tests.browser.conftest import ROOT, Stack, axe_violations, shot

CID = "srm-br"
DAY = "2025-04-20"
N = 80


def _campaign(weights: tuple[int, int]) -> dict[str, Any]:
    return {
        "id": CID, "name": "分流检查演示", "status": "active",
        "window": {"start": "2025-01-01T00:00:00+08:00"},
        "trigger": {"type": "birthday", "at": "09:00", "local_time": True},
        "actions": [{"type": "message", "channels": ["inbox"],
                     "content": {"zh-CN": {"title": "生日快乐", "body": "祝你生日快乐"},
                                 "en": {"title": "Happy birthday", "body": "Have a great day"}}}],
        "delivery": {"quiet_hours": None},
        "experiment": {"holdout_percent": 10, "variants": [
            {"id": "A", "weight": weights[0]}, {"id": "B", "weight": weights[1]}]}}


def _signin(page: Any) -> None:
    page.goto("/#/signin")
    page.select_option("#role", "marketer")
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/#/campaigns")


def _run(stack: Stack) -> None:
    code, body = stack.call("PUT", f"/admin/campaigns/{CID}", "admin", _campaign((1, 1)))
    assert code == 200, body
    for i in range(N):
        code, body = stack.call("POST", "/members", "service", {
            "member_id": f"m-srm-{i:02d}", "name": f"会员{i}", "birthday": "1991-04-20",
            "timezone": "Asia/Shanghai", "locale": "zh-CN"})
        assert code in (201, 409), body
    env = {k: v for k, v in os.environ.items() if k not in (
        "DYNAMODB_ENDPOINT_URL", "PERKS_STAGE", "TABLE_NAME")}
    out = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "campaigns", "run", CID, "--at",
         f"{DAY}T09:00:00+08:00", "--stack-dir", stack.data_dir],  # type: ignore[attr-defined]
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    # the split is changed afterwards: A:B was 1:1 when the members were assigned
    code, body = stack.call("PUT", f"/admin/campaigns/{CID}", "admin", _campaign((1, 9)))
    assert code == 200, body


def test_per_arm_rows_and_the_srm_banner(page: Any, stack: Stack) -> None:
    _run(stack)
    code, api = stack.call("GET", f"/admin/campaigns/{CID}/results?from={DAY}&to={DAY}",
                           "marketer")
    assert code == 200, api
    assert api["srm"]["flagged"] and api["srm"]["status"] == "mismatch", api["srm"]
    _signin(page)
    page.goto(f"/#/results/{CID}")
    page.fill("#from", DAY)
    page.fill("#to", DAY)
    page.press("#to", "Enter")
    page.wait_for_selector(f"#results-body[data-range='{DAY}..{DAY}'] #arms")
    banner = page.locator("#srm[role=alert]")
    assert "分流比例异常" in banner.inner_text() and "样本比例不匹配" in banner.inner_text()
    assert page.locator("#srm span[lang=zh-CN]").is_visible()
    assert not page.locator("#srm span[lang=en]").is_visible()
    for arm in api["arms"]:
        row = page.locator(f"#arms tr[data-arm='{arm['arm']}']")
        assert row.locator("td").first.inner_text() == str(arm["members"])
        conv = row.locator("td[data-col=conversion]").inner_text()
        assert conv.startswith(f"{arm['conversion']['rate'] * 100:.1f}%") and "[" in conv
    assert [r["arm"] for r in api["arms"]] == ["A", "B", "holdout"]
    assert axe_violations(page) == []
    shot(page, "results-srm")
    # English: the same banner in English, without a new request
    page.click("#lang")
    assert page.locator("#srm span[lang=en]").is_visible()
    assert "split looks broken" in banner.inner_text()
    assert "Sample ratio mismatch" in banner.inner_text()
    assert "样本比例不匹配" not in banner.inner_text()
    assert "Per arm (95% intervals)" in page.inner_text("#results-body")
    page.click("#lang")

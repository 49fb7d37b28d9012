"""Results page and the list's live columns in a real browser, after `perks campaigns run`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.browser.conftest import ROOT, Stack, axe_violations, shot

CID = "results-br"
DAY = "2025-03-15"
CAMPAIGN = {
    "id": CID, "name": "生日效果演示", "status": "active",
    "window": {"start": "2025-01-01T00:00:00+08:00"},
    "trigger": {"type": "birthday", "at": "09:00", "local_time": True},
    "actions": [{"type": "message", "channels": ["inbox"],
                 "content": {"zh-CN": {"title": "生日快乐", "body": "祝你生日快乐"},
                             "en": {"title": "Happy birthday", "body": "Have a great day"}}}],
    "delivery": {"quiet_hours": None},
    "experiment": {"holdout_percent": 0, "variants": [{"id": "A", "weight": 1},
                                                      {"id": "B", "weight": 1}]},
}


def _signin(page: Any, role: str = "marketer") -> None:
    page.goto("/#/signin")
    page.select_option("#role", role)
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/#/campaigns")


def _run(stack: Stack) -> dict[str, Any]:
    code, body = stack.call("PUT", f"/admin/campaigns/{CID}", "admin", CAMPAIGN)
    assert code == 200, body
    env = {k: v for k, v in os.environ.items() if k not in (
        "DYNAMODB_ENDPOINT_URL", "PERKS_STAGE", "TABLE_NAME")}
    out = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "campaigns", "run", CID, "--at",
         f"{DAY}T09:00:00+08:00", "--stack-dir", stack.data_dir],  # type: ignore[attr-defined]
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    code, got = stack.call("GET", f"/admin/campaigns/{CID}/results?from={DAY}&to={DAY}",
                           "marketer")
    assert code == 200, got
    assert got["totals"]["delivered"] >= 1, (out.stdout, got)  # 王小明's birthday
    return got


def test_results_page_shows_what_the_api_reports_after_a_run(page: Any, stack: Stack) -> None:
    api = _run(stack)
    _signin(page)
    # the list's live columns: the 7-day sparkline links to the results page
    page.fill("#search", CID)
    row = page.locator("table.list tbody tr", has_text=CID)
    assert row.locator("td.next").inner_text().strip() != ""
    assert row.locator("td.budget").inner_text().strip() != ""
    page.goto(f"/#/results/{CID}")
    page.fill("#from", DAY)
    page.fill("#to", DAY)
    page.press("#to", "Enter")  # keyboard: the range form submits on Enter
    page.wait_for_selector(f"#results-body[data-range='{DAY}..{DAY}'] #days [data-total]")
    t = api["totals"]
    for col in ("targeted", "delivered", "held_out", "coupons_redeemed"):
        assert page.inner_text(f"#days [data-total={col}]") == str(t[col]), col
    assert page.inner_text("[data-kpi=delivered] .big") == str(t["delivered"])
    arms = {v["variant"]: v for v in api["variants"]}
    assert set(arms) == {"A", "B"}
    table = page.inner_text("#variants")
    for arm, v in arms.items():
        assert arm in table and str(v["delivered"]) in table
    verdict = page.get_attribute("[data-kpi=verdict] [data-verdict]", "data-verdict")
    assert verdict == api["lift"]["verdict"]
    page.wait_for_selector("#chart-daily canvas")
    page.wait_for_selector("#chart-suppressed canvas")
    assert axe_violations(page) == []
    shot(page, "results")
    # CSV download: a file named after the campaign and range, with the same totals
    with page.expect_download() as dl:
        page.click("#csv")
    d = dl.value
    assert d.suggested_filename == f"{CID}-results-{DAY}-{DAY}.csv"
    lines = Path(d.path()).read_text(encoding="utf-8").splitlines()
    header, total = lines[0].split(","), lines[-1].split(",")
    assert total[0] == "total" and total[header.index("delivered")] == str(t["delivered"])
    # English, and a tablet width
    page.click("#lang")
    assert "Verdict" in page.inner_text("#variants thead")
    page.set_viewport_size({"width": 820, "height": 1180})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.click("#lang")


def test_campaign_list_live_columns(page: Any, stack: Stack) -> None:
    _signin(page)
    page.wait_for_selector("table.list tbody tr")
    spark = page.locator("svg.spark").first
    assert spark.get_attribute("aria-label")
    assert axe_violations(page) == []
    shot(page, "campaigns-live-columns")

"""The campaign list at scale (bench/console.py measures it): the first page shows while the
rest stream in, at most 100 rows are in the DOM until "show more", search covers them all.

The API pages are played by the test (Playwright routes) so it can hold a page back and look
at the screen in between; the local stack's own campaigns stay as the other tests expect.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import Stack, axe_violations

TOTAL = 250


def _summary(i: int) -> dict[str, Any]:
    return {"campaign_id": f"bench-{i:04d}", "name": f"Bench campaign {i:04d}",
            "status": "draft", "version": 1, "trigger_type": "once",
            "updated_at": "2026-11-30T08:00:00.000Z"}


def test_the_first_page_shows_while_the_rest_load_and_rows_are_capped(page: Any,
                                                                        stack: Stack) -> None:
    held: list[Any] = []

    def pages(route: Any) -> None:
        q = parse_qs(urlsplit(route.request.url).query)
        start = int(q.get("cursor", ["0"])[0])
        end = min(start + int(q["limit"][0]), TOTAL)
        body = json.dumps({"items": [_summary(i) for i in range(start, end)],
                           "next_cursor": str(end) if end < TOTAL else None})
        respond = lambda: route.fulfill(status=200, content_type="application/json",  # noqa: E731
                                        body=body)
        if start:
            held.append(respond)  # later pages wait until the test lets them go
        else:
            respond()

    page.route("**/api/admin/campaigns?*", pages)
    page.context.add_init_script(
        f"sessionStorage.setItem('perks.console.token', {json.dumps(stack.tokens['marketer'])})")
    page.goto("/#/campaigns")
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(100)
    expect(page.locator("#count")).to_contain_text("已加载 100 个活动")
    expect(page.locator("#count")).to_contain_text("继续加载中")
    expect(page.get_by_role("link", name="Bench campaign 0099")).to_be_visible()
    assert held, "the second page was not requested"
    # Release each held page as it is asked for: the next request only comes once the
    # previous page has rendered, which on a loaded machine can take longer than any pause.
    count = page.locator("#count")
    for _ in range(600):
        if held:
            held.pop(0)()
        elif count.text_content() == f"共 {TOTAL} 个活动":
            break
        page.wait_for_timeout(50)
    expect(count).to_have_text(f"共 {TOTAL} 个活动")
    expect(rows).to_have_count(100)  # the DOM holds one screen, not every campaign
    more = page.get_by_role("button", name="还有 150 个")
    more.focus()
    page.keyboard.press("Enter")
    expect(rows).to_have_count(200)
    page.get_by_role("button", name="还有 50 个").click()
    expect(rows).to_have_count(TOTAL)
    expect(page.locator("#more")).to_be_hidden()
    page.get_by_label("搜索").fill("bench-0242")  # beyond the first page
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bench campaign 0242")
    assert axe_violations(page) == []

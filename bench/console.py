"""The marketer console's figures, measured in a real browser against the local stack.

    python bench/console.py [--runs 5] [--campaigns 10 1000]

Starts the local stack (``python -m chalicelib.local.stack``: DynamoDB Local, the API and
the console server on free ports, a throwaway data directory), loads campaigns straight
through the campaign service and repository (no HTTP), and drives Debian's chromium with
Playwright, signed in as a marketer (token put in sessionStorage before the page loads):

- initial JavaScript: every script the campaign list page loads, gzip -9 (goal <= 350 KB);
  the editor chunk must not be among them (it loads on opening a campaign, checked too);
- campaign list interactive: from navigation start until the first screen of rows (the
  first 100, or all when fewer) is in the table and the page has a frame to spare for input
  (median of ``--runs`` fresh page loads), with 10 and with 1,000 campaigns (goal: 1,000 <=
  2x of 10). Also reported: until every campaign is loaded (the rest stream in behind the
  first page), and a search keystroke over all of them.

Needs /usr/bin/chromium (make chromium), Java for DynamoDB Local, and console/dist
(make console).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import common  # noqa: F401  (repo root on sys.path)

from tests.fuzz.stack import free_ports, stage_tokens

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
GOAL_JS_KB = 350
GOAL_RATIO = 2.0
FIRST_SCREEN = 100  # rows the list renders before "show more" (console/src/campaigns.ts)


@contextmanager
def local_stack() -> Iterator[tuple[str, str, int]]:
    """(api url, console url, DynamoDB Local port) of a fresh local stack."""
    api, console, ddb, moto = free_ports(4)
    data = tempfile.mkdtemp(prefix="perks-bench-console-")
    log = Path(data) / "stack.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    for k in ("DYNAMODB_ENDPOINT_URL", "JWT_SECRET", "JWT_ISSUER", "JWT_AUDIENCE",
              "JWT_ALGORITHM", "PERKS_STAGE", "TABLE_NAME"):
        env.pop(k, None)  # the dev stage's own settings, as `make run` has them
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local.stack", "--port", str(api),
             "--console-port", str(console), "--ddb-port", str(ddb), "--moto-port", str(moto),
             "--data-dir", data], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while b"Perks local stack is up" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the local stack did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        if b"WARNING: DynamoDB Local" in log.read_bytes():
            raise SystemExit("DynamoDB Local did not start (Java 17 needed)")
        yield f"http://127.0.0.1:{api}", f"http://127.0.0.1:{console}", ddb
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


def load_campaigns(ddb_port: int, first: int, last: int) -> None:
    """Campaigns bench-<first>..bench-<last - 1>, through the service into the stack's table."""
    from chalicelib import bootstrap, config
    from chalicelib.domain.campaigns.validate import parse_campaign
    from chalicelib.local.stack import stage_env
    from chalicelib.services.campaigns import campaigns

    os.environ.update(stage_env("dev", {"DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{ddb_port}"}))
    config.reset()
    bootstrap.reset()  # the services, wired afresh on the stack's table
    base = json.loads((ROOT / "campaigns" / "double11.json").read_text())
    base.pop("$schema", None)
    for i in range(first, last):
        doc = {**base, "id": f"bench-{i:04d}", "name": f"Bench campaign {i:04d} 压测活动",
               "status": "draft"}
        campaigns.put(doc["id"], parse_campaign(doc), "bench")


def _browser() -> Any:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    return pw, pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def _context(browser: Any, console: str, token: str) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                              base_url=console)
    ctx.add_init_script(f"sessionStorage.setItem('perks.console.token', {json.dumps(token)})")
    return ctx


def list_load(browser: Any, console: str, token: str, expected: int) -> dict[str, Any]:
    """One fresh page load of the campaign list: ms until interactive, scripts loaded."""
    ctx = _context(browser, console, token)
    page = ctx.new_page()
    scripts: dict[str, bytes] = {}

    def on_response(resp: Any) -> None:
        if resp.request.resource_type == "script":
            scripts[resp.url.rsplit("/", 1)[-1]] = resp.body()

    page.on("response", on_response)
    page.goto("/#/campaigns")
    # Interactive: the first screen of rows is in the table and a frame is spare for input.
    page.wait_for_function(
        "n => document.querySelectorAll('table.list tbody tr').length >= n && "
        "new Promise(r => requestAnimationFrame(() => setTimeout(() => "
        "r(window.__ready = performance.now()), 0)))", arg=min(expected, FIRST_SCREEN),
        timeout=120_000)
    ready = page.evaluate("window.__ready")
    # Complete: every page loaded (the count says "N campaigns", not "loading").
    page.wait_for_function(
        "() => document.getElementById('count')?.dataset.i18n === 'campaigns.count' && "
        "(window.__done = performance.now())", timeout=120_000)
    done = page.evaluate("window.__done")
    total = page.evaluate("JSON.parse(document.getElementById('count').dataset.i18nArgs).n")
    rows = page.locator("table.list tbody tr").count()
    keystroke = page.evaluate("""() => new Promise(resolve => {
        const s = document.getElementById('search'); const t0 = performance.now();
        s.value = 'bench-0007'; s.dispatchEvent(new Event('input'));
        requestAnimationFrame(() => resolve(performance.now() - t0)); })""")
    ctx.close()
    return {"ms": ready, "all_ms": done, "total": total, "rows": rows,
            "keystroke_ms": keystroke, "scripts": scripts}


def editor_chunk(browser: Any, console: str, token: str) -> list[str]:
    """Scripts that load on opening a campaign (the lazy editor)."""
    ctx = _context(browser, console, token)
    page = ctx.new_page()
    names: list[str] = []
    page.on("response", lambda r: names.append(r.url.rsplit("/", 1)[-1])
            if r.request.resource_type == "script" else None)
    page.goto("/#/campaigns")
    page.wait_for_selector("table.list tbody tr")
    before = len(names)
    page.goto("/#/campaigns/bench-0001")
    page.wait_for_selector(".cm-content", timeout=60_000)
    ctx.close()
    return names[before:]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--campaigns", type=int, nargs=2, default=[10, 1000])
    args = ap.parse_args(argv)
    small, large = args.campaigns
    for need, why in ((Path(CHROMIUM).exists(), "make chromium"),
                      ((ROOT / "console" / "dist" / "index.html").exists(), "make console")):
        if not need:
            raise SystemExit(f"missing: {why}")
    token = stage_tokens("dev")["marketer"]
    results: dict[int, list[dict[str, Any]]] = {}
    with local_stack() as (_, console, ddb):
        pw, browser = _browser()
        try:
            loaded = 0
            for n in (small, large):
                t0 = time.monotonic()
                with contextlib.redirect_stdout(io.StringIO()):  # powertools' EMF lines
                    load_campaigns(ddb, loaded, n)
                print(f"loaded {n - loaded} campaigns in {time.monotonic() - t0:.1f} s",
                      flush=True)
                loaded = n
                list_load(browser, console, token, n)  # warm-up: server and browser caches
                results[n] = [list_load(browser, console, token, n) for _ in range(args.runs)]
                print(f"{n} campaigns: interactive "
                      f"{[round(r['ms']) for r in results[n]]} ms, all loaded "
                      f"{[round(r['all_ms']) for r in results[n]]} ms, rows shown "
                      f"{results[n][0]['rows']}, keystroke "
                      f"{[round(r['keystroke_ms'], 1) for r in results[n]]} ms", flush=True)
            lazy = editor_chunk(browser, console, token)
        finally:
            browser.close()
            pw.stop()
    scripts = results[small][0]["scripts"]
    initial_kb = sum(len(gzip.compress(b, 9)) for b in scripts.values()) / 1024
    editor_on_list = sorted(n for n in scripts if n.startswith("editorPage"))
    editor_lazy = any(n.startswith("editorPage") for n in lazy)
    med = {n: statistics.median(r["ms"] for r in rs) for n, rs in results.items()}
    key = {n: statistics.median(r["keystroke_ms"] for r in rs) for n, rs in results.items()}
    full = {n: statistics.median(r["all_ms"] for r in rs) for n, rs in results.items()}
    ratio = med[large] / med[small]
    print(f"initial scripts: {sorted(scripts)} = {initial_kb:.1f} KB gzipped")
    print(f"opening a campaign loads: {lazy}")
    ok = (initial_kb <= GOAL_JS_KB and not editor_on_list and editor_lazy
          and ratio <= GOAL_RATIO and all(r["total"] == n for n, rs in results.items()
                                          for r in rs))
    parts = [f"initial JS gzipped KB={initial_kb:.1f} (goal <={GOAL_JS_KB})",
             f"editor chunk on the list page={len(editor_on_list)} (goal 0)",
             f"editor chunk loads on opening a campaign={int(editor_lazy)} (goal 1)",
             f"list interactive ms ({small})={med[small]:.0f} (goal report)",
             f"list interactive ms ({large})={med[large]:.0f} (goal report)",
             f"list {large} vs {small} ratio={ratio:.2f}x (goal <={GOAL_RATIO:g}x)",
             f"list all {large} loaded ms={full[large]:.0f} (goal report)",
             f"search keystroke ms ({large})={key[large]:.1f} (goal report)"]
    print(f"SUMMARY console: {', '.join(parts)} {'PASS' if ok else 'FAIL'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

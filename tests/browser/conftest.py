"""A real browser (Playwright driving Debian's chromium) against a local stack on free ports.

The stack is ``python -m chalicelib.local.stack`` with its console server, a throwaway data
directory and the sample campaigns loaded over the API. Without chromium, Java (DynamoDB
Local) or a built console the tests are skipped locally with the reason printed, and fail
under CI, where ``make test`` installs chromium and builds the console first.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.local import ddblocal
from tests.fuzz.stack import free_ports, stage_tokens

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = os.environ.get("PERKS_SCREENSHOTS")
# birthday-gift is loaded as a draft so the tests can publish it; the rest as written.
DRAFTS = {"birthday-gift"}
MEMBERS = [{"member_id": f"m-br-{i}", "name": n, "birthday": b, "timezone": tz, "locale": loc}
           for i, (n, b, tz, loc) in enumerate([
               ("王小明", "1990-03-15", "Asia/Shanghai", "zh-CN"),
               ("李娜", "1988-11-02", "Asia/Shanghai", "zh-CN"),
               ("Ada Lovelace", "1995-12-10", "Europe/London", "en-US")])]


def _need() -> None:
    reasons = [r for r in (
        None if Path(CHROMIUM).exists() else f"{CHROMIUM} is missing (make chromium)",
        ddblocal.unavailable_reason(),
        None if (ROOT / "console" / "dist" / "index.html").exists() else
        "console/dist is missing (make console)",
        None if AXE.exists() else "console/node_modules is missing (make console)") if r]
    if reasons:
        if os.environ.get("CI"):
            pytest.fail("browser tests need: " + "; ".join(reasons))
        print("\nSKIP browser tests: " + "; ".join(reasons))
        pytest.skip("; ".join(reasons))


class Stack:
    def __init__(self, api: str, console: str, tokens: dict[str, str]) -> None:
        self.api, self.console, self.tokens = api, console, tokens

    def call(self, method: str, path: str, role: str = "admin", body: Any = None) -> Any:
        req = urllib.request.Request(
            f"{self.api}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.tokens[role]}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def _load(stack: Stack) -> None:
    for m in MEMBERS:
        code, body = stack.call("POST", "/members", "service", m)
        assert code in (201, 409), body
    for path in sorted((ROOT / "campaigns").glob("*.json")):
        doc = json.loads(path.read_text())
        if "trigger" not in doc:
            continue  # schemas, the loyalty program
        if doc["id"] in DRAFTS:
            doc["status"] = "draft"
        code, body = stack.call("PUT", f"/admin/campaigns/{doc['id']}", "admin", doc)
        assert code == 200, (path.name, body)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    _need()
    api, console, ddb, moto = free_ports(4)
    data = tempfile.mkdtemp(prefix="perks-browser-")
    log = Path(data) / "stack.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    for k in ("DYNAMODB_ENDPOINT_URL", "JWT_SECRET", "JWT_ISSUER", "JWT_AUDIENCE",
              "JWT_ALGORITHM", "PERKS_STAGE"):
        env.pop(k, None)  # the dev stage's own settings, as `make run` has them
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chalicelib.local.stack", "--port", str(api),
             "--console-port", str(console), "--ddb-port", str(ddb), "--moto-port", str(moto),
             "--data-dir", data], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while b"Perks local stack is up" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the local stack did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        s = Stack(f"http://127.0.0.1:{api}", f"http://127.0.0.1:{console}",
                  stage_tokens("dev", member_sub="m-br-0"))
        s.data_dir = data  # type: ignore[attr-defined]  (the CLI finds the stack here)
        _load(s)
        yield s
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(stack: Stack) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    # bypass_csp: axe is injected as an inline script; the console itself never needs it.
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                              bypass_csp=True, base_url=stack.console)
    ctx.set_default_timeout(15_000)
    p = ctx.new_page()
    yield p
    ctx.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core findings on the current page (axe from node_modules)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                           ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
                           "nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def shot(page: Any, name: str) -> None:
    """docs/console/<name>.png when PERKS_SCREENSHOTS names the folder (make screenshots)."""
    if SHOTS:
        out = ROOT / SHOTS
        out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)

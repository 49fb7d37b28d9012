"""The README and the docs run as written: every ```bash block a reader can copy, README.md's
first and then every page of the docs site in its navigation order (mkdocs.yml), each top to
bottom, against one fresh local stack on free ports, must exit 0, and every HTTP call it
makes must answer 2xx unless the page states the status it expects.

A block preceded by ``<!-- not-run: reason -->`` is skipped (deploying to AWS, starting a
second stack, ...); every other block runs. The test adapts only what differs from a
developer's machine: ``localhost:8000`` becomes the test stack's port, ``.venv/bin/perks`` and
``.venv/bin/python -m chalicelib.local.runner`` run this checkout's CLI and runner pointed at
the test stack (``--stack-dir``), and a ``make run`` line stands for the stack the test
already started.

``curl`` runs through a shell function that records each call's status. A ``# 409 ...``
comment (on its own line right after the command, or at the end of the command's last line)
states the status of the last HTTP call before it: it must match, and it is the only way a
call may answer outside 2xx. Any other 4xx/5xx fails the block at the next call or at its end.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.stack import running_stack

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MKDOCS = ROOT / "mkdocs.yml"
NAV_PAGE = re.compile(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w./-]+\.md)\s*$")


def pages() -> list[Path]:
    """README.md, then the docs pages in the order of mkdocs.yml's nav (each once)."""
    out = [README]
    in_nav = False
    for line in MKDOCS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith((" ", "-")):
            in_nav = line.startswith("nav:")
            continue
        m = NAV_PAGE.match(line) if in_nav else None
        if m and ROOT / "docs" / m.group(1) not in out:
            out.append(ROOT / "docs" / m.group(1))
    return out
FENCE = re.compile(r"^```(\w*)\s*$")
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(.+?)\s*-->\s*$")
EXPECT = re.compile(r"^#\s*([1-5]\d\d)\b")


def blocks(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, code, skip reason or None) for every bash/sh block."""
    out: list[tuple[int, str, str | None]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1), i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        if lang in ("bash", "sh"):
            k = start - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            skip = NOT_RUN.match(lines[k]) if k >= 0 else None
            out.append((start + 1, "\n".join(lines[start + 1:j]),
                        skip.group(1) if skip else None))
        i = j + 1
    return out


TRAILING = re.compile(r"\s#\s*([1-5]\d\d)\b")
RUNNER = ".venv/bin/python -m chalicelib.local.runner"


def adapt(code: str, port: int) -> str:
    """The block as it runs here, with a status check after each ``# NNN`` comment."""
    out = []
    for line in code.splitlines():
        if re.match(r"^make run\b", line.strip()):
            continue  # the stack this test started
        line = line.replace("localhost:8000", f"localhost:{port}")
        line = line.replace(RUNNER, '"$RUNNER"').replace(".venv/bin/perks", '"$PERKS"')
        own = EXPECT.match(line.strip())
        trailing = None if own or line.rstrip().endswith("\\") else TRAILING.search(line)
        if own:
            out.append(f"expect_status {own.group(1)}")
        out.append(line)
        if trailing:
            out.append(f"expect_status {trailing.group(1)}")
    out.append("check_statuses")
    return "\n".join(out)


# STATUS_LOG gets "HTTP NNN" per call (written before curl returns, so no race with the next
# command) and "ACK NNN" when a comment stated the status; "UNSTATED" marks a violation even
# where a command substitution swallowed the failing exit.
PRELUDE = r"""
set -eo pipefail
: > "$STATUS_LOG"
unstated() {
  local last; last=$(tail -1 "$STATUS_LOG")
  case "$last" in "HTTP 2"*|ACK*|"") return 1 ;; HTTP*) return 0 ;; *) return 1 ;; esac
}
check_statuses() {
  if unstated; then
    echo "README: a call answered $(tail -1 "$STATUS_LOG") and no '# NNN' comment says so" >&2
    echo UNSTATED >> "$STATUS_LOG"
    exit 98
  fi
}
curl() {
  check_statuses
  local err rc=0
  err=$(mktemp)
  command curl --max-time 60 -w '%{stderr}HTTP %{http_code}\n' "$@" 2>"$err" || rc=$?
  grep -a '^HTTP [0-9]*$' "$err" | tail -1 >> "$STATUS_LOG" || true
  cat "$err" >&2
  rm -f "$err"
  return $rc
}
expect_status() {
  local got; got=$(grep -o '^HTTP [0-9]*' "$STATUS_LOG" | tail -1 | cut -d' ' -f2)
  if [ "$got" != "$1" ]; then echo "README expected $1, got $got" >&2; exit 97; fi
  echo "ACK $1" >> "$STATUS_LOG"
}
"""


def unstated(log: str) -> list[str]:
    """Calls that answered outside 2xx with no comment stating that status right after."""
    lines = log.splitlines()
    bad = []
    for n, line in enumerate(lines):
        if line.startswith("UNSTATED") or (
                line.startswith("HTTP ") and not line.startswith("HTTP 2")
                and (n + 1 >= len(lines) or lines[n + 1] != "ACK " + line.split()[1])):
            bad.append(line)
    return bad


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("readme-stack")
    with running_stack(None, startup_timeout=90, data_dir=str(data)) as base:
        deadline = time.monotonic() + 60
        while not (data / "stack.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        yield base, data


def _script(path: Path, module: str, data: Path) -> str:
    path.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m {module} '
                    f'--stack-dir "{data}" "$@"\n')
    path.chmod(0o755)
    return str(path)


def welcome_reached(base: str, env: dict[str, str], member_id: str, timeout: float = 30.0
                    ) -> bool:
    """The walkthrough's claim: within seconds of signing up, the welcome campaign has put a
    message in the member's inbox (stream → events → delivery, run by the stack's runner)."""
    import json
    import urllib.request

    token = subprocess.run([env["PERKS"], "token", "--role", "member", "--sub", member_id],
                           cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout.strip()  # the blocks' env: the stack's secret
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        req = urllib.request.Request(f"{base}/me/inbox",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            page = json.loads(resp.read())
        if any(m.get("campaign_id") == "welcome" for m in page["messages"]):
            return True
        time.sleep(0.5)
    return False


def test_unstated_statuses_are_found() -> None:
    assert unstated("HTTP 201\nHTTP 409\nACK 409\nHTTP 200\n") == []
    assert unstated("HTTP 201\nHTTP 404\nHTTP 200\n") == ["HTTP 404"]
    assert unstated("HTTP 400\n") == ["HTTP 400"]
    assert unstated("HTTP 409\nACK 404\n") == ["HTTP 409"]
    assert unstated("HTTP 503\nUNSTATED\n") == ["HTTP 503", "UNSTATED"]


def test_adapt_checks_the_stated_statuses() -> None:
    code = ("curl -s localhost:8000/x -d '{}'   # 409 not enough points\n"
            "curl -s localhost:8000/y \\\n  -d '{}'\n# 201 {...}\n"
            ".venv/bin/python -m chalicelib.local.runner list\n")
    lines = adapt(code, 9).splitlines()
    assert lines[1] == "expect_status 409" and lines[4] == "expect_status 201"
    assert "localhost:9/x" in lines[0] and lines[6].startswith('"$RUNNER" list')
    assert lines[-1] == "check_statuses"


def test_the_pages_are_the_readme_then_the_docs_nav_in_order() -> None:
    found = pages()
    assert found[0] == README and len(found) >= 10
    names = [p.name for p in found]
    assert names.index("local-stack.md") < names.index("api.md") < names.index("delivery.md")
    # mkdocs --strict fails on a page missing from the nav; so does this, for runnable pages.
    runnable = {p for p in (ROOT / "docs").rglob("*.md")
                if any(not skip for _, _, skip in blocks(p.read_text(encoding="utf-8")))}
    assert not runnable - set(found), f"pages with runnable blocks outside the nav: {runnable}"


def test_the_readme_and_docs_blocks_run_top_to_bottom(stack: tuple[str, Path],
                                                      tmp_path: Path) -> None:
    base, data = stack
    port = int(base.rsplit(":", 1)[1])
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    status_log = tmp_path / "status.log"
    env.update(PERKS=_script(tmp_path / "perks", "chalicelib.cli", data),
               RUNNER=_script(tmp_path / "runner", "chalicelib.local.runner", data),
               STATUS_LOG=str(status_log))
    failures = []
    ran = 0
    runs = [(page.relative_to(ROOT), line, code)
            for page in pages() for line, code, skip in blocks(page.read_text(encoding="utf-8"))
            if not skip]
    for page, line, code in runs:
        ran += 1
        script = PRELUDE + adapt(code, port)
        t0 = time.monotonic()
        out = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=180, check=False)
        log = status_log.read_text() if status_log.exists() else ""
        statuses = re.findall(r"^HTTP (\d{3})", log, re.M)
        bad = unstated(log)
        if out.returncode != 0 or bad:
            failures.append(f"{page}:{line}: exit {out.returncode}, unstated {bad}\n"
                            f"{out.stdout[-1500:]}\n{out.stderr[-1500:]}")
        print(f"{page}:{line}: exit {out.returncode} in {time.monotonic() - t0:.1f}s, "
              f"statuses {statuses}")
        if "m-3" in code and '"member_id": "m-3"' in code and not welcome_reached(
                base, env, "m-3"):
            failures.append(f"{page}:{line}: no welcome message in m-3's inbox within 30 s")
    assert ran >= 10 and {p for p, _, _ in runs} >= {Path("README.md"), Path("docs/api.md")}
    assert not failures, "\n\n".join(failures)

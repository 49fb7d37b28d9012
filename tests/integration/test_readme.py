"""The README runs as written: every ```bash block, top to bottom, against a fresh local
stack on free ports, must exit 0 and never get a 5xx.

A block preceded by ``<!-- not-run: reason -->`` is skipped (deploying to AWS, starting a
second stack, ...); every other block runs. The test adapts only what differs from a
developer's machine: ``localhost:8000`` becomes the test stack's port, ``.venv/bin/perks``
runs this checkout's CLI pointed at the test stack (``--stack-dir``), and a ``make run``
line stands for the stack the test already started. ``# 201 ...``-style comments after a
command are checked against the status of the last HTTP call before them.
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


def adapt(code: str, port: int) -> str:
    """The block as it runs here, with a status check after each ``# NNN`` comment."""
    out = []
    for line in code.splitlines():
        if re.match(r"^make run\b", line.strip()):
            continue  # the stack this test started
        line = line.replace("localhost:8000", f"localhost:{port}")
        line = line.replace(".venv/bin/perks", '"$PERKS"')
        m = EXPECT.match(line.strip())
        if m:
            out.append(f'expect_status {m.group(1)}')
        out.append(line)
    return "\n".join(out)


PRELUDE = r"""
set -eo pipefail
: > "$STATUS_LOG"
curl() {
  command curl --max-time 60 -w '%{stderr}HTTP %{http_code}\n' "$@" \
    2> >(tee -a "$STATUS_LOG" >&2)
}
expect_status() {
  sleep 0.2
  got=$(grep -o 'HTTP [0-9]*' "$STATUS_LOG" | tail -1 | cut -d' ' -f2)
  if [ "$got" != "$1" ]; then echo "README expected $1, got $got" >&2; exit 97; fi
}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("readme-stack")
    with running_stack(None, startup_timeout=90, data_dir=str(data)) as base:
        deadline = time.monotonic() + 60
        while not (data / "stack.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        yield base, data


def test_the_readme_blocks_run_top_to_bottom(stack: tuple[str, Path], tmp_path: Path) -> None:
    base, data = stack
    port = int(base.rsplit(":", 1)[1])
    perks = tmp_path / "perks"
    perks.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m chalicelib.cli '
                     f'--stack-dir "{data}" "$@"\n')
    perks.chmod(0o755)
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(PERKS=str(perks), STATUS_LOG=str(tmp_path / "status.log"))
    failures = []
    ran = 0
    for line, code, skip in blocks(README.read_text(encoding="utf-8")):
        if skip:
            continue
        ran += 1
        script = PRELUDE + adapt(code, port)
        out = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=180, check=False)
        statuses = re.findall(r"HTTP (\d{3})", out.stderr)
        bad = [s for s in statuses if s.startswith("5")]
        if out.returncode != 0 or bad:
            failures.append(f"README.md:{line}: exit {out.returncode}, 5xx {bad}\n"
                            f"{out.stdout[-1500:]}\n{out.stderr[-1500:]}")
        print(f"README.md:{line}: exit {out.returncode}, statuses {statuses}")
    assert ran >= 10
    assert not failures, "\n\n".join(failures)

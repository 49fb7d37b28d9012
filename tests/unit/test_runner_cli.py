"""`python -m chalicelib.local.runner` reaches any running stack with the CLI's endpoint
options (--stack-dir, --ddb-url, --sqs-url, the stack.json state file) and says in one line
when no stack answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def runner(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "chalicelib.local.runner", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_runner_takes_the_cli_endpoint_options() -> None:
    out = runner("--help")
    assert out.returncode == 0
    for option in ("--stack-dir", "--ddb-url", "--sqs-url"):
        assert option in out.stdout


@pytest.mark.parametrize("cmd", [["fire", "plan-campaigns"], ["drain", "perks-dev-events"]])
def test_no_stack_answering_is_one_line_and_exit_1(cmd: list[str]) -> None:
    url = f"http://127.0.0.1:{_dead_port()}"
    out = runner("--ddb-url", url, "--sqs-url", url, *cmd)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert f"no Perks stack answers at {url}" in lines[0] and "make run" in lines[0]


def test_the_state_file_of_a_stack_is_where_the_runner_goes(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_dead_port()}"
    (tmp_path / "stack.json").write_text(json.dumps({
        "pid": os.getpid(), "stage": "dev", "api_url": "http://127.0.0.1:1",
        "dynamodb_url": url, "sqs_url": url, "sns_url": url}))
    out = runner("--stack-dir", str(tmp_path), "drain", "perks-dev-events")
    assert out.returncode == 1
    assert f"no Perks stack answers at {url} (DynamoDB, from the stack in {tmp_path}" \
        in out.stderr
    assert "Traceback" not in out.stderr


def test_a_stack_dir_without_a_running_stack_says_so(tmp_path: Path) -> None:
    out = runner("--stack-dir", str(tmp_path), "fire", "plan-campaigns")
    assert out.returncode == 1
    assert out.stderr.strip().startswith(f"error: no running Perks stack recorded in {tmp_path}")


def test_list_needs_no_stack() -> None:
    url = f"http://127.0.0.1:{_dead_port()}"
    out = runner("--ddb-url", url, "list")
    assert out.returncode == 0, out.stderr
    assert "plan-campaigns" in out.stdout

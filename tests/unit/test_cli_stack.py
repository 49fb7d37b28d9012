"""Every `perks` command that talks to a stack takes the same endpoint options, and says in
one line (exit 1, no traceback) when no stack answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACK_COMMANDS = [
    ["program", "sync"], ["program", "show"], ["coupons", "sync"],
    ["coupons", "codes", "double11", "--count", "1"],
    ["campaigns", "sync"], ["campaigns", "preview", "campaigns/birthday-gift.json"],
    ["campaigns", "run", "birthday-gift", "--at", "2026-03-01T09:00:00+08:00"],
    ["campaigns", "stats", "birthday-gift"], ["delivery", "tick"], ["delivery", "dlq"],
    ["outbox"],
]


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def perks(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_every_stack_command_accepts_the_endpoint_options() -> None:
    from chalicelib.cli import build_parser

    parser = build_parser()
    for cmd in STACK_COMMANDS:
        args = parser.parse_args([*cmd, "--stack-dir", "/x", "--ddb-url", "http://h:1",
                                  "--sqs-url", "http://h:2"])
        assert (args.stack_dir, args.ddb_url, args.sqs_url) == ("/x", "http://h:1",
                                                                "http://h:2"), cmd
        top = parser.parse_args(["--stack-dir", "/y", *cmd])
        assert top.stack_dir == "/y", cmd  # the global form is not overwritten


@pytest.mark.parametrize("cmd", [["program", "show"], ["outbox"], ["delivery", "dlq"],
                                 ["campaigns", "stats", "birthday-gift"]])
def test_no_stack_answering_is_one_line_and_exit_1(cmd: list[str]) -> None:
    url = f"http://127.0.0.1:{_dead_port()}"
    out = perks(*cmd, "--ddb-url", url, "--sqs-url", url)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert f"no Perks stack answers at {url}" in lines[0] and "make run" in lines[0]
    assert "Traceback" not in out.stderr


def test_the_state_file_of_a_running_stack_is_where_the_cli_goes(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_dead_port()}"
    (tmp_path / "stack.json").write_text(json.dumps({
        "pid": os.getpid(), "stage": "dev", "api_url": "http://127.0.0.1:1",
        "dynamodb_url": url, "sqs_url": url, "sns_url": url}))
    out = perks("program", "show", "--stack-dir", str(tmp_path))
    assert out.returncode == 1
    assert f"no Perks stack answers at {url} (DynamoDB, from the stack in {tmp_path}" \
        in out.stderr


def test_a_stack_dir_without_a_running_stack_says_so(tmp_path: Path) -> None:
    (tmp_path / "stack.json").write_text(json.dumps({"pid": 2 ** 22 + 12345}))  # no such pid
    out = perks("outbox", "--stack-dir", str(tmp_path))
    assert out.returncode == 1
    assert out.stderr.strip() == (f"error: no running Perks stack recorded in {tmp_path}/"
                                  "stack.json; start one with `make run` (or --data-dir DIR "
                                  "for another)")

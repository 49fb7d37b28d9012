"""`make run` is a real server: 200 clients connected at once are all answered, none reset,
no 5xx, and every order acknowledged with 201 can be read back.

chalice local's own server listens with a backlog of 5: the same burst had connections reset
and orders missing. The stack runs in a subprocess on free ports (DynamoDB Local when Java is
there, else moto), as `make run` starts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import burst
from tests.fuzz.stack import member_tokens, running_stack, stage_tokens

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = [f"m-srv-{i}" for i in range(5)]


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="module")
def stack(stack_dir: Path) -> Iterator[str]:
    with running_stack(None, startup_timeout=90, data_dir=str(stack_dir)) as base:
        # /health answers before the runner starts; stack.json is written once all is up.
        deadline = time.monotonic() + 60
        while not (stack_dir / "stack.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        yield base


def perks(*args: str) -> subprocess.CompletedProcess[str]:
    """`.venv/bin/perks ...` as a developer's shell runs it (none of the suite's env)."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_cli_reaches_a_second_stack_through_its_state_file(stack: str,
                                                               stack_dir: Path) -> None:
    state = json.loads((stack_dir / "stack.json").read_text())
    assert state["api_url"] == stack and state["dynamodb_url"].startswith("http://127.0.0.1:")
    synced = perks("program", "sync", "--stack-dir", str(stack_dir))
    assert synced.returncode == 0, synced.stderr
    assert "published program version" in synced.stdout or "unchanged" in synced.stdout
    shown = perks("--stack-dir", str(stack_dir), "program", "show")  # global form too
    assert shown.returncode == 0 and '"version"' in shown.stdout, shown.stderr
    urls = perks("outbox", "--json", "--ddb-url", state["dynamodb_url"],
                 "--sqs-url", state["sqs_url"])
    assert urls.returncode == 0, urls.stderr


def test_200_clients_at_once_are_all_answered_and_no_order_is_lost(stack: str) -> None:
    service = stage_tokens("dev")["service"]
    members = member_tokens("dev", MEMBERS)
    burst.seed_members(stack, service, MEMBERS)
    kinds = burst.plan(200)
    assert kinds.count("order") == 20
    r = burst.burst(stack, kinds, service, members, uuid.uuid4().hex[:8], timeout=45)
    assert r.held == 200
    assert (r.dropped, r.server_errors) == (0, 0), r.errors()
    assert [(c.kind, c.status) for c in r.unexpected] == []
    assert r.orders_created == 20
    assert r.orders_lost == []


def test_the_server_listens_with_a_large_backlog_and_bounded_threads() -> None:
    from chalicelib.local import serve

    assert serve.PerksHTTPServer.request_queue_size >= 1024
    assert serve.PerksHTTPServer.daemon_threads
    assert serve.MAX_CONNECTIONS >= 200


def test_boto3_objects_are_created_once_under_concurrency(moto_stack: str) -> None:
    """Many request threads asking for the table at once share one resource and one Table."""
    from chalicelib.adapters import aws

    aws.reset()
    got: list[object] = []
    start = threading.Barrier(32)

    def ask() -> None:
        start.wait()
        got.append((aws.table(), aws.client("dynamodb"), aws.dynamodb_resource()))

    threads = [threading.Thread(target=ask) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(t) for t, _, _ in got}) == 1
    assert len({id(c) for _, c, _ in got}) == 1
    assert len({id(r) for _, _, r in got}) == 1


def test_the_idempotency_layer_is_configured_before_any_request_uses_it(
        moto_stack: str) -> None:
    """Powertools marks a layer configured before it sets the key paths; a request racing the
    first one must never see a layer without them."""
    from chalicelib.api import idempotency

    idempotency.reset()
    layer = idempotency._persistence()
    assert layer.configured
    assert layer.event_key_jmespath == "scope"
    assert layer.payload_validation_enabled

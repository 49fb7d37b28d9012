"""Fixtures: moto in-process for speed, DynamoDB Local for the real engine.

Integration tests take the ``engine`` fixture and run once per engine. DynamoDB Local is
started once per session; without Java the leg is skipped with a printed reason, except
under CI (CI=true), where a missing engine fails the run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "PERKS_STAGE": "test",
    "JWT_ALGORITHM": "HS256",
    "JWT_SECRET": "perks-test-secret-not-for-production",
    "DEVICE_ID_SECRET": "perks-test-device-id-secret",
    "JWT_ISSUER": "perks-local",
    "JWT_AUDIENCE": "perks",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "perks",
    "POWERTOOLS_DEV": "false",
    "POWERTOOLS_LOG_LEVEL": "INFO",
})
os.environ.pop("DYNAMODB_ENDPOINT_URL", None)

ENGINES = ["moto", "dynamodb-local"]

from tests import moto_atomic  # noqa: E402  (after the environment above)

moto_atomic.install()  # each moto DynamoDB request applies atomically, as on AWS


class _LogCapture(logging.Handler):
    """Every log record of the whole run (INFO and up), for the privacy scan at the end."""

    lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            extras = " ".join(f"{k}={v}" for k, v in record.__dict__.items()
                              if k not in _STD_ATTRS)
            self.lines.append(f"{record.name} {record.getMessage()} {extras} "
                              f"{record.exc_text or ''}")
        except Exception:
            self.lines.append(f"{record.name} <unformattable>")


_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message",
                                                                           "asctime"}
LOG_CAPTURE = _LogCapture(level=logging.INFO)
# Separate instances: powertools puts a SuppressFilter for its own records on root handlers.
logging.getLogger().addHandler(_LogCapture(level=logging.INFO))
logging.getLogger("perks").addHandler(LOG_CAPTURE)


@contextlib.contextmanager
def pii_logged_on_purpose() -> Iterator[None]:
    """For a test that logs personal data to check redaction: what it logs is dropped from the
    capture the session's privacy scan reads."""
    start = len(_LogCapture.lines)
    try:
        yield
    finally:
        del _LogCapture.lines[start:]


# What ran, for the session checks: tests that drive the HTTP handlers (which log every
# request) and fuzz cases. Counted in the call phase, so skipped tests do not count.
_RAN: dict[str, int] = {"logging": 0, "fuzz": 0}
_SESSION_PROBLEMS: list[str] = []


def pytest_runtest_call(item: pytest.Item) -> None:
    from tests.session_checks import FUZZ_TEST, LOGGING_FIXTURES

    if LOGGING_FIXTURES & set(getattr(item, "fixturenames", ())):
        _RAN["logging"] += 1
    if item.name.split("[")[0] == FUZZ_TEST:
        _RAN["fuzz"] += 1


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The privacy scan and the fuzz statistics run after every selection and order; a
    problem fails the run (exit status 1) even when every test passed."""
    import sys

    from tests.session_checks import fuzz_problems, privacy_problems

    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return  # interrupted, usage error, nothing collected: nothing to judge
    problems = privacy_problems(_LogCapture.lines, SENT_PII, _RAN["logging"])
    fuzz = sys.modules.get("tests.fuzz.test_fuzz_api")
    if fuzz is not None:
        fuzz._write_stats()
        problems += fuzz_problems(fuzz.STATS, _RAN["fuzz"], bool(os.environ.get("FUZZ_STRICT")))
    if problems:
        _SESSION_PROBLEMS.extend(problems)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for problem in _SESSION_PROBLEMS:
        terminalreporter.write_line(f"SESSION CHECK FAILED: {problem}", red=True, bold=True)


@pytest.fixture(autouse=True, scope="session")
def _wired() -> None:
    """Services run on the graph chalicelib/bootstrap.py builds; importing it registers the
    default (tests without a stack fixture still reach a wired service)."""
    from chalicelib import bootstrap

    bootstrap.reset()


def _fresh_names(monkeypatch: pytest.MonkeyPatch) -> None:
    suffix = uuid.uuid4().hex[:8]
    monkeypatch.setenv("TABLE_NAME", f"perks-t-{suffix}")
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", f"perks-t-{suffix}-idem")


def _reset_all() -> None:
    from chalicelib import bootstrap, config
    from chalicelib.api import idempotency
    from chalicelib.services import clock

    config.reset()
    idempotency.reset()
    clock.freeze(None)
    bootstrap.reset()  # a fresh object graph (repositories on this test's table)


@pytest.fixture(scope="session")
def ddb_local_endpoint() -> Iterator[str]:
    from chalicelib.local import ddblocal

    reason = ddblocal.unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"DynamoDB Local is required in CI: {reason}")
        print(f"\nSKIP DynamoDB Local leg: {reason}")
        pytest.skip(reason)
    port = ddblocal.free_port()
    proc = ddblocal.start(port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def moto_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Everything in moto, in process."""
    from moto import mock_aws

    from chalicelib.local.resources import bootstrap

    _fresh_names(monkeypatch)
    with mock_aws():
        _reset_all()
        bootstrap()
        yield "moto"
    _reset_all()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The data layer on moto, then on DynamoDB Local (SQS/SNS stay on moto)."""
    from moto import mock_aws

    from chalicelib.local.resources import bootstrap

    _fresh_names(monkeypatch)
    if request.param == "dynamodb-local":
        monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", request.getfixturevalue("ddb_local_endpoint"))
    with mock_aws():
        _reset_all()
        bootstrap()
        yield request.param
    if request.param == "dynamodb-local":
        _drop_tables()
    _reset_all()


def _drop_tables() -> None:
    from chalicelib.adapters import aws
    from chalicelib.config import get_settings

    s = get_settings()
    for name in (s.table_name, s.idempotency_table_name):
        with contextlib.suppress(Exception):  # best-effort cleanup of a throwaway table
            aws.client("dynamodb").delete_table(TableName=name)


def token(role: str | list[str], sub: str = "m-1", **extra: Any) -> str:
    from chalicelib.api.auth import mint

    roles = [role] if isinstance(role, str) else role
    return mint(sub, roles, **extra)


SENT_PII: set[str] = set()
PII_KEYS = {"phone", "email", "birthday", "token"}  # token: a device push token


def _remember_pii(body: Any) -> None:
    """Record every phone, email, birthday and push token the suite sends, for the final log
    scan."""
    if isinstance(body, dict):
        for k, v in body.items():
            if k in PII_KEYS and isinstance(v, str) and len(v) >= 7:
                SENT_PII.add(v)
            else:
                _remember_pii(v)
    elif isinstance(body, list):
        for v in body:
            _remember_pii(v)


class ApiClient:
    """chalice.test.Client with JSON bodies and bearer tokens."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def call(self, method: str, path: str, *, role: str | list[str] | None = None,
             sub: str = "m-1", body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | str | None = None) -> Any:
        h = {"Content-Type": "application/json", **(headers or {})}
        if role is not None:
            h["Authorization"] = f"Bearer {token(role, sub)}"
        _remember_pii(body)
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        resp = self.client.http.request(method, path, headers=h, body=payload or b"")
        resp.json = json.loads(resp.body) if resp.body else None
        return resp

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.call("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.call("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.call("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.call("DELETE", path, **kw)


@pytest.fixture
def api(moto_stack: str) -> Iterator[ApiClient]:
    """The HTTP API on moto through chalice's test client (authorizer included)."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="test") as client:
        yield ApiClient(client)


@pytest.fixture
def api_on(engine: str) -> Iterator[ApiClient]:
    """The HTTP API on each engine."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="test") as client:
        yield ApiClient(client)

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
from pathlib import Path
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
moto_atomic.install_fast_queries()  # moto's Query without sorting the whole table each time

# Hypothesis checks properties, not speed: its 200 ms per-example deadline turns a busy 2-core
# CI machine into failures (figures are measured by bench/, never by timed unit tests).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("perks", deadline=None)
_hypothesis_settings.load_profile("perks")


class _SearchPaths(list[str]):
    """A loader's search path that boto3 can append its data folder to once, not per session."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


def _share_botocore_loader() -> None:
    """Every test gets fresh settings (its own table names), hence a fresh boto3 session and
    fresh clients; each new session used to re-read and re-parse the service models from disk
    (~0.1 s of CPU a client, three or more clients a test). One loader for the run reads them
    once; sessions, clients and settings stay per test."""
    import functools

    import botocore.loaders
    import botocore.session

    create = botocore.loaders.create_loader

    @functools.cache
    def shared(search_path_string: str | None = None) -> botocore.loaders.Loader:
        loader = create(search_path_string)
        loader._search_paths = _SearchPaths(loader.search_paths)
        return loader

    botocore.session.create_loader = shared


_share_botocore_loader()


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


# Under pytest-xdist (`make test` runs three workers) each worker judges what it logged and
# hands its verdict and fuzz statistics to the controller, which fails the run.
_FROM_WORKERS: list[dict[str, Any]] = []


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
    stats: dict[str, dict[str, int]] | None = None
    if fuzz is not None:
        stats = {op: dict(c) for op, c in fuzz.STATS.items()}
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller judges the whole run
        workeroutput["perks_session"] = {"problems": problems, "fuzz_cases": _RAN["fuzz"],
                                         "fuzz_stats": stats}
        return
    fuzz_cases = _RAN["fuzz"]
    for worker in _FROM_WORKERS:
        problems += worker["problems"]
        fuzz_cases += worker["fuzz_cases"]
        if worker["fuzz_stats"] is not None:
            stats = stats or {}
            for op, counts in worker["fuzz_stats"].items():
                merged = stats.setdefault(op, {})
                for k, n in counts.items():
                    merged[k] = merged.get(k, 0) + n
    if fuzz is not None:
        fuzz._write_stats()
    elif stats is not None and os.environ.get("FUZZ_STATS"):  # fuzzed by xdist workers
        with open(os.environ["FUZZ_STATS"], "w", encoding="utf-8") as out:
            json.dump(stats, out, indent=1)
    if stats is not None:  # the fuzz module was imported (here or by a worker)
        judged: dict[str, object] = dict(stats)
        problems += fuzz_problems(judged, fuzz_cases, bool(os.environ.get("FUZZ_STRICT")))
    if problems:
        _SESSION_PROBLEMS.extend(problems)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for problem in _SESSION_PROBLEMS:
        terminalreporter.write_line(f"SESSION CHECK FAILED: {problem}", red=True, bold=True)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist: a worker finished; keep what its session checks found."""
    found = getattr(node, "workeroutput", {}).get("perks_session")
    if found is not None:
        _FROM_WORKERS.append(found)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` as xdist has it (a file's tests on one worker, so a module's stack
    starts once), except that tests/browser is one unit: one stack and one chromium."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    browser = Path(__file__).resolve().parent / "browser"

    class FilesAndBrowser(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = (config.rootpath / nodeid.split("::", 1)[0]).resolve()
            return str(browser) if browser in path.parents else str(path)

    return FilesAndBrowser(config, log)


# Under xdist, whole files go to a worker in collection order and the run ends when the last
# file does: the long files (both engines, a stack, a browser) go out first and the many short
# unit and API files fill in behind them. A one-process run keeps pytest's order.
# The Makefile turns off xdist's own reordering (largest file by test count first), which put
# these one-test files last and left one worker running them alone for minutes. Longest first
# (CI durations), then by folder:
_SLOWEST = ("integration/test_results_per_arm.py", "integration/test_results_intent_to_treat.py",
            "integration/test_readme.py", "browser", "integration/test_delivery_broadcast.py",
            "integration/test_delivery_schedule.py", "integration/test_draw_concurrency.py",
            "integration/test_delivery_birthday_trust.py", "integration/test_delivery_faults.py",
            "integration/test_delivery_rules.py")
_FIRST = ("integration", "browser", "faults", "api", "fuzz", "security", "unit")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):
        return
    here = Path(__file__).resolve().parent

    def rank(item: pytest.Item) -> tuple[int, int]:
        path = item.path.resolve()
        parts = path.relative_to(here).parts if path.is_relative_to(here) else ()
        slow = [i for i, s in enumerate(_SLOWEST)
                if "/".join(parts) == s or (parts and parts[0] == s)]
        folder = _FIRST.index(parts[0]) if len(parts) > 1 and parts[0] in _FIRST else len(_FIRST)
        return (slow[0] if slow else len(_SLOWEST), folder)

    items.sort(key=rank)  # stable: the order within a folder is pytest's


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


# The tests' DynamoDB Local serves short bursts of small requests, where the JVM's optimising
# compiler costs more CPU than it saves: the client compiler alone and the serial collector
# took the CPU of a DynamoDB Local test file from 28.6 s to 15.8 s (docs/testing.md).
DDB_LOCAL_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


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
    with pytest.MonkeyPatch.context() as mp:  # read by the JVM ddblocal.start launches
        mp.setenv("JAVA_TOOL_OPTIONS", " ".join(
            filter(None, (os.environ.get("JAVA_TOOL_OPTIONS"), DDB_LOCAL_JVM))))
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
    """The data layer on moto, then on DynamoDB Local (SQS/SNS stay on moto).

    Each test gets tables of its own (fresh names). On DynamoDB Local they are not dropped
    afterwards: deleting cost as much as creating, and the in-memory engine goes with the
    session (or the xdist worker) anyway; no test lists tables."""
    from moto import mock_aws

    from chalicelib.local.resources import bootstrap

    _fresh_names(monkeypatch)
    if request.param == "dynamodb-local":
        monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", request.getfixturevalue("ddb_local_endpoint"))
    with mock_aws():
        _reset_all()
        bootstrap()
        yield request.param
    _reset_all()


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

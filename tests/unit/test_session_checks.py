"""The whole-run checks (privacy scan, fuzz statistics) are session hooks that cannot pass
empty: they run after any selection, and fail the run (exit status 1) on a leak, on an empty
capture when tests that log ran, and on a fuzz run that fuzzed nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.session_checks import fuzz_problems, privacy_problems

ROOT = Path(__file__).resolve().parents[2]


def test_a_phone_an_email_or_a_sent_value_in_a_log_line_is_a_problem():
    assert privacy_problems(["perks request route=GET /me status=200"], {"1990-02-28"}, 3) == []
    for line in ("perks note +8613800138000", "perks mail li@example.com",
                 "perks born 1990-02-28", "perks device apns-token-of-m-2"):
        assert privacy_problems([line], {"1990-02-28", "apns-token-of-m-2"}, 1), line


def test_an_empty_capture_fails_only_when_tests_that_log_ran():
    assert privacy_problems([], set(), 0) == []
    assert "empty" in privacy_problems([], set(), 2)[0]


def test_a_fuzz_run_without_statistics_fails():
    assert fuzz_problems({}, 0, strict=False) == []
    assert fuzz_problems({}, 5, strict=False) and fuzz_problems(None, 0, strict=True)
    assert fuzz_problems({"GET /me": {"cases": 5}}, 5, strict=True) == []


def _run(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_session_probe.py"
    test.write_text(textwrap.dedent(body))
    # tests.conftest as a plugin: the same hooks as the real suite, on a one-test session.
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.conftest", str(test),
                           "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_a_run_that_logs_a_phone_fails_although_its_test_passed(tmp_path):
    out = _run(tmp_path, """
        import logging

        def test_logs_a_phone():
            logging.getLogger("perks").warning("call +8613800138000")
    """)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 passed" in out.stdout and "SESSION CHECK FAILED: PII in logs" in out.stdout


def test_a_run_whose_logging_tests_captured_nothing_fails(tmp_path):
    out = _run(tmp_path, """
        import pytest

        @pytest.fixture
        def api():
            return None  # stands for the app's client, whose requests log

        def test_quiet(api):
            pass
    """)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "log capture is empty" in out.stdout


def test_a_clean_run_passes(tmp_path):
    out = _run(tmp_path, """
        import logging

        def test_logs_nothing_personal():
            logging.getLogger("perks").info("request route=GET /me status=200")
    """)
    assert out.returncode == 0, out.stdout + out.stderr


def _run_on_workers(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The same hooks under pytest-xdist, as `make test` runs them: two workers, a file each."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("xdist")
    if spec is None or spec.origin is None:
        if os.environ.get("CI"):
            raise AssertionError("pytest-xdist is in requirements-dev.txt; CI must have it")
        pytest.skip("pytest-xdist is not installed (make venv installs it)")
    for name, body in files.items():
        (tmp_path / name).write_text(textwrap.dedent(body))
    site = str(Path(spec.origin).parents[1])  # wherever this interpreter finds xdist
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.conftest", str(tmp_path),
                           "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           "-n", "2", "--dist", "loadfile"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
                          env={"PYTHONPATH": os.pathsep.join((str(ROOT), site)),
                               "PATH": "/usr/bin:/bin"})


QUIET = """
    def test_quiet():
        pass
"""


def test_a_phone_logged_on_one_worker_fails_the_whole_run(tmp_path):
    out = _run_on_workers(tmp_path, {"test_a.py": """
        import logging

        def test_logs_a_phone():
            logging.getLogger("perks").warning("call +8613800138000")
    """, "test_b.py": QUIET})
    assert out.returncode == 1, out.stdout + out.stderr
    assert "2 passed" in out.stdout and "SESSION CHECK FAILED: PII in logs" in out.stdout


def test_a_clean_run_on_workers_passes(tmp_path):
    out = _run_on_workers(tmp_path, {"test_a.py": """
        import logging

        def test_logs_nothing_personal():
            logging.getLogger("perks").info("request route=GET /me status=200")
    """, "test_b.py": QUIET})
    assert out.returncode == 0, out.stdout + out.stderr

"""The log redaction safety net (the scan of the whole run's logs is a session hook in
tests/conftest.py, see tests/session_checks.py)."""

from __future__ import annotations

from chalicelib.observability import logger, redact
from tests.conftest import pii_logged_on_purpose
from tests.session_checks import BIRTHDATE, EMAIL, PHONE


def test_redaction_catches_pii_that_slips_into_a_message():
    text = redact("call +8613800138000 or mail li@example.com, born 1990-02-28")
    assert not PHONE.search(text) and not EMAIL.search(text) and not BIRTHDATE.search(text)


def test_logger_output_is_redacted(capsys):
    with pii_logged_on_purpose():
        logger().info("member wrote from li@example.com with +8613800138000, born 1990-02-28")
    out = capsys.readouterr().out
    assert "li@example.com" not in out and "13800138000" not in out and "1990-02-28" not in out


_FIRST_REQUESTS_AT_ONCE = r"""
import threading, time
import aws_lambda_powertools.logging as pt
import app  # Chalice(app_name="perks") puts its plain handler on the "perks" logger first
from chalicelib import observability

class Slow(pt.Logger):  # widens the window two first callers used to race through
    def __init__(self, *a, **k):
        time.sleep(0.05)
        super().__init__(*a, **k)

pt.Logger = Slow
gate, got, errors = threading.Barrier(16), [], []

def first_request():
    gate.wait()
    try:
        log = observability.logger()
        log.append_keys(correlation_id="r-1")
        got.append(log)
    except Exception as e:
        errors.append(repr(e))

threads = [threading.Thread(target=first_request) for _ in range(16)]
[t.start() for t in threads]
[t.join() for t in threads]
assert not errors, errors[:1]
assert len({id(x) for x in got}) == 1, "one Logger per process"
print("ok")
"""


def test_sixteen_first_requests_at_once_share_one_working_logger():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _FIRST_REQUESTS_AT_ONCE], cwd=root,
                         capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]

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

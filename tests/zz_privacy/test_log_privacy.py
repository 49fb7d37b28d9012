"""Runs last: nothing the suite logged may contain a phone number, an email, a birthdate or a
device push token.

Phones and emails are matched by pattern; birthdates and push tokens by value: every one the suite
sent through the API is recorded by the test client, and none may appear in any log line
(other dates, such as a points lot's expiry day, are not personal data).
"""

from __future__ import annotations

import re

from chalicelib.observability import logger, redact
from tests.conftest import LOG_CAPTURE, SENT_PII

PHONE = re.compile(r"(?<![\w.])\+?(?:86)?1[3-9]\d{9}\b|\+[1-9]\d{9,14}\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
BIRTHDATE = re.compile(r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b(?!T)")


def test_redaction_catches_pii_that_slips_into_a_message():
    text = redact("call +8613800138000 or mail li@example.com, born 1990-02-28")
    assert not PHONE.search(text) and not EMAIL.search(text) and not BIRTHDATE.search(text)


def test_logger_output_is_redacted(capsys):
    logger().info("member wrote from li@example.com with +8613800138000, born 1990-02-28")
    out = capsys.readouterr().out
    assert "li@example.com" not in out and "13800138000" not in out and "1990-02-28" not in out


def test_no_phone_email_or_birthdate_in_any_log_line_of_the_suite():
    lines = [line for line in LOG_CAPTURE.lines if "zz_privacy" not in line]
    assert lines, "the capture saw no log lines at all, so it cannot be trusted"
    leaks = [(p.pattern, m) for line in lines for p in (PHONE, EMAIL) for m in p.findall(line)]
    leaks += [("sent value", v) for line in lines for v in SENT_PII if v in line]
    assert not leaks, f"PII in logs: {leaks[:5]}"

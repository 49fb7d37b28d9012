"""Checks over the whole pytest run, called from ``pytest_sessionfinish`` in tests/conftest.py.

They used to be tests named to sort last (``tests/zz_privacy``, ``test_zz_fuzz_stats...``), so
they passed vacuously when a selection (``-k``, a subset of files, another order) left out
what they inspect, or ran them before anything was logged. As session hooks they run after
every selection, and an empty capture counts as a failure whenever tests that log ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PHONE = re.compile(r"(?<![\w.])\+?(?:86)?1[3-9]\d{9}\b|\+[1-9]\d{9,14}\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
BIRTHDATE = re.compile(r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b(?!T)")

# Fixtures that call the app's HTTP handlers, each request of which logs one "request" line:
# a run that used one of them and captured nothing has a broken capture, not a clean log.
LOGGING_FIXTURES = frozenset({"api", "api_on", "shared_api", "target"})
FUZZ_TEST = "test_no_operation_answers_5xx_or_off_schema"


def privacy_problems(lines: list[str], sent_pii: Iterable[str], logging_tests: int) -> list[str]:
    """Phones and emails by pattern, birthdates and push tokens by the values the suite sent
    (other dates, such as a lot's expiry day, are not personal data)."""
    if not lines:
        return [f"log capture is empty although {logging_tests} test(s) that log ran: the "
                "privacy scan cannot be trusted"] if logging_tests else []
    leaks = [(p.pattern, m) for line in lines for p in (PHONE, EMAIL) for m in p.findall(line)]
    leaks += [("sent value", v) for line in lines for v in sent_pii if v in line]
    return [f"PII in logs ({len(leaks)}): {leaks[:5]}"] if leaks else []


def fuzz_problems(stats: dict[str, object] | None, fuzz_cases: int, strict: bool) -> list[str]:
    """The fuzz run's statistics (``None``: the fuzz module was not imported)."""
    if (fuzz_cases or strict) and not stats:
        return [f"no operation was fuzzed ({fuzz_cases} fuzz case(s) ran)"]
    return []

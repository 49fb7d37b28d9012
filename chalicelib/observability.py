"""Powertools Logger and Metrics, created on first use, with PII redaction as a safety net.

Perks never logs profile fields on purpose; the redacting filter catches accidents
(a phone number, email or full birthdate inside an exception message, say).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

_PII = [
    (re.compile(r"\+?\b(?:86)?1[3-9]\d{9}\b|\+[1-9]\d{6,14}\b"), "[phone]"),
    (re.compile(r"[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b(?!T)"), "[date]"),
]

_state: dict[str, Any] = {}
# The first requests of a fresh process arrive together (200 clients at once on the local
# server). Two threads creating the Logger at once left the second one, which powertools
# treats as "preconfigured", bound to the logger's first handler: chalice's plain one,
# whose formatter has no append_keys. One lock makes each object exactly once.
_init = threading.Lock()


def redact(text: str) -> str:
    """Replace phone numbers, emails and full dates (not timestamps) in ``text``."""
    for pattern, repl in _PII:
        text = pattern.sub(repl, text)
    return text


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args) \
                if isinstance(record.args, tuple) else record.args
        return True


def logger() -> Any:
    """The process-wide powertools Logger (service 'perks')."""
    if "logger" not in _state:
        with _init:
            if "logger" not in _state:
                from aws_lambda_powertools.logging import Logger

                log = Logger(service="perks")
                log.addFilter(_Redact())
                _state["logger"] = log
    return _state["logger"]


def metrics() -> Any:
    """The process-wide powertools Metrics (EMF, namespace 'Perks')."""
    if "metrics" not in _state:
        with _init:
            if "metrics" not in _state:
                from aws_lambda_powertools.metrics import Metrics

                _state["metrics"] = Metrics(namespace="Perks", service="perks")
    return _state["metrics"]


def metrics_add(name: str, value: float = 1, unit: str = "Count") -> None:
    """Record one business metric; flushed at the end of the invocation."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=getattr(MetricUnit, unit), value=value)


def flush_metrics() -> None:
    """Emit the metrics gathered so far (called once per invocation)."""
    m = _state.get("metrics")
    if m is None:
        return
    try:
        m.flush_metrics(raise_on_empty_metrics=False)
    except Exception:  # metrics must never fail a request
        logger().warning("metrics flush failed", exc_info=True)

"""Lazily created AWS clients, pointed at local endpoints when configured.

Nothing here runs at import time: boto3 itself is imported on first use so that cold
start stays light and moto's patches are active before any client exists.

Thread-safe: the local server runs requests on many threads, and boto3 sessions and
resources must not be created (or grow sub-resources) concurrently. Everything is created
once, under one re-entrant lock; the clients themselves are safe to share.
"""

from __future__ import annotations

import threading
from typing import Any

from chalicelib.config import get_settings

_lock = threading.RLock()  # re-entrant: table() holds it around the resource
_cache: dict[str, Any] = {}


def _fresh() -> None:
    """Clients belong to the settings they were built from: after ``config.reset()`` (a new
    Settings object: another endpoint, region or table) every cached client is rebuilt."""
    s = get_settings()
    if _cache.get("settings") is not s:
        with _lock:
            if _cache.get("settings") is not s:
                _cache.clear()
                _cache["settings"] = s


def _session() -> Any:
    if "session" not in _cache:
        import boto3

        _cache["session"] = boto3.session.Session(region_name=get_settings().region)
    return _cache["session"]


def _config() -> Any:
    from botocore.config import Config

    return Config(retries={"max_attempts": 4, "mode": "standard"}, max_pool_connections=50,
                  connect_timeout=3, read_timeout=10)


def _endpoint(service: str) -> str | None:
    s = get_settings()
    return {"dynamodb": s.dynamodb_endpoint, "sqs": s.sqs_endpoint, "sns": s.sns_endpoint,
            "sesv2": s.ses_endpoint, "ses": s.ses_endpoint}.get(service)


def client(service: str) -> Any:
    """A cached low-level client for ``service``."""
    _fresh()
    key = f"client:{service}"
    if key not in _cache:
        with _lock:
            if key not in _cache:
                _cache[key] = _session().client(
                    service, endpoint_url=_endpoint(service), config=_config()
                )
    return _cache[key]


def dynamodb_resource() -> Any:
    """A cached DynamoDB service resource (its client serialises plain Python values)."""
    _fresh()
    key = "resource:dynamodb"
    if key not in _cache:
        with _lock:
            if key not in _cache:
                _cache[key] = _session().resource(
                    "dynamodb", endpoint_url=_endpoint("dynamodb"), config=_config()
                )
    return _cache[key]


def table(name: str | None = None) -> Any:
    """The Perks table (or another by name) as a boto3 Table resource (cached per name)."""
    _fresh()
    key = f"table:{name or get_settings().table_name}"
    if key not in _cache:
        with _lock:
            if key not in _cache:
                _cache[key] = dynamodb_resource().Table(key.removeprefix("table:"))
    return _cache[key]


def queue_url(name: str) -> str:
    """Resolve (and cache) an SQS queue URL by name."""
    _fresh()
    key = f"queue:{name}"
    if key not in _cache:
        _cache[key] = client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    return _cache[key]


def reset() -> None:
    """Drop every cached client (tests switch engines between runs)."""
    with _lock:
        _cache.clear()

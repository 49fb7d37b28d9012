"""Idempotency-Key handling on top of Powertools Idempotency (DynamoDB persistence).

Scope of a key: the caller's subject + method + route + path parameters + the key. Same
key and same body within the window → the first response (status and body) is replayed
without running the handler again; same key with a different body → 422
IDEMPOTENCY_KEY_REUSED; a request still running under the key → 409. Failed requests
(4xx/5xx) are not stored, so a corrected retry may reuse the key. The window is
IDEMPOTENCY_TTL_SECONDS (24 h by default).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

from chalicelib.config import get_settings
from chalicelib.errors import IdempotencyInProgress, IdempotencyKeyReused, ValidationFailed

_layer: dict[str, Any] = {}
_lock = threading.Lock()


def _config() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="scope",
        payload_validation_jmespath="body",
        expires_after_seconds=get_settings().idempotency_ttl_seconds,
        use_local_cache=False,
    )


def _persistence() -> Any:
    settings = get_settings()
    key = settings.idempotency_table_name
    layer = _layer.get(key)
    if layer is None:
        with _lock:
            layer = _layer.get(key)
            if layer is None:
                from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

                from chalicelib.adapters import aws

                layer = DynamoDBPersistenceLayer(
                    table_name=settings.idempotency_table_name,
                    boto3_client=aws.client("dynamodb"))
                # Powertools configures a layer on its first use and marks it configured
                # before setting the key paths: on the threaded local server a concurrent
                # first request would run unconfigured. Configure it here, once, under the lock.
                layer.configure(_config())
                _layer.clear()
                _layer[key] = layer
    return layer


def reset() -> None:
    _layer.clear()


def run_once(key: str, sub: str, method: str, path: str, params: dict[str, str], body: bytes,
             run: Callable[[], tuple[int, Any]], lambda_context: Any = None
             ) -> tuple[int, Any]:
    """Run ``run`` at most once per (caller, route, key); replay its stored result after."""
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    if not (1 <= len(key) <= 200) or not key.isprintable():
        raise ValidationFailed("Idempotency-Key must be 1-200 printable characters",
                               details=[{"path": "/headers/Idempotency-Key",
                                         "message": "1-200 printable characters"}])
    scope = f"{sub}|{method} {path}|{sorted(params.items())}|{key}"
    config = _config()
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)

    @idempotent_function(data_keyword_argument="request", persistence_store=_persistence(),
                         config=config)
    def execute(request: dict[str, str]) -> dict[str, Any]:
        status, payload = run()
        return {"status": status, "body": payload}

    try:
        out = execute(request={"scope": scope, "body": hashlib.sha256(body).hexdigest()})
    except IdempotencyValidationError:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request body",
            details=[{"path": "/headers/Idempotency-Key", "message": "use a new key"}],
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyInProgress("a request with this Idempotency-Key is still running; "
                                    "retry shortly") from None
    return int(out["status"]), out["body"]

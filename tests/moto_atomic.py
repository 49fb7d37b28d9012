"""moto's in-process DynamoDB answers requests from many threads without a lock: two
concurrent TransactWriteItems can both pass their conditions and both apply, and a query can
read a dict another thread is changing ("dictionary changed size during iteration"). Real
DynamoDB applies each request atomically, so concurrency tests on moto would test moto's races,
not our conditions. ``install`` serialises moto's DynamoDB requests (one at a time, as DynamoDB
applies a transaction); conditions still race *between* requests exactly as they do on AWS, and
the same tests run on DynamoDB Local unchanged."""

from __future__ import annotations

import threading
from typing import Any

_LOCK = threading.RLock()


def install() -> None:
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "perks_atomic", False):
        return

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    call_action.perks_atomic = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]

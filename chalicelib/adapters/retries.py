"""Retry with capped exponential backoff and full jitter for throttling and lost races.

Botocore retries throttling inside one API call; this layer covers what it does not: errors
surfaced to Perks (already translated to ``Unavailable``), transaction conflicts, and SQS
batch entries that failed. What still fails after the last attempt propagates, so the SQS
message is redelivered and the idempotent step runs again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from chalicelib.errors import Unavailable

T = TypeVar("T")
THROTTLE_CODES = {
    "ThrottlingException", "Throttling", "RequestThrottled",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded", "InternalServerError", "InternalError", "ServiceUnavailable",
    "TransactionConflictException", "KMS.ThrottlingException", "TooManyRequestsException",
}


def retryable(e: BaseException) -> bool:
    if isinstance(e, Unavailable):
        return True
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        HTTPClientError,
        ReadTimeoutError,
    )

    if isinstance(e, (ConnectionError, ReadTimeoutError, HTTPClientError)):
        return True
    if isinstance(e, ClientError):
        code = e.response.get("Error", {}).get("Code", "")
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in THROTTLE_CODES or status >= 500
    return False


def with_retries[T](fn: Callable[[], T], attempts: int = 8, base: float = 0.01,
                 cap: float = 1.0) -> T:
    """Run ``fn`` until it does not raise a retryable error (at most ``attempts`` times)."""
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as e:
            if attempt == attempts - 1 or not retryable(e):
                raise
            time.sleep(random.uniform(0, min(cap, base * 2**attempt)))
    raise AssertionError("unreachable")


def send_batches(queue_url: str, bodies: list[str], attempts: int = 8) -> int:
    """SendMessageBatch ten bodies per request, re-sending only the entries that failed.

    Returns the number of SendMessageBatch requests made.
    """
    from chalicelib.adapters import aws

    sqs = aws.client("sqs")
    requests = 0
    for i in range(0, len(bodies), 10):
        pending = {str(j): b for j, b in enumerate(bodies[i:i + 10])}
        for attempt in range(attempts):
            entries = [{"Id": k, "MessageBody": v} for k, v in pending.items()]
            try:
                requests += 1
                resp: Any = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            except Exception as e:
                if attempt == attempts - 1 or not retryable(e):
                    raise
                time.sleep(random.uniform(0, min(1.0, 0.01 * 2**attempt)))
                continue
            failed = resp.get("Failed", [])
            if not failed:
                pending = {}
                break
            permanent = [f for f in failed if f.get("SenderFault")]
            if permanent:
                raise ValueError(f"SQS rejected entries: {permanent[:3]}")
            pending = {f["Id"]: pending[f["Id"]] for f in failed}
            time.sleep(random.uniform(0, min(1.0, 0.01 * 2**attempt)))
        if pending:
            raise Unavailable("could not enqueue delivery work; retry")
    return requests

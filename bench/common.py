"""Shared bench plumbing: count AWS requests with botocore event hooks, fresh moto stacks."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("PERKS_STAGE", "bench")
os.environ.setdefault("JWT_SECRET", "perks-bench-secret-long-enough-for-hs256-keys")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


class RequestCounter:
    """Counts API calls per service and operation, and items read, via botocore events."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read = 0
        self.sqs_entries = 0

    def _before(self, event_name: str, **kwargs: Any) -> None:
        # event_name: before-call.<service>.<Operation>
        _, service, op = event_name.split(".", 2)
        self.calls[f"{service}.{op}"] += 1
        if op == "SendMessageBatch":
            self.sqs_entries += len(kwargs.get("params", {}).get("Entries", []))

    def _after(self, event_name: str, parsed: Any = None, **kwargs: Any) -> None:
        _, service, op = event_name.split(".", 2)
        if service == "dynamodb" and isinstance(parsed, dict):
            if op in ("Query", "Scan"):
                self.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
            elif op == "GetItem" and parsed.get("Item"):
                self.items_read += 1
            elif op in ("BatchGetItem", "TransactGetItems"):
                resp = parsed.get("Responses", {})
                self.items_read += sum(len(v) for v in resp.values()) if isinstance(
                    resp, dict) else len(resp)

    def attach(self, client: Any) -> None:
        ev = client.meta.events
        ev.register("before-call.*.*", self._before, unique_id=f"bench-before-{id(self)}")
        ev.register("after-call.*.*", self._after, unique_id=f"bench-after-{id(self)}")

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0
        self.sqs_entries = 0

    def total(self, service: str = "dynamodb", writes_only: bool | None = None) -> int:
        writes = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
        n = 0
        for key, count in self.calls.items():
            svc, op = key.split(".", 1)
            if svc != service:
                continue
            if writes_only is True and op not in writes:
                continue
            if writes_only is False and op in writes:
                continue
            n += count
        return n


@contextmanager
def counting() -> Iterator[RequestCounter]:
    """Count every request made by Perks' AWS clients inside the block."""
    from chalicelib.adapters import aws

    counter = RequestCounter()
    for service in ("dynamodb", "sqs", "sns"):
        counter.attach(aws.client(service))
    counter.attach(aws.dynamodb_resource().meta.client)
    yield counter


@contextmanager
def moto_stack(table: str = "perks-bench") -> Iterator[None]:
    """A fresh in-process moto stack with Perks' tables and queues."""
    from moto import mock_aws

    from chalicelib import bootstrap as composition
    from chalicelib import config
    from chalicelib.local.resources import bootstrap

    os.environ["TABLE_NAME"] = table
    os.environ["IDEMPOTENCY_TABLE_NAME"] = f"{table}-idempotency"
    with mock_aws():
        config.reset()
        composition.reset()  # services wired afresh, on this stack's table
        bootstrap()
        yield
    config.reset()
    composition.reset()


def summary(line: str) -> None:
    """The one-line summary every bench prints last."""
    print(line, flush=True)

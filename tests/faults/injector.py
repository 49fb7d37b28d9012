"""A reusable fault injector on botocore event hooks.

    with FaultInjector(ratio=0.2, seed=7, kinds=("throttle", "conflict", "timeout_after_commit")):
        ...  # every DynamoDB/SQS call Perks makes may now fail

Faults, each on a seeded RNG so a failing run replays:

- ``throttle``: ``before-call`` raises a ``ClientError`` with a throttling code
  (``ProvisionedThroughputExceededException``/``ThrottlingException`` for DynamoDB,
  ``RequestThrottled`` for SQS). Nothing reaches the engine.
- ``conflict``: a ``TransactWriteItems`` is cancelled with ``TransactionCanceledException``
  and a ``TransactionConflict`` reason per item (what DynamoDB says when another
  transaction touches the same item). Nothing is written.
- ``timeout_after_commit``: the call goes through and is committed, then ``after-call``
  raises ``ReadTimeoutError`` — the caller cannot know whether it happened (the ambiguous
  result every retry path must survive). Applied to writes only.
- ``connection_closed``: like the timeout, with ``ConnectionClosedError``.
- ``crash_after_commit``: the write goes through, then the process "dies": ``after-call``
  raises ``WorkerCrashed`` (a ``BaseException``, so no ``except Exception`` or retry loop
  catches it) — a Lambda killed right after its commit, before the next step.
- ``redeliver``: an SQS ``DeleteMessage``/``DeleteMessageBatch`` answers success but the
  message is made visible again at once, so SQS delivers it a second time (at-least-once).

``before-call`` errors bypass botocore's own retries (``layer="call"``, the default, the
harsh mode: 20 % of logical calls fail); ``layer="send"`` injects the throttling response at
``before-send`` instead, per HTTP attempt, so the SDK's retry policy gets its chance.

``armed_by="sns.Publish"`` injects nothing until that call has been made (e.g. let a provider
call succeed, then fail the bookkeeping that follows it).

``paused()`` switches injection off for setup and for checking the results.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem",
          "SendMessage", "SendMessageBatch", "DeleteMessage", "DeleteMessageBatch",
          "Publish", "PublishBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}
KINDS = ("throttle", "conflict", "timeout_after_commit", "connection_closed", "redeliver",
         "crash_after_commit")
# Calls that are part of the test harness, not the system under test.
NEVER = {"CreateTable", "DeleteTable", "DescribeTable", "UpdateTimeToLive", "ListTables",
         "CreateQueue", "GetQueueUrl", "GetQueueAttributes", "SetQueueAttributes",
         "CreateTopic", "ListQueues", "DescribeTimeToLive", "UpdateContinuousBackups",
         "DescribeStream", "ListStreams", "GetShardIterator", "GetRecords",
         "ReceiveMessage", "PurgeQueue", "Subscribe", "CreatePlatformApplication"}
THROTTLE_CODES = {"dynamodb": ("ProvisionedThroughputExceededException", "ThrottlingException"),
                  "sqs": ("RequestThrottled",), "sns": ("Throttling",)}


class WorkerCrashed(BaseException):  # a process death, not an error: no except catches it
    """The injected death of the process (see ``crash_after_commit``)."""


def _client_error(code: str, message: str, operation: str, status: int = 400,
                  **extra: Any) -> Any:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}, **extra}, operation)


def _transact_items(params: dict[str, Any]) -> int:
    body = params.get("body") or b"{}"
    try:
        return max(1, len(json.loads(body).get("TransactItems", [])))
    except (ValueError, AttributeError):
        return 1


class FaultInjector:
    """Injects faults into a ``ratio`` of the AWS calls Perks' clients make (see module doc)."""

    def __init__(self, ratio: float = 0.2, seed: int = 0, *,
                 kinds: Iterable[str] = ("throttle",),
                 services: Iterable[str] = ("dynamodb", "sqs"),
                 operations: Iterable[str] | None = None,
                 exclude: Iterable[str] = (), layer: str = "call",
                 limit: int | None = None, armed_by: str | None = None) -> None:
        self.ratio = ratio
        self.limit = limit  # inject at most this many faults (None: no limit)
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self.services = set(services)
        self.operations = set(operations) if operations is not None else None
        self.exclude = set(exclude) | NEVER
        self.layer = layer
        self.armed_by = armed_by  # "service.Operation": no faults before that call is seen
        self._armed = armed_by is None
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._pending_after: threading.local = threading.local()
        self._paused = 0
        self._attached: list[tuple[Any, str, str]] = []
        self._raw_sqs: Any = None

    # --- wiring -----------------------------------------------------------------------------

    def attach(self, client: Any) -> None:
        """Hook one botocore client (idempotent)."""
        ev = client.meta.events
        uid = f"faults-{id(self)}-{id(client)}"
        if any(c is client for c, _, _ in self._attached):
            return
        first = "before-send" if self.layer == "send" else "before-call"
        ev.register(f"{first}.*.*", self._before, unique_id=f"{uid}-b")
        ev.register("after-call.*.*", self._after, unique_id=f"{uid}-a")
        self._attached += [(client, f"{first}.*.*", f"{uid}-b"),
                           (client, "after-call.*.*", f"{uid}-a")]

    def detach(self) -> None:
        for client, event, uid in self._attached:
            client.meta.events.unregister(event, unique_id=uid)
        self._attached.clear()

    def perks_clients(self) -> list[Any]:
        from chalicelib.adapters import aws

        watched = self.armed_by.split(".")[0] if self.armed_by else None
        clients = [aws.client(s) for s in ("dynamodb", "sqs", "sns") if s in self.services
                   or s == "dynamodb" or s == watched]
        clients.append(aws.dynamodb_resource().meta.client)
        return clients

    def __enter__(self) -> FaultInjector:
        for c in self.perks_clients():
            self.attach(c)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No injection inside the block (setup, verification)."""
        with self.lock:
            self._paused += 1
        try:
            yield
        finally:
            with self.lock:
                self._paused -= 1

    # --- decisions --------------------------------------------------------------------------

    def _applicable(self, service: str, op: str) -> list[str]:
        if service not in self.services or op in self.exclude:
            return []
        if self.operations is not None and op not in self.operations:
            return []
        out = []
        for k in self.kinds:
            if k == "throttle" or (k == "conflict" and op == "TransactWriteItems") or (
                    k in ("timeout_after_commit", "connection_closed", "crash_after_commit")
                    and op in WRITES) or (
                    k == "redeliver" and op in ("DeleteMessage", "DeleteMessageBatch")):
                out.append(k)
        return out

    def _draw(self, service: str, op: str) -> str | None:
        with self.lock:
            self.calls[f"{service}.{op}"] += 1
            if self._paused:
                return None
            if not self._armed:
                self._armed = f"{service}.{op}" == self.armed_by
                return None
            kinds = self._applicable(service, op)
            if not kinds or self.rng.random() >= self.ratio:
                return None
            if self.limit is not None and sum(self.injected[k] for k in KINDS) >= self.limit:
                return None
            kind = self.rng.choice(kinds)
            self.injected[kind] += 1
            self.injected[f"{kind}:{service}.{op}"] += 1
            return kind

    @staticmethod
    def _names(event_name: str) -> tuple[str, str]:
        parts = event_name.split(".")
        return parts[1], parts[2] if len(parts) > 2 else ""

    def _before(self, event_name: str, params: Any = None, request: Any = None,
                **kwargs: Any) -> Any:
        service, op = self._names(event_name)
        self._pending_after.kind = None
        kind = self._draw(service, op)
        if kind is None:
            return None
        if kind == "throttle":
            code = self.rng.choice(THROTTLE_CODES.get(service, ("ThrottlingException",)))
            if self.layer == "send":
                return self._send_response(code)
            raise _client_error(code, "injected throttling", op)
        if kind == "conflict":
            n = _transact_items(params or {})
            raise _client_error(
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons "
                "[" + ", ".join(["TransactionConflict"] * n) + "]", op,
                CancellationReasons=[{"Code": "TransactionConflict",
                                      "Message": "Transaction is ongoing for the item"}] * n)
        if kind == "redeliver":
            return self._redeliver(op, params or {})
        self._pending_after.kind = kind  # raised once the call has gone through
        return None

    def _after(self, event_name: str, http_response: Any = None, parsed: Any = None,
               **kwargs: Any) -> None:
        kind = getattr(self._pending_after, "kind", None)
        if kind is None:
            return
        self._pending_after.kind = None
        status = getattr(http_response, "status_code", 200)
        if status >= 300:
            return  # it failed anyway: not ambiguous
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

        url = "http://injected-fault.local/"
        if kind == "timeout_after_commit":
            raise ReadTimeoutError(endpoint_url=url)
        if kind == "crash_after_commit":
            raise WorkerCrashed(f"injected crash after {event_name}")
        raise ConnectionClosedError(endpoint_url=url)

    def _send_response(self, code: str) -> Any:
        from botocore.awsrequest import AWSResponse

        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                           "message": "injected throttling"}).encode()

        class _Raw:
            def stream(self, **_: Any) -> Iterator[bytes]:
                yield body

        return AWSResponse("http://injected-fault.local/", 400,
                           {"x-amzn-ErrorType": code, "Content-Type":
                            "application/x-amz-json-1.0"}, _Raw())

    # --- SQS redelivery ---------------------------------------------------------------------

    def _redeliver(self, op: str, params: dict[str, Any]) -> Any:
        """Answer the delete with success, then make the message visible again at once."""
        from urllib.parse import parse_qs

        body = params.get("body") or {}
        if isinstance(body, (bytes, str)):
            text = body.decode() if isinstance(body, bytes) else body
            try:
                body = json.loads(text)
            except ValueError:
                body = {k: v[0] for k, v in parse_qs(text).items()}
        url = body.get("QueueUrl") or params.get("url")
        if op == "DeleteMessage":
            handles = [(None, body.get("ReceiptHandle"))]
        else:
            entries = body.get("Entries") or []
            handles = [(e.get("Id"), e.get("ReceiptHandle")) for e in entries]
        raw = self._sqs_raw()
        for _, handle in handles:
            if url and handle:
                raw.change_message_visibility(QueueUrl=url, ReceiptHandle=handle,
                                              VisibilityTimeout=0)

        class _Http:
            status_code = 200
            headers: dict[str, str] = {}

        if op == "DeleteMessage":
            return _Http(), {"ResponseMetadata": {"HTTPStatusCode": 200}}
        return _Http(), {"Successful": [{"Id": i} for i, _ in handles], "Failed": [],
                         "ResponseMetadata": {"HTTPStatusCode": 200}}

    def _sqs_raw(self) -> Any:
        if self._raw_sqs is None:
            from chalicelib.adapters import aws

            self._raw_sqs = aws._session().client(
                "sqs", endpoint_url=aws._endpoint("sqs"))
        return self._raw_sqs

    # --- reporting --------------------------------------------------------------------------

    def report(self) -> str:
        total = sum(self.calls.values())
        kinds = {k: v for k, v in self.injected.items() if ":" not in k}
        return f"{sum(kinds.values())} faults injected in {total} calls {kinds}"


# --- SQS-shaped events -----------------------------------------------------------------------

def sqs_event(bodies: Iterable[Any], *, queue: str = "perks-test",
              ids: Iterable[str] | None = None) -> dict[str, Any]:
    """An SQS event (``Records``) whose bodies are ``bodies`` (dicts are JSON-encoded)."""
    import hashlib
    import uuid

    ids_list = list(ids) if ids is not None else None
    records = []
    for n, b in enumerate(bodies):
        text = b if isinstance(b, str) else json.dumps(b)
        mid = ids_list[n] if ids_list else str(uuid.uuid4())
        records.append({
            "messageId": mid, "receiptHandle": f"rh-{mid}", "body": text,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0",
                           "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "0"},
            "messageAttributes": {}, "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
            "awsRegion": "us-east-1"})
    return {"Records": records}


def failed_ids(response: Any) -> list[str]:
    """Message ids a handler reported in ``batchItemFailures``."""
    if not isinstance(response, dict):
        return []
    return [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]


def deliver(handler: Any, event: dict[str, Any], *, rounds: int = 50,
            duplicate: float = 0.0, seed: int = 0, context: Any = None) -> dict[str, int]:
    """Deliver ``event`` to an SQS handler the way the event source mapping does.

    Records the handler reports as failed (or all of them, when it raises) are delivered
    again, up to ``rounds`` times; with ``duplicate`` > 0 a share of the records that
    succeeded is delivered again too (SQS is at-least-once). Returns counters.
    """
    rng = random.Random(seed)
    pending = list(event["Records"])
    stats = Counter(deliveries=0, raised=0, reported_failed=0, duplicates=0)
    for _ in range(rounds):
        if not pending:
            break
        stats["deliveries"] += 1
        try:
            failed = set(failed_ids(handler({"Records": pending}, context)))
        except Exception:
            stats["raised"] += 1
            failed = {r["messageId"] for r in pending}
        stats["reported_failed"] += len(failed)
        again = [r for r in pending if r["messageId"] in failed]
        dup = [r for r in pending if r["messageId"] not in failed and rng.random() < duplicate]
        stats["duplicates"] += len(dup)
        pending = again + dup
    stats["left"] = len(pending)
    return dict(stats)

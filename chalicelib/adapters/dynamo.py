"""DynamoDB plumbing shared by every repository: error translation, value mapping, updates.

ClientErrors are mapped by error code (never by message text) to domain errors, once, here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from chalicelib.errors import Conflict, PerksError, Unavailable

THROTTLING = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}


class TransactionCancelled(Conflict):
    """A TransactWriteItems was cancelled; ``reasons`` holds one code per item ('None' = ok)."""

    code = "CONFLICT"

    def __init__(self, reasons: list[str], items: list[dict[str, Any] | None]) -> None:
        super().__init__("the change conflicted with a concurrent change; retry")
        self.reasons = reasons
        self.items = items
        self.names: list[str] = []  # one per item when the request named its items

    def failed(self, index: int) -> bool:
        """Positional check, for this module and the offset-free cases only: callers ask by
        name (``failed_names``, ``failed_item``); tests/unit/test_architecture.py keeps it so."""
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"

    def failed_item(self, name: str) -> bool:
        """Did the condition of the item called ``name`` fail?"""
        return name in self.failed_names

    def failed_prefixed(self, prefix: str) -> list[str]:
        """Names starting with ``prefix`` whose condition failed (e.g. ``"coupon:"``)."""
        return [n for n in self.names if n.startswith(prefix) and n in self.failed_names]

    @property
    def failed_names(self) -> set[str]:
        """Names of the items whose condition failed (see ``named``)."""
        return {n for i, n in enumerate(self.names) if self.failed(i)}

    def old(self, name: str) -> dict[str, Any] | None:
        """The stored item behind a failed condition of the item called ``name``."""
        return self.items[self.names.index(name)] if name in self.names and len(
            self.items) > self.names.index(name) else None

    def named(self, names: list[str]) -> TransactionCancelled:
        """Attach the request's item names (in request order), so callers never count."""
        self.names = list(names)
        return self

    @property
    def throttled(self) -> bool:
        return any(r in ("ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict")
                   for r in self.reasons)


class ConditionFailed(Conflict):
    """A single conditional write failed; ``item`` is the old item when it was asked for."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("the item was changed or does not satisfy the condition")
        self.item = item


def translate(error: Exception) -> Exception:
    """Map a botocore ClientError to a domain error (other exceptions pass through)."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, (ConnectionError, HTTPClientError)):  # timeouts, dropped connections
        return Unavailable("the data store did not answer; the outcome is unknown, so retry "
                           "with the same Idempotency-Key")
    if not isinstance(error, ClientError):
        return error
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        old = error.response.get("Item")
        return ConditionFailed(plain(deserialize(old)) if old else None)
    if code == "TransactionCanceledException":
        raw = error.response.get("CancellationReasons", [])
        reasons = [str(r.get("Code", "None")) for r in raw]
        items = [plain(deserialize(r["Item"])) if r.get("Item") else None for r in raw]
        if not reasons:  # moto omits reasons for some cancellations
            reasons = ["Unknown"]
        return TransactionCancelled(reasons, items)
    if code == "TransactionConflictException":
        return TransactionCancelled(["TransactionConflict"], [None])
    if code in THROTTLING:
        return Unavailable("the data store is busy; retry shortly")
    return error


@contextmanager
def translated() -> Iterator[None]:
    """Run a block of DynamoDB calls, re-raising ClientErrors as domain errors."""
    try:
        yield
    except PerksError:
        raise
    except Exception as e:
        mapped = translate(e)
        if mapped is e:
            raise
        raise mapped from e


def deserialize(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Low-level AttributeValue map → Python values (Decimal numbers)."""
    if item is None:
        return None
    if item and all(isinstance(v, dict) and len(v) == 1 and next(iter(v)) in _TYPES
                    for v in item.values()):
        from boto3.dynamodb.types import TypeDeserializer

        d = TypeDeserializer()
        return {k: d.deserialize(v) for k, v in item.items()}
    return dict(item)


_TYPES = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}


def plain(value: Any) -> Any:
    """Decimals → int (or float when fractional), sets → sorted lists, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    return value


def storable(value: Any) -> Any:
    """Python values → what boto3's serializer accepts (floats → Decimal, drop None in maps)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [storable(v) for v in value]
    return value


def doc_text(document: Any) -> str:
    """A JSON document as it is stored: one string attribute holding its canonical JSON.

    Stored as a map, a document would not read back equal to what was written: ``storable``
    drops nulls (``"per_member_claim": null`` means unlimited, absent means the default 1)
    and DynamoDB numbers turn 1.0 into 1 and cannot hold 1e-200 at all. Text keeps the
    exact JSON, key order included.
    """
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def doc_value(stored: Any) -> Any:
    """A stored document back as JSON data: text written by ``doc_text`` is parsed; a map
    (items written before documents were stored as text) is returned as plain values."""
    if isinstance(stored, str):
        return json.loads(stored)
    return plain(stored)


def update_args(
    set_: Mapping[str, Any] | None = None,
    remove: list[str] | tuple[str, ...] = (),
    add: Mapping[str, Any] | None = None,
    condition: str | None = None,
    names: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build UpdateExpression kwargs with every attribute named through placeholders.

    ``condition`` may refer to ``#<attr>`` and ``:<name>`` placeholders supplied in
    ``names``/``values``.
    """
    expr_names: dict[str, str] = dict(names or {})
    expr_values: dict[str, Any] = {k: storable(v) for k, v in (values or {}).items()}
    parts: list[str] = []
    sets = []
    for i, (attr, val) in enumerate((set_ or {}).items()):
        expr_names[f"#s{i}"] = attr
        expr_values[f":s{i}"] = storable(val)
        sets.append(f"#s{i} = :s{i}")
    if sets:
        parts.append("SET " + ", ".join(sets))
    adds = []
    for i, (attr, val) in enumerate((add or {}).items()):
        expr_names[f"#a{i}"] = attr
        expr_values[f":a{i}"] = storable(val)
        adds.append(f"#a{i} :a{i}")
    if adds:
        parts.append("ADD " + ", ".join(adds))
    rems = []
    for i, attr in enumerate(remove):
        expr_names[f"#r{i}"] = attr
        rems.append(f"#r{i}")
    if rems:
        parts.append("REMOVE " + ", ".join(rems))
    args: dict[str, Any] = {"UpdateExpression": " ".join(parts)}
    if condition:
        args["ConditionExpression"] = condition
    if expr_names:
        args["ExpressionAttributeNames"] = expr_names
    if expr_values:
        args["ExpressionAttributeValues"] = expr_values
    return args


def query_all(table: Any, limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Follow LastEvaluatedKey until done (or ``limit`` items), returning plain items."""
    items: list[dict[str, Any]] = []
    while True:
        if limit is not None:
            kwargs["Limit"] = max(1, limit - len(items))
        with translated():
            page = table.query(**kwargs)
        items.extend(plain(i) for i in page.get("Items", []))
        lek = page.get("LastEvaluatedKey")
        if not lek or (limit is not None and len(items) >= limit):
            return items
        kwargs["ExclusiveStartKey"] = lek


SHARD_WORKERS = 8  # bounded: a shard fan-out must not starve the Lambda of connections


def parallel_pages(table: Any, queries: list[dict[str, Any]], workers: int = SHARD_WORKERS,
                   retry: Callable[[Callable[[], Any]], Any] | None = None
                   ) -> Iterator[list[dict[str, Any]]]:
    """Pages of several Queries (the shards of one sharded index key), fetched in rounds:
    each round reads the next page of every query still open on a bounded thread pool, so
    memory stays at one page per shard and a caller may stop between pages. ``retry`` wraps
    each page request (throttling hits single requests, so a page is retried on its own)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(kw: dict[str, Any]) -> dict[str, Any]:
        with translated():
            return table.query(**kw)

    def page(kw: dict[str, Any]) -> dict[str, Any]:
        return retry(lambda: one(kw)) if retry else one(kw)

    open_ = [dict(q) for q in queries]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(open_)))) as pool:
        while open_:
            nxt = []
            for kw, resp in zip(open_, pool.map(page, open_), strict=True):
                yield [plain(i) for i in resp.get("Items", [])]  # empty too: a stop point
                if resp.get("LastEvaluatedKey"):
                    nxt.append({**kw, "ExclusiveStartKey": resp["LastEvaluatedKey"]})
            open_ = nxt


def parallel_query_all(table: Any, queries: list[dict[str, Any]],
                       workers: int = SHARD_WORKERS,
                       retry: Callable[[Callable[[], Any]], Any] | None = None
                       ) -> list[dict[str, Any]]:
    """Every item of several Queries (see parallel_pages), in shard order per round."""
    return [i for page in parallel_pages(table, queries, workers, retry) for i in page]

def get_labelled(table: Any, wanted: dict[str, dict[str, str]]
                 ) -> dict[str, dict[str, Any] | None]:
    """Strongly consistent BatchGetItem of labelled keys: ``{label: item or None}``, in one
    request (more only when DynamoDB returns UnprocessedKeys under throttling)."""
    name = table.name
    by_key = {(k["PK"], k["SK"]): label for label, k in wanted.items()}
    out: dict[str, dict[str, Any] | None] = dict.fromkeys(wanted)
    request: dict[str, Any] = {name: {"Keys": list(wanted.values()), "ConsistentRead": True}}
    while request:
        with translated():
            resp = table.meta.client.batch_get_item(RequestItems=request)
        for item in resp.get("Responses", {}).get(name, []):
            out[by_key[(item["PK"], item["SK"])]] = plain(item)
        request = resp.get("UnprocessedKeys") or {}
    return out


def hydrate(table: Any, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The base items of index entries, in the entries' order (BatchGetItem, 100 keys a
    request, eventually consistent like the index). For the few catalog readers that need a
    whole document from an index that projects only part of it; items deleted since the
    index was read are dropped."""
    import random
    import time

    wanted = [{"PK": e["PK"], "SK": e["SK"]} for e in entries]
    found: dict[tuple[str, str], dict[str, Any]] = {}
    client, name = table.meta.client, table.name
    for start in range(0, len(wanted), 100):
        request: dict[str, Any] = {name: {"Keys": wanted[start:start + 100]}}
        for attempt in range(10):
            with translated():
                resp = client.batch_get_item(RequestItems=request)
            for item in resp.get("Responses", {}).get(name, []):
                found[(item["PK"], item["SK"])] = plain(item)
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(random.uniform(0, 0.02 * 2 ** attempt))
        if request:
            raise Unavailable("could not read the listed items; retry")
    return [found[k] for k in ((w["PK"], w["SK"]) for w in wanted) if k in found]

def retrying(fn: Callable[[], Any], attempts: int = 8,
             retry_on: tuple[type[Exception], ...] = (TransactionCancelled, ConditionFailed),
             ) -> Any:
    """Optimistic-concurrency loop: run ``fn`` (which re-reads) again after a lost race."""
    import random
    import time

    for attempt in range(attempts):
        try:
            return fn()
        except retry_on:
            if attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")


class TableRepository:
    """Base of every repository: takes its table as a parameter, or opens it on first use."""

    def __init__(self, table: Any | None = None) -> None:
        self._table = table

    @property
    def table(self) -> Any:
        if self._table is None:
            from chalicelib.adapters import aws

            self._table = aws.table()
        return self._table


NamedItems = list[tuple[str, dict[str, Any]]]
"""TransactWriteItems entries, each with a name unique in its transaction (``stock``,
``limit``, ``budget``, ``coupon:<code>`` …): a cancellation is reported by these names."""


def write_named(client: Any, named: NamedItems, token: str | None = None) -> None:
    """One TransactWriteItems of named items. A cancellation raises TransactionCancelled
    carrying the names (``failed_names``/``failed_item``/``old``), never positions only."""
    names = [n for n, _ in named]
    if len(set(names)) != len(names):
        raise ValueError(f"transaction item names must be unique: {names}")
    args: dict[str, Any] = {"TransactItems": [item for _, item in named]}
    if token:
        args["ClientRequestToken"] = token
    try:
        with translated():
            client.transact_write_items(**args)
    except TransactionCancelled as e:
        e.named(names)
        raise

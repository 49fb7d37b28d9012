"""Reads and transactions for templates, wallets, codes and reservations."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.adapters import aws, keys
from chalicelib.adapters.dynamo import TableRepository, hydrate, plain, query_all, translated
from chalicelib.config import get_settings
from chalicelib.errors import Unavailable

Key = dict[str, str]
AMBIGUOUS_RETRIES = 3
# DynamoDB Local runs one transaction at a time: parallel transactions finish no sooner there,
# but each call waits behind all the others. Code generation's 10 concurrent 100-item
# transactions took ~10 s per call on a busy machine, past the client's read timeout, and
# `POST .../codes` answered 503 under `make run`. Against a local engine they run one by one.
LOCAL_TRANSACTION_WORKERS = 1


def _key_condition(pk: str, prefix: str | None = None, index: str | None = None
                   ) -> dict[str, Any]:
    """Query kwargs for one partition (optionally an SK prefix) as a plain expression:
    boto3's condition builder is shared by the threads of one resource, so concurrent
    claims built each other's placeholders ('Query condition missed key schema element')."""
    pk_attr, sk_attr = ("GSI1PK", "GSI1SK") if index else ("PK", "SK")
    args: dict[str, Any] = {"KeyConditionExpression": "#pk = :pk",
                            "ExpressionAttributeNames": {"#pk": pk_attr},
                            "ExpressionAttributeValues": {":pk": pk}}
    if prefix is not None:
        args["KeyConditionExpression"] += " AND begins_with(#sk, :sk)"
        args["ExpressionAttributeNames"]["#sk"] = sk_attr
        args["ExpressionAttributeValues"][":sk"] = prefix
    if index:
        args["IndexName"] = index
    return args


class CouponRepository(TableRepository):
    """Single-table access for coupons; the table is created lazily."""

    # --- reads ------------------------------------------------------------------------------
    def get(self, key: Key, consistent: bool = True) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=key, ConsistentRead=consistent).get("Item")
        return plain(item) if item else None

    def get_many(self, wanted: Mapping[str, Key], consistent: bool = True,
                 ) -> dict[str, dict[str, Any] | None]:
        """Several items by key in one BatchGetItem per 100 keys (unprocessed keys retried)."""
        out: dict[str, dict[str, Any] | None] = dict.fromkeys(wanted)
        by_key = {(k["PK"], k["SK"]): name for name, k in wanted.items()}
        pending = list({(k["PK"], k["SK"]) for k in wanted.values()})
        name = self.table.name
        resource = aws.dynamodb_resource()
        while pending:
            chunk, pending = pending[:100], pending[100:]
            request = {name: {"Keys": [{"PK": pk, "SK": sk} for pk, sk in chunk],
                              "ConsistentRead": consistent}}
            while request:
                with translated():
                    resp = resource.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(name, []):
                    out[by_key[(item["PK"], item["SK"])]] = plain(item)
                request = resp.get("UnprocessedKeys") or {}
        # several names may share a key
        for n, k in wanted.items():
            out[n] = out[by_key[(k["PK"], k["SK"])]]
        return out

    def partition(self, pk: str, prefix: str, consistent: bool = True) -> list[dict[str, Any]]:
        return query_all(self.table, ConsistentRead=consistent, **_key_condition(pk, prefix))

    def wallet(self, member_id: str) -> list[dict[str, Any]]:
        """Every coupon the member holds (one Query, strongly consistent)."""
        return self.partition(keys.member_pk(member_id), keys.COUPON)

    def shards(self, template_id: str) -> list[dict[str, Any]]:
        return self.partition(keys.template_pk(template_id), keys.STOCK)

    def funnel(self, template_id: str) -> list[dict[str, Any]]:
        """The template's claim/reserve/redeem counter shards (one key Query)."""
        return self.partition(keys.template_pk(template_id), keys.FUNNEL, consistent=False)

    def batches(self, template_id: str) -> list[dict[str, Any]]:
        """The template's code batch records (one key Query, oldest first)."""
        return self.partition(keys.template_pk(template_id), keys.BATCH, consistent=False)

    def catalog(self) -> list[dict[str, Any]]:
        """Every template's CURRENT item (GSI1 keys, then the items: the index projects no
        template documents; eventually consistent)."""
        return hydrate(self.table, query_all(
            self.table, **_key_condition(keys.TEMPLATE_CATALOG, index=keys.GSI1)))

    def batch_codes(self, template_id: str, batch_id: str) -> list[dict[str, Any]]:
        return query_all(self.table, **_key_condition(
            keys.code_batch_partition(template_id, batch_id), index=keys.GSI1))

    # --- writes -----------------------------------------------------------------------------
    def transact(self, items: list[dict[str, Any]], token: str | None = None) -> None:
        """One TransactWriteItems; TransactionCancelled (with reasons) when a condition fails.

        When the answer is lost (timeout, dropped connection) the same request is sent again
        with the same ClientRequestToken: DynamoDB then reports the first commit as success
        instead of applying it twice. (An engine without token idempotency cancels the
        repeat on its create-only conditions; callers recognise their own items there.)
        """
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

        args: dict[str, Any] = {"TransactItems": items,
                                "ClientRequestToken": (token or uuid.uuid4().hex)[:36]}
        for attempt in range(AMBIGUOUS_RETRIES + 1):
            try:
                with translated():
                    self.table.meta.client.transact_write_items(**args)
                return
            except (ReadTimeoutError, ConnectionClosedError):
                if attempt == AMBIGUOUS_RETRIES:
                    raise Unavailable("the data store did not answer; retry") from None

    def transact_many(self, batches: list[list[dict[str, Any]]], workers: int = 8,
                      ) -> list[Exception | None]:
        """Independent transactions in parallel (code generation); one outcome per batch."""

        def run(batch: list[dict[str, Any]]) -> Exception | None:
            try:
                self.transact(batch, uuid.uuid4().hex)
            except Exception as e:  # the caller decides per batch
                return e
            return None

        if get_settings().dynamodb_endpoint:  # a local engine (see above)
            workers = LOCAL_TRANSACTION_WORKERS
        if len(batches) <= 1 or workers <= 1:
            return [run(b) for b in batches]
        with ThreadPoolExecutor(max_workers=min(workers, len(batches))) as pool:
            return list(pool.map(run, batches))

    def update(self, key: Key, args: dict[str, Any]) -> dict[str, Any]:
        """A single UpdateItem (args from ``update_args``), returning the new item."""
        with translated():
            resp = self.table.update_item(Key=key, ReturnValues="ALL_NEW",
                                          ReturnValuesOnConditionCheckFailure="ALL_OLD", **args)
        return plain(resp.get("Attributes") or {})

    def delete(self, key: Key) -> None:
        with translated():
            self.table.delete_item(Key=key)

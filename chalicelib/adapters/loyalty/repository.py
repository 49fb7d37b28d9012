"""Loyalty reads and transactions on the single table (members' points, orders, jobs)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import (
    TableRepository,
    TransactionCancelled,
    parallel_pages,
    plain,
    translated,
)
from chalicelib.adapters.loyalty.items import lot_from_item
from chalicelib.domain.loyalty.wallet import Lot
from chalicelib.errors import Conflict, ValidationFailed


class StaleWrite(Conflict):
    """A guarded item changed between read and write: re-read and try again."""

    def __init__(self, cancelled: TransactionCancelled | None = None) -> None:
        super().__init__("the member's points changed concurrently; retry")
        self.cancelled = cancelled


class LoyaltyRepository(TableRepository):
    # --- reads --------------------------------------------------------------------------
    def get_many(self, wanted: dict[str, dict[str, str]]) -> dict[str, dict[str, Any] | None]:
        """Strongly consistent BatchGetItem of named keys: one request (more only when
        DynamoDB returns UnprocessedKeys under throttling)."""
        name = self.table.name
        by_key = {(k["PK"], k["SK"]): label for label, k in wanted.items()}
        out: dict[str, dict[str, Any] | None] = dict.fromkeys(wanted)
        request = {name: {"Keys": list(wanted.values()), "ConsistentRead": True}}
        while request:
            with translated():
                resp = self.table.meta.client.batch_get_item(RequestItems=request)
            for item in resp.get("Responses", {}).get(name, []):
                out[by_key[(item["PK"], item["SK"])]] = plain(item)
            request = resp.get("UnprocessedKeys") or {}
        return out

    def get(self, key: dict[str, str], consistent: bool = True) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=key, ConsistentRead=consistent).get("Item")
        return plain(item) if item else None

    def member_points(self, member_id: str, consistent: bool = False
                      ) -> tuple[dict[str, Any] | None, list[Lot]]:
        """The LOYALTY item and every open lot, earliest-expiring first: one Query."""
        from boto3.dynamodb.conditions import Key

        low, high = keys.loyalty_range()
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(keys.member_pk(member_id))
            & Key("SK").between(low, high),
            "ConsistentRead": consistent,
        }
        loyalty, lots = None, []
        while True:
            with translated():
                page = self.table.query(**kwargs)
            for raw in page.get("Items", []):
                item = plain(raw)
                if item["SK"] == keys.LOYALTY:
                    loyalty = item
                elif item["SK"].startswith(keys.LOT):
                    lots.append(lot_from_item(item))
            if not page.get("LastEvaluatedKey"):
                return loyalty, lots
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def order_and_refunds(self, order_id: str
                          ) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
        from boto3.dynamodb.conditions import Key

        from chalicelib.adapters.dynamo import query_all

        items = query_all(self.table, ConsistentRead=True,
                          KeyConditionExpression=Key("PK").eq(keys.order(order_id)["PK"]))
        order = next((i for i in items if i["SK"] == "ORDER"), None)
        refunds = {i["refund_id"]: i for i in items if i["SK"].startswith(keys.REFUND)}
        return order, refunds

    def history(self, member_id: str, limit: int, cursor: str | None
                ) -> tuple[list[dict[str, Any]], str | None]:
        """Ledger entries newest first; the cursor is opaque and bound to this member."""
        from boto3.dynamodb.conditions import Key

        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(keys.member_pk(member_id))
            & Key("SK").begins_with(keys.LEDGER),
            "ScanIndexForward": False, "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {"PK": keys.member_pk(member_id),
                                           "SK": decode_cursor(cursor)}
        with translated():
            page = self.table.query(**kwargs)
        items = [plain(i) for i in page.get("Items", [])]
        lek = page.get("LastEvaluatedKey")
        return items, encode_cursor(lek["SK"]) if lek else None

    def lot_expiry_pages(self, local_date: str) -> Iterator[list[dict[str, Any]]]:
        """Pages of the lots expiring on ``local_date``: every date shard in parallel, plus
        the legacy unsharded key. A member's lots sit on one shard, sorted together."""
        return self._shard_pages(keys.GSI1, "GSI1PK", keys.lot_expiry_partitions(local_date))

    def review_pages(self, local_date: str) -> Iterator[list[dict[str, Any]]]:
        """Pages of index entries (keys only) of members whose tier review is due on
        ``local_date``: every date shard in parallel, plus the legacy key."""
        return self._shard_pages(keys.GSI1, "GSI1PK", keys.review_partitions(local_date))

    def _shard_pages(self, index: str, pk_attr: str, partitions: list[str]
                     ) -> Iterator[list[dict[str, Any]]]:
        from boto3.dynamodb.conditions import Key

        return parallel_pages(self.table, [
            {"IndexName": index, "KeyConditionExpression": Key(pk_attr).eq(p)}
            for p in partitions])

    # --- writes -------------------------------------------------------------------------
    def transact(self, items: list[dict[str, Any]], token: str | None = None,
                 guarded: tuple[int, ...] = ()) -> None:
        """One TransactWriteItems. A failed condition on a ``guarded`` index (a version or
        lot remainder read earlier) or a transaction conflict raises StaleWrite."""
        from botocore.exceptions import ClientError

        args: dict[str, Any] = {"TransactItems": items}
        if token:
            args["ClientRequestToken"] = token
        try:
            with translated():
                self.table.meta.client.transact_write_items(**args)
        except TransactionCancelled as e:
            if e.throttled or any(e.failed(i) for i in guarded):
                raise StaleWrite(e) from e
            raise
        except ClientError as e:  # same token, different request: a concurrent twin
            if e.response.get("Error", {}).get("Code") == "IdempotentParameterMismatchException":
                raise StaleWrite() from e
            raise

    def transact_named(self, named: list[tuple[str, dict[str, Any]]], token: str | None = None,
                       guarded: frozenset[str] | set[str] = frozenset()) -> None:
        """``transact`` with every item named: a cancellation carries the names
        (``TransactionCancelled.failed_names``); a failed ``guarded`` item, or a
        transaction conflict, raises StaleWrite (read again and retry)."""
        names = [n for n, _ in named]
        if len(set(names)) != len(names):
            raise ValueError(f"transaction item names must be unique: {names}")
        try:
            self.transact([item for _, item in named], token)
        except StaleWrite as e:
            if e.cancelled is not None:
                e.cancelled.named(names)
            raise
        except TransactionCancelled as e:
            e.named(names)
            if e.failed_names & set(guarded):
                raise StaleWrite(e) from e
            raise

    def put(self, item: dict[str, Any]) -> None:
        from chalicelib.adapters.dynamo import storable

        with translated():
            self.table.put_item(Item=storable(item))


def encode_cursor(sk: str) -> str:
    return base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        sk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        sk = ""
    if not sk.startswith(keys.LEDGER):
        raise ValidationFailed("the cursor is not valid", details=[
            {"path": "/query/cursor", "message": "use next_cursor from a previous page"}])
    return sk

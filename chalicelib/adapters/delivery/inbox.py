"""The member inbox in DynamoDB: messages under the member's partition, and an unread
marker per unread message.

A message is written by the delivery transaction (``message_named``), so it exists exactly
when its send record does; reading and marking read are member requests (key queries only).

Why markers and not a counter: messages expire by TTL, and a counter is not told. Decrementing
it on the TTL service's stream REMOVE records would still count a message from the moment it
expires until DynamoDB gets round to deleting it (up to days later), and would miss or double
a decrement whenever the stream is replayed. Instead each unread message has a tiny marker
``INBOXUNREAD#<expiry epoch>#<id>`` (keys only, same TTL) written with it and deleted in the
same transaction that marks it read. Unread = a COUNT query of the markers whose expiry is
after now: exact at every instant (expired-but-not-yet-deleted markers sort before now and
are outside the key range), and cheap (a few dozen bytes per unread message, no message
bodies read).
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    TransactionCancelled,
    plain,
    storable,
    translated,
    write_named,
)
from chalicelib.errors import NotFound, Unavailable, ValidationFailed

TTL_DAYS = 180
PUBLIC = ("message_id", "title", "body", "deep_link", "campaign_id", "created_at", "read",
          "read_at")


def new_message_id(at: datetime) -> str:
    """Time-ordered id: 20260308T010000123-9f2c41d7 (sorts by creation time)."""
    return at.strftime("%Y%m%dT%H%M%S") + f"{at.microsecond // 1000:03d}-{secrets.token_hex(4)}"


def _oldest_live_id(now: datetime) -> str:
    """The smallest message id (a timestamp prefix) that has not expired at ``now``."""
    born = now - timedelta(days=TTL_DAYS)
    return born.strftime("%Y%m%dT%H%M%S") + f"{born.microsecond // 1000:03d}"


def encode_cursor(last_key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"sk": last_key["SK"]}).encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        sk = json.loads(base64.urlsafe_b64decode(cursor.encode()))["sk"]
        if not isinstance(sk, str) or not sk.startswith(keys.INBOX):
            raise ValueError
        return sk
    except Exception:
        raise ValidationFailed("invalid cursor", details=[
            {"path": "/cursor", "message": "use the next_cursor value of a previous page"}]
        ) from None


class InboxRepository(TableRepository):
    def message_named(self, member_id: str, message: dict[str, Any], at: datetime
                      ) -> NamedItems:
        """Named TransactItems storing one message: ``message`` and its ``unread`` marker."""
        mid = new_message_id(at)
        expires = int((at + timedelta(days=TTL_DAYS)).timestamp())
        item = {**keys.inbox_message(member_id, mid), **message, "message_id": mid,
                "read": False, "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.")
                + f"{at.microsecond // 1000:03d}Z", keys.TTL_ATTR: expires}
        marker = {**keys.inbox_unread(member_id, expires, mid), keys.TTL_ATTR: expires}
        return [("message", self._put_new(item)), ("unread", self._put_new(marker))]

    def message_items(self, member_id: str, message: dict[str, Any], at: datetime
                      ) -> list[dict[str, Any]]:
        """``message_named`` without the names (the message first), for a plain
        TransactWriteItems of its own."""
        return [item for _, item in self.message_named(member_id, message, at)]

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"TableName": self.table.name, "Item": storable(item),
                        "ConditionExpression": "attribute_not_exists(PK)"}}

    def page(self, member_id: str, cursor: str | None, limit: int, now: datetime
             ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, unexpired at ``now`` only (a message lives TTL_DAYS from its id's
        timestamp; DynamoDB may delete it days later); ``cursor`` continues after the last
        message of the previous page."""
        from boto3.dynamodb.conditions import Key

        pk, first, last = keys.inbox_since(member_id, _oldest_live_id(now))
        kw: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(pk) & Key("SK").between(first, last),
            "ScanIndexForward": False, "Limit": limit}
        if cursor:
            kw["ExclusiveStartKey"] = {"PK": keys.member_pk(member_id), "SK": decode_cursor(cursor)}
        with translated():
            resp = self.table.query(**kw)
        items = [_public(plain(i)) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        return items, encode_cursor(last) if last and len(items) == limit else None

    def unread(self, member_id: str, now: datetime) -> int:
        """Unread messages that have not expired at ``now`` (see the module docstring)."""
        from boto3.dynamodb.conditions import Key

        pk, first, last = keys.inbox_unread_after(member_id, int(now.timestamp()))
        kw: dict[str, Any] = {"KeyConditionExpression": Key("PK").eq(pk)
                              & Key("SK").between(first, last), "Select": "COUNT"}
        count = 0
        while True:
            with translated():
                resp = self.table.query(**kw)
            count += int(resp.get("Count", 0))
            if not resp.get("LastEvaluatedKey"):
                return count
            kw["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def mark_read(self, member_id: str, message_id: str, at: str, now: datetime
                  ) -> dict[str, Any]:
        """Mark one message read and delete its unread marker, in one transaction (once: a
        repeat finds it read and changes nothing); 404 if it is not theirs or has expired."""
        key = keys.inbox_message(member_id, message_id)
        with translated():
            item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        if not item or int(item[keys.TTL_ATTR]) <= int(now.timestamp()):
            raise NotFound("message not found")
        if item.get("read"):
            return _public(plain(item))
        marker = keys.inbox_unread(member_id, int(item[keys.TTL_ATTR]), message_id)
        try:
            write_named(self.table.meta.client, [
                ("message", {"Update": {
                    "TableName": self.table.name, "Key": key,
                    "UpdateExpression": "SET #r = :t, #at = :at",
                    "ConditionExpression": "attribute_exists(PK) AND #r = :f",
                    "ExpressionAttributeNames": {"#r": "read", "#at": "read_at"},
                    "ExpressionAttributeValues": {":t": True, ":f": False, ":at": at}}}),
                ("unread", {"Delete": {"TableName": self.table.name, "Key": marker}})])
        except TransactionCancelled as e:
            if e.throttled:
                raise Unavailable("inbox busy; retry") from e
            # Marked read meanwhile (or expired and deleted): show what is stored.
            with translated():
                item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
            if not item:
                raise NotFound("message not found") from e
            return _public(plain(item))
        return _public({**plain(item), "read": True, "read_at": at})


    # --- one-off migration (operator CLI only) ---------------------------------------------

    def backfill_unread(self, now: datetime, segments: int = 4) -> dict[str, int]:
        """Unread markers for messages stored before markers existed, and the old counter
        items deleted. There is no index of all members, so this reads the table with a
        segmented Scan: it is run once by an operator (`perks inbox backfill-unread`), never
        on a request or scheduled path. Idempotent: a marker is put only where none is, and
        only while its message is still unread (one transaction), so a member marking it
        read meanwhile never leaves a stray marker."""
        from boto3.dynamodb.conditions import Attr

        report = {"messages": 0, "markers_written": 0, "markers_present": 0, "read": 0,
                  "expired": 0, "states_deleted": 0}
        flt = Attr("SK").begins_with(keys.INBOX) | Attr("SK").eq(keys.LEGACY_INBOX_STATE)
        for segment in range(segments):
            kw: dict[str, Any] = {"Segment": segment, "TotalSegments": segments,
                                  "FilterExpression": flt, "ConsistentRead": True}
            while True:
                with translated():
                    resp = self.table.scan(**kw)
                for item in resp.get("Items", []):
                    self._backfill_one(plain(item), now, report)
                if not resp.get("LastEvaluatedKey"):
                    break
                kw["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return report

    def _backfill_one(self, item: dict[str, Any], now: datetime, report: dict[str, int]
                      ) -> None:
        member = keys.member_of(str(item["PK"]))
        if member is None:
            return
        if item["SK"] == keys.LEGACY_INBOX_STATE:
            with translated():
                self.table.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
            report["states_deleted"] += 1
            return
        report["messages"] += 1
        expires = int(item.get(keys.TTL_ATTR) or 0)
        if item.get("read"):
            report["read"] += 1
            return
        if expires <= int(now.timestamp()):
            report["expired"] += 1
            return
        marker = {**keys.inbox_unread(member, expires, str(item["message_id"])),
                  keys.TTL_ATTR: expires}
        try:
            write_named(self.table.meta.client, [
                ("message", {"ConditionCheck": {
                    "TableName": self.table.name, "Key": {"PK": item["PK"], "SK": item["SK"]},
                    "ConditionExpression": "#r = :f", "ExpressionAttributeNames": {"#r": "read"},
                    "ExpressionAttributeValues": {":f": False}}}),
                ("marker", self._put_new(marker))])
        except TransactionCancelled as e:
            failed = e.failed_names
            if not failed:
                raise
            report["read" if "message" in failed else "markers_present"] += 1
            return
        report["markers_written"] += 1


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in PUBLIC if k in item}

"""The unread count stays exact when messages expire by TTL (on both engines)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters import aws, keys
from chalicelib.adapters.delivery.inbox import TTL_DAYS, InboxRepository
from chalicelib.services import clock
from chalicelib.services.delivery import inbox
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    fast_moto_transactions,
    partition,
    utc,
)


def put_message(member_id: str, at) -> str:
    items = InboxRepository().message_items(member_id, {"title": "t", "body": "b",
                                                        "campaign_id": "c"}, at)
    aws.table().meta.client.transact_write_items(TransactItems=items)
    return str(items[0]["Put"]["Item"]["message_id"])


def unread_at(member_id: str, at) -> int:
    clock.freeze(at)
    try:
        return inbox.unread(member_id).unread
    finally:
        clock.freeze(None)


def test_expired_unread_messages_stop_counting_even_before_ttl_deletes_them(engine):
    add_member("m-1")
    old = utc(2026, 1, 1, 0, 0)
    first = put_message("m-1", old)
    put_message("m-1", old + timedelta(days=10))
    put_message("m-1", old + timedelta(days=20))
    assert unread_at("m-1", old + timedelta(days=21)) == 3
    # the first message's TTL passes; DynamoDB has not deleted it yet (it may take days)
    just_after = old + timedelta(days=TTL_DAYS, seconds=1)
    assert any(i["message_id"] == first for i in partition("m-1", keys.INBOX))
    assert unread_at("m-1", just_after - timedelta(seconds=2)) == 3
    assert unread_at("m-1", just_after) == 2  # a counter never decremented said 3
    assert unread_at("m-1", old + timedelta(days=TTL_DAYS + 15)) == 1
    assert unread_at("m-1", old + timedelta(days=TTL_DAYS + 25)) == 0


def test_ttl_deleting_messages_and_markers_leaves_the_count_exact(engine):
    add_member("m-2")
    at = utc(2026, 1, 1, 0, 0)
    ids = [put_message("m-2", at + timedelta(minutes=i)) for i in range(3)]
    # what the TTL service does: delete the expired message and its marker, whenever
    table = aws.table()
    for item in partition("m-2", keys.INBOX_UNREAD) + partition("m-2", keys.INBOX):
        if ids[0] in item["SK"]:
            table.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
    assert unread_at("m-2", at + timedelta(days=1)) == 2
    clock.freeze(at + timedelta(days=2))
    try:
        inbox.mark_read("m-2", ids[1])
        inbox.mark_read("m-2", ids[1])  # twice: counted once
        assert inbox.unread("m-2").unread == 1
        assert inbox.page("m-2", None, 10).unread == 1
    finally:
        clock.freeze(None)


def test_expired_messages_are_not_listed_or_markable_before_ttl_deletes_them(engine):
    import pytest

    from chalicelib.errors import NotFound

    add_member("m-3")
    at = utc(2026, 1, 1, 0, 0)
    old = put_message("m-3", at)
    new = put_message("m-3", at + timedelta(days=30))
    clock.freeze(at + timedelta(days=TTL_DAYS, seconds=1))
    try:
        listed = inbox.page("m-3", None)
        assert [m.message_id for m in listed.messages] == [new]
        assert listed.unread == 1
        with pytest.raises(NotFound):
            inbox.mark_read("m-3", old)
        assert inbox.mark_read("m-3", new).read is True
    finally:
        clock.freeze(None)

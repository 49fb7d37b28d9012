"""`perks inbox backfill-unread`: messages stored before per-message unread markers count
again, the old INBOXSTATE counters go, and a second run changes nothing (both engines)."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters import aws, keys
from chalicelib.adapters.delivery.inbox import TTL_DAYS
from chalicelib.services import clock
from chalicelib.services.delivery import inbox
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    fast_moto_transactions,
    partition,
    utc,
)
from tests.integration.test_inbox_unread import put_message, unread_at


def _as_before_markers(member_id: str, unread_counter: int) -> None:
    """What the table held before markers: no INBOXUNREAD items, one INBOXSTATE counter."""
    table = aws.table()
    for item in partition(member_id, keys.INBOX_UNREAD):
        table.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
    table.put_item(Item={"PK": keys.member_pk(member_id), "SK": keys.LEGACY_INBOX_STATE,
                         "unread": unread_counter})


def test_backfill_restores_exact_unread_counts_and_deletes_the_old_counters(engine):
    old = utc(2026, 1, 1, 0, 0)
    now = old + timedelta(days=TTL_DAYS + 5)  # the first message has expired by then
    add_member("m-1")
    add_member("m-2")
    put_message("m-1", old)                                  # expired
    put_message("m-1", old + timedelta(days=10))             # unread
    read_id = put_message("m-1", old + timedelta(days=20))   # read below
    put_message("m-2", old + timedelta(days=30))             # unread
    clock.freeze(old + timedelta(days=21))
    try:
        inbox.mark_read("m-1", read_id)
    finally:
        clock.freeze(None)
    _as_before_markers("m-1", 7)
    _as_before_markers("m-2", 1)
    assert unread_at("m-1", now) == 0 and unread_at("m-2", now) == 0  # the reported drop

    clock.freeze(now)
    try:
        report = inbox.backfill_unread(segments=3)
        assert report == {"messages": 4, "markers_written": 2, "markers_present": 0,
                          "read": 1, "expired": 1, "states_deleted": 2}, report
        again = inbox.backfill_unread(segments=3)
        assert again["markers_written"] == 0 and again["markers_present"] == 2, again
        assert again["states_deleted"] == 0
    finally:
        clock.freeze(None)
    assert unread_at("m-1", now) == 1 and unread_at("m-2", now) == 1
    for m in ("m-1", "m-2"):
        assert not [i for i in partition(m, "INBOX") if i["SK"] == keys.LEGACY_INBOX_STATE]
    # the markers behave like ones written with the message: reading it clears it
    clock.freeze(now)
    try:
        [msg] = inbox.page("m-2", None, 10).messages
        inbox.mark_read("m-2", msg.message_id)
        assert inbox.unread("m-2").unread == 0
    finally:
        clock.freeze(None)


def test_the_cli_command_is_registered():
    from chalicelib.cli import build_parser

    args = build_parser().parse_args(["inbox", "backfill-unread", "--segments", "2"])
    assert args.segments == 2 and args.func.__name__ == "backfill_unread"

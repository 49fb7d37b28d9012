"""The member's inbox: pages newest first, unread count, mark read."""

from __future__ import annotations

from chalicelib.adapters.delivery.inbox import InboxRepository
from chalicelib.domain.delivery.views import InboxMessage, InboxPage, UnreadCount
from chalicelib.errors import ValidationFailed
from chalicelib.services import clock
from chalicelib.services.deps import deps


def repo() -> InboxRepository:
    return deps().inbox


def page(member_id: str, cursor: str | None, limit: int = 20) -> InboxPage:
    """One page of messages, newest first, with the unread count."""
    if not 1 <= limit <= 100:
        raise ValidationFailed("limit must be 1-100", details=[
            {"path": "/limit", "message": "between 1 and 100"}])
    items, nxt = repo().page(member_id, cursor, limit, clock.now())
    return InboxPage(messages=[InboxMessage.model_validate(i) for i in items],
                     unread=repo().unread(member_id, clock.now()), next_cursor=nxt)


def unread(member_id: str) -> UnreadCount:
    return UnreadCount(unread=repo().unread(member_id, clock.now()))


def backfill_unread(segments: int = 4) -> dict[str, int]:
    """One-off operator migration: unread markers for messages stored before them, old
    counter items deleted (a segmented Scan: CLI only, see the repository)."""
    return repo().backfill_unread(clock.now(), segments)


def mark_read(member_id: str, message_id: str) -> InboxMessage:
    """Mark one of the member's messages read (repeating it changes nothing)."""
    if not message_id or len(message_id) > 64:
        raise ValidationFailed("invalid message id", details=[
            {"path": "/message_id", "message": "use a message_id from GET /me/inbox"}])
    done = repo().mark_read(member_id, message_id, clock.iso(), clock.now())
    return InboxMessage.model_validate(done)

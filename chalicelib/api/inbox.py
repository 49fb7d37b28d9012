"""The member inbox (member) and campaign delivery stats (marketer, admin)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.delivery.views import CampaignStats, InboxMessage, InboxPage, UnreadCount
from chalicelib.errors import ValidationFailed

bp = Blueprint(__name__)
api = Api(bp)


def _limit(ctx: Ctx) -> int:
    raw = ctx.query.get("limit") or "20"
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise ValidationFailed("limit must be 1-100", details=[
            {"path": "/limit", "message": "an integer between 1 and 100"}])
    return int(raw)


@api.route("GET", "/me/inbox", roles=(Role.member,), response=InboxPage,
           query={"cursor": "next_cursor of the previous page", "limit": "1-100 (20)"},
           errors=(400,))
def my_inbox(ctx: Ctx) -> InboxPage:
    """The calling member's messages, newest first, with the unread count."""
    from chalicelib.services.delivery import inbox

    return inbox.page(ctx.sub, ctx.query.get("cursor") or None, _limit(ctx))


@api.route("GET", "/me/inbox/unread", roles=(Role.member,), response=UnreadCount)
def my_unread(ctx: Ctx) -> UnreadCount:
    """How many of the calling member's messages are unread."""
    from chalicelib.services.delivery import inbox

    return inbox.unread(ctx.sub)


@api.route("POST", "/me/inbox/{message_id}/read", roles=(Role.member,), response=InboxMessage,
           errors=(400, 404))
def read_message(ctx: Ctx, message_id: str) -> InboxMessage:
    """Mark one of the calling member's messages read."""
    from chalicelib.services.delivery import inbox

    return inbox.mark_read(ctx.sub, message_id)


@api.route("GET", "/admin/campaigns/{campaign_id}/stats", roles=(Role.marketer, Role.admin),
           response=CampaignStats, errors=(404,))
def campaign_stats(ctx: Ctx, campaign_id: str) -> CampaignStats:
    """Delivery counters per occurrence and in total: targeted, held out, suppressed by
    reason, deferred, sent per channel, coupons, points, cost, attributed orders, lift."""
    from chalicelib.services.delivery import delivery

    return delivery.campaign_stats(campaign_id)

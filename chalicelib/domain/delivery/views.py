"""Response shapes of the inbox and campaign-stats endpoints."""

from __future__ import annotations

from chalicelib.domain.models import Out


class InboxMessage(Out):
    message_id: str
    title: str
    body: str
    deep_link: str | None = None
    campaign_id: str | None = None
    created_at: str
    read: bool = False
    read_at: str | None = None


class InboxPage(Out):
    """Newest first; pass ``next_cursor`` as ``?cursor=`` for the next page."""

    messages: list[InboxMessage]
    unread: int
    next_cursor: str | None = None


class UnreadCount(Out):
    unread: int


class Counters(Out):
    """Raw counters plus derived rates; money in fen."""

    targeted: int = 0
    assigned: int = 0  # the treated group: outside the holdout, delivered or not
    held_out: int = 0
    deferred: int = 0
    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0  # push/SMS/webhook sends given up after the outbox's last retry
    coupons_issued: int = 0
    coupons_redeemed: int = 0
    points_awarded: int = 0
    draw_entries_granted: int = 0  # lucky-draw entries (no cost: the draw pays its prizes)
    cost_minor: int = 0
    orders_treated: int = 0
    revenue_treated: int = 0
    converters_treated: int = 0
    orders_holdout: int = 0
    revenue_holdout: int = 0
    converters_holdout: int = 0
    suppressed: dict[str, int] = {}
    sent: dict[str, int] = {}
    failed_by_channel: dict[str, int] = {}
    # push/SMS/webhook retries given up as no longer allowed, by reason (erased,
    # consent_withdrawn, campaign_paused, campaign_ended); also counted in failed
    outbox_stopped: dict[str, int] = {}
    order_rate_treated: float | None = None
    order_rate_holdout: float | None = None
    lift: float | None = None


class OccurrenceStats(Counters):
    occurrence: str


class CampaignStats(Out):
    campaign_id: str
    totals: Counters
    occurrences: list[OccurrenceStats]
    budget_used: dict[str, object] = {}
    attribution_days: int
    # A journey's members: entered, active (at a wait), exited, completed, per-step counts.
    journey: dict[str, object] | None = None

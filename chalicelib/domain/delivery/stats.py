"""Campaign statistics: counter names and the derived figures (rates, lift). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SUPPRESS_REASONS = ("consent", "cap", "budget", "erased", "limit", "quiet")
CHANNELS = ("push", "sms", "inbox", "webhook", "email")
# Outbox retries finished as failed because they were no longer allowed when retried.
OUTBOX_STOP_REASONS = ("erased", "consent_withdrawn", "campaign_paused", "campaign_ended")

# ``assigned``: members in the treated group (intent to treat: drawn outside the holdout and
# decided, delivered or not); the lift's treated denominator. Counted since results
# compared delivered members only (older data falls back to ``delivered``).
COUNTERS = (
    "targeted", "held_out", "deferred", "delivered", "failed", "dead_lettered",
    *(f"suppressed_{r}" for r in SUPPRESS_REASONS),
    *(f"sent_{c}" for c in CHANNELS[:4]),
    *(f"failed_{c}" for c in CHANNELS[:4]),
    *(f"outbox_stopped_{r}" for r in OUTBOX_STOP_REASONS),
    "coupons_issued", "coupons_redeemed", "points_awarded", "cost_minor",
    "orders_treated", "revenue_treated", "converters_treated",
    "orders_holdout", "revenue_holdout", "converters_holdout",
    "assigned",  # new counters go last: CSV columns keep their positions
    "sent_email", "failed_email",
    "draw_entries_granted",  # lucky-draw entries granted by draw_entries actions
    # members who withdrew consent through one of the campaign's messages (the one-click
    # unsubscribe link, an SES complaint or permanent bounce): daily results only
    "unsubscribed",
)


def merge(rows: Iterable[Mapping[str, object]]) -> dict[str, int]:
    """Sum counter rows (shards, occurrences) into one; unknown keys are ignored."""
    out = dict.fromkeys(COUNTERS, 0)
    for row in rows:
        for k in COUNTERS:
            v = row.get(k)
            if isinstance(v, (int, float)):
                out[k] += int(v)
    return out


def treated_members(c: Mapping[str, int]) -> int:
    """The treated group's size: every member assigned to it (intent to treat); data written
    before ``assigned`` existed only knows ``delivered``."""
    return int(c.get("assigned", 0) or c.get("delivered", 0))


def derived(c: Mapping[str, int]) -> dict[str, dict[str, int] | float | None]:
    """Rates and lift: the treated group's order rate minus the holdout's (None when either
    group is empty)."""
    treated, held = treated_members(c), c.get("held_out", 0)
    t_rate = c.get("converters_treated", 0) / treated if treated else None
    h_rate = c.get("converters_holdout", 0) / held if held else None
    lift = None if t_rate is None or h_rate is None else round(t_rate - h_rate, 6)
    return {
        "suppressed": {r: c.get(f"suppressed_{r}", 0) for r in SUPPRESS_REASONS},
        "sent": {ch: c.get(f"sent_{ch}", 0) for ch in CHANNELS},
        "failed_by_channel": {ch: c.get(f"failed_{ch}", 0) for ch in CHANNELS},
        "outbox_stopped": {r: c.get(f"outbox_stopped_{r}", 0) for r in OUTBOX_STOP_REASONS},
        "order_rate_treated": None if t_rate is None else round(t_rate, 6),
        "order_rate_holdout": None if h_rate is None else round(h_rate, 6),
        "lift": lift,
    }

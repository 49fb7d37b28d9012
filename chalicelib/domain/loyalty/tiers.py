"""Tiers on a rolling 12-month window kept as monthly buckets. Pure.

The window is the current calendar month and the 11 before it, in the program's timezone.
Buckets live on the member's LOYALTY item as ``{"YYYY-MM": {"spend": n, "orders": n}}``;
an order lands in the bucket of its ``placed_at`` (late and out-of-order orders are fine),
and buckets that fall out of the window are dropped on the next write. Upgrades happen on
the order that qualifies; downgrades only at the review date, by the program's policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.loyalty import dates
from chalicelib.domain.loyalty.program import WINDOW_MONTHS, Program, ReviewPolicy

Window = dict[str, dict[str, int]]


def prune(window: Window, now: datetime, tz: str) -> Window:
    keep = set(dates.window_keys(now, tz, WINDOW_MONTHS))
    return {m: dict(b) for m, b in window.items() if m in keep}


def add(window: Window, month: str, spend: int, orders: int, now: datetime, tz: str) -> Window:
    """Window after adding (or, with negatives, removing) spend and orders in ``month``.

    Months outside the window are not stored; counts never go below zero.
    """
    out = prune(window, now, tz)
    if month not in set(dates.window_keys(now, tz, WINDOW_MONTHS)):
        return out
    b = out.setdefault(month, {"spend": 0, "orders": 0})
    b["spend"] = max(0, b.get("spend", 0) + spend)
    b["orders"] = max(0, b.get("orders", 0) + orders)
    return out


def totals(window: Window, now: datetime, tz: str) -> tuple[int, int]:
    """(qualifying spend, orders) over the rolling window at ``now``."""
    keep = set(dates.window_keys(now, tz, WINDOW_MONTHS))
    spend = sum(int(b.get("spend", 0)) for m, b in window.items() if m in keep)
    orders = sum(int(b.get("orders", 0)) for m, b in window.items() if m in keep)
    return spend, orders


def qualified(program: Program, spend: int, orders: int) -> int:
    """Index of the highest tier whose thresholds the window meets (0 = base)."""
    best = 0
    for i, tier in enumerate(program.tiers):
        if tier.thresholds.met(spend, orders):
            best = i
    return best


@dataclass(frozen=True)
class Progress:
    next_tier: str | None
    spend_to_next: int | None
    orders_to_next: int | None


def progress(program: Program, index: int, spend: int, orders: int) -> Progress:
    """What is missing for the next tier (None where that tier has no such threshold)."""
    if index + 1 >= len(program.tiers):
        return Progress(None, None, None)
    t = program.tiers[index + 1].thresholds
    return Progress(
        program.tiers[index + 1].id,
        max(0, t.min_spend - spend) if t.min_spend is not None else None,
        max(0, t.min_orders - orders) if t.min_orders is not None else None,
    )


def review_date(since: datetime, program: Program) -> str:
    """The local date a tier reached at ``since`` is reviewed (``review.months`` later)."""
    d = dates.local_date(since, program.timezone)
    return dates.add_months(d, program.review.months).isoformat()


@dataclass(frozen=True)
class TierChange:
    before: str
    after: str
    kind: str  # "upgrade" | "downgrade" | "retain"
    since: str | None  # ISO instant the (new) tier counts from; None = unchanged
    review_at: str | None  # local date of the next review; None for the base tier

    @property
    def changed(self) -> bool:
        return self.before != self.after


def after_order(program: Program, current: str | None, spend: int, orders: int,
                now: datetime) -> TierChange | None:
    """The upgrade an order causes, if the window now qualifies for a higher tier."""
    idx = program.tier_index(current)
    q = qualified(program, spend, orders)
    if q <= idx:
        return None
    after = program.tiers[q].id
    return TierChange(program.tiers[idx].id, after, "upgrade", dates.iso(now),
                      review_date(now, program))


def review(program: Program, current: str | None, spend: int, orders: int,
           at: datetime) -> TierChange:
    """Outcome of a due review at ``at``: keep (new review in ``months``), or step down.

    ``one_down`` drops one level; ``to_qualified`` drops to what the window qualifies for.
    Never below the base tier; a window that qualifies higher keeps (or raises) the tier.
    """
    idx = program.tier_index(current)
    q = qualified(program, spend, orders)
    if q >= idx:
        new, kind = q, ("upgrade" if q > idx else "retain")
    elif program.review.policy == ReviewPolicy.one_down:
        new, kind = idx - 1, "downgrade"
    else:
        new, kind = q, "downgrade"
    before, after = program.tiers[idx].id, program.tiers[new].id
    since = None if kind == "retain" else dates.iso(at)  # retained: still counts from before
    return TierChange(before, after, kind, since,
                      review_date(at, program) if new > 0 else None)

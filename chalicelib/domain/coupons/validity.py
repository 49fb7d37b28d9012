"""When a coupon can be claimed and used. Pure; every datetime is timezone-aware.

* Claim window: ``claim_starts_at`` (default ``starts_at``) ≤ now < ``claim_ends_at``
  (default ``ends_at``).
* Use window of a claimed coupon: absolute ``[starts_at, ends_at)``, or with
  ``days_after_claim: N`` ``[claimed_at, claimed_at + N days)`` capped by ``ends_at``
  (exactly N x 24 h, not "until the end of the Nth day").
* 限时 windows: the coupon is also only usable on the listed ISO weekdays between ``start``
  (inclusive) and ``end`` (exclusive), local time in the program timezone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.coupons.rules import Window
from chalicelib.domain.coupons.template import Validity


def claim_window(v: Validity) -> tuple[datetime, datetime]:
    return (v.claim_starts_at or v.starts_at, v.claim_ends_at or v.ends_at)


def claim_problem(v: Validity, now: datetime) -> str | None:
    """None when claiming is open, else CLAIM_NOT_STARTED / CLAIM_ENDED."""
    start, end = claim_window(v)
    if now < start:
        return "CLAIM_NOT_STARTED"
    if now >= end:
        return "CLAIM_ENDED"
    return None


def claim_detail(v: Validity, now: datetime, path: str) -> dict[str, str] | None:
    """The error detail when claiming is closed, with the window's dates (a sample template
    that "does not work" today says when it did or will)."""
    problem = claim_problem(v, now)
    if problem is None:
        return None
    start, end = claim_window(v)
    return {"path": path, "message": problem, "reason": problem,
            "starts_at": start.isoformat(), "ends_at": end.isoformat()}


def claim_closed_message(detail: dict[str, str], prefix: str) -> str:
    """``prefix``: claiming opens at … / ended at … (the window in its own offset)."""
    if detail["message"] == "CLAIM_NOT_STARTED":
        return f"{prefix}: claiming opens at {detail['starts_at']}"
    if detail["message"] == "CLAIM_ENDED":
        return f"{prefix}: claiming ended at {detail['ends_at']}"
    return prefix


def use_period(v: Validity, claimed_at: datetime) -> tuple[datetime, datetime]:
    """[valid_from, valid_until) of a coupon claimed at ``claimed_at``."""
    if v.days_after_claim is None:
        return v.starts_at, v.ends_at
    start = max(claimed_at, v.starts_at)
    return start, use_until(v.ends_at, v.days_after_claim, claimed_at)


def use_until(ends_at: datetime, days_after_claim: int | None, claimed_at: datetime
              ) -> datetime:
    """``valid_until`` of a coupon claimed at ``claimed_at`` (what campaign messages promise:
    the coupon's own expiry, not the template's end)."""
    if days_after_claim is None:
        return ends_at
    return min(claimed_at + timedelta(days=days_after_claim), ends_at)


def in_windows(windows: tuple[Window, ...], at: datetime, tz: ZoneInfo) -> bool:
    """True when there are no windows or ``at`` (local to ``tz``) falls inside one."""
    if not windows:
        return True
    local = at.astimezone(tz)
    day, minute = local.isoweekday(), local.hour * 60 + local.minute
    return any(day in w.weekdays and w.start <= minute < w.end for w in windows)

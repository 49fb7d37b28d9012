"""Dates in the program's timezone: month buckets, expiry instants, review dates. Pure."""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=64)
def zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def iso(dt: datetime) -> str:
    """ISO-8601 UTC with a Z suffix and milliseconds: sorts lexically like the instant."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse(value: str) -> datetime:
    """An ISO timestamp written by ``iso`` (or any aware ISO string) → aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def local_date(dt: datetime, tz: str) -> date:
    return dt.astimezone(zone(tz)).date()


def month_key(dt: datetime, tz: str) -> str:
    """The window bucket an instant falls in: 'YYYY-MM' in the program's timezone."""
    d = local_date(dt, tz)
    return f"{d.year:04d}-{d.month:02d}"


def shift_month(key: str, months: int) -> str:
    year, month = int(key[:4]), int(key[5:7])
    n = year * 12 + (month - 1) + months
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def window_keys(now: datetime, tz: str, months: int = 12) -> list[str]:
    """The rolling window: the current month and the ``months - 1`` before it, oldest first."""
    current = month_key(now, tz)
    return [shift_month(current, -i) for i in range(months - 1, -1, -1)]


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    n = d.year * 12 + (d.month - 1) + months
    year, month = n // 12, n % 12 + 1
    return date(year, month, min(d.day, monthrange(year, month)[1]))


def local_midnight(d: date, tz: str) -> datetime:
    """00:00 on ``d`` in ``tz`` as an aware UTC datetime."""
    return datetime(d.year, d.month, d.day, tzinfo=zone(tz)).astimezone(UTC)


def expiry(earned_at: datetime, tz: str, months: int) -> tuple[datetime, date]:
    """End of the ``months``-th month after earning: (instant, local date it falls on).

    Points earned on 15 Mar 2026 with months=12 expire at the end of March 2027, i.e. at
    00:00 on 1 Apr 2027 in the program's timezone.
    """
    d = local_date(earned_at, tz)
    first = add_months(date(d.year, d.month, 1), months + 1)
    return local_midnight(first, tz), first


def plus_days(d: date, days: int) -> date:
    return d + timedelta(days=days)

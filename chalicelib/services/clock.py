"""The one clock services read, so tests and demos can move time."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return _frozen or datetime.now(UTC)


def iso(dt: datetime | None = None) -> str:
    """ISO-8601 UTC with a Z suffix and millisecond precision (sorts lexically)."""
    dt = (dt or now()).astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def freeze(at: datetime | None) -> None:
    """Pin the clock (None unpins it)."""
    global _frozen
    _frozen = at

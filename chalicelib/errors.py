"""Domain and service errors. Pure: each carries a stable ``code`` (and a message, details
and headers), never an HTTP status; ``chalicelib/api/errors.py`` maps codes to statuses and
``api/http.py`` answers with them. Register a new code there (a test fails otherwise).
"""

from __future__ import annotations

import re
from typing import Any


class PerksError(Exception):
    """Base of every error Perks raises on purpose."""

    code = "INTERNAL"

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if not re.fullmatch(r"[A-Z][A-Z0-9_]+", cls.code):
            raise TypeError(f"{cls.__name__}: error codes are UPPER_SNAKE_CASE, not {cls.code!r}")

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}


class ValidationFailed(PerksError):
    code = "VALIDATION_ERROR"


class Unauthenticated(PerksError):
    code = "UNAUTHENTICATED"


class Forbidden(PerksError):
    code = "FORBIDDEN"


class NotFound(PerksError):
    code = "NOT_FOUND"


class AlreadyExists(PerksError):
    code = "ALREADY_EXISTS"


class Conflict(PerksError):
    """A concurrent change won, or the state does not allow the operation."""

    code = "CONFLICT"


class ReservationExpired(Conflict):
    """A checkout hold lapsed and another order took one of its coupons."""

    code = "RESERVATION_EXPIRED"


class InsufficientFunds(PerksError):
    code = "INSUFFICIENT_POINTS"


class LimitReached(PerksError):
    code = "LIMIT_REACHED"


class SoldOut(PerksError):
    code = "SOLD_OUT"


class Unprocessable(PerksError):
    code = "UNPROCESSABLE"


class IdempotencyKeyReused(PerksError):
    code = "IDEMPOTENCY_KEY_REUSED"


class IdempotencyInProgress(PerksError):
    code = "IDEMPOTENCY_IN_PROGRESS"


class TooManyRequests(PerksError):
    code = "TOO_MANY_REQUESTS"

    def __init__(self, message: str, *, retry_after: int, **kw: Any) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)}, **kw)
        self.retry_after = retry_after


class Unavailable(PerksError):
    """The store is throttling or unreachable; the caller may retry."""

    code = "SERVICE_UNAVAILABLE"

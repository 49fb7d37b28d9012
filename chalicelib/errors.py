"""Domain errors. Pure: raised by domain and services, translated to HTTP once in api/http.py."""

from __future__ import annotations

from typing import Any


class PerksError(Exception):
    """Base of every error Perks raises on purpose."""

    code = "ERROR"
    status = 400

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}


class ValidationFailed(PerksError):
    code, status = "VALIDATION_ERROR", 400


class Unauthenticated(PerksError):
    code, status = "UNAUTHENTICATED", 401


class Forbidden(PerksError):
    code, status = "FORBIDDEN", 403


class NotFound(PerksError):
    code, status = "NOT_FOUND", 404


class AlreadyExists(PerksError):
    code, status = "ALREADY_EXISTS", 409


class Conflict(PerksError):
    """A concurrent change won, or the state does not allow the operation."""

    code, status = "CONFLICT", 409


class ReservationExpired(Conflict):
    """A checkout hold lapsed and another order took one of its coupons."""

    code = "RESERVATION_EXPIRED"


class InsufficientFunds(PerksError):
    code, status = "INSUFFICIENT_POINTS", 409


class LimitReached(PerksError):
    code, status = "LIMIT_REACHED", 409


class SoldOut(PerksError):
    code, status = "SOLD_OUT", 409


class Unprocessable(PerksError):
    code, status = "UNPROCESSABLE", 422


class IdempotencyKeyReused(PerksError):
    code, status = "IDEMPOTENCY_KEY_REUSED", 422


class IdempotencyInProgress(PerksError):
    code, status = "IDEMPOTENCY_IN_PROGRESS", 409


class TooManyRequests(PerksError):
    code, status = "TOO_MANY_REQUESTS", 429

    def __init__(self, message: str, *, retry_after: int, **kw: Any) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)}, **kw)
        self.retry_after = retry_after


class Unavailable(PerksError):
    """The store is throttling or unreachable; the caller may retry."""

    code, status = "SERVICE_UNAVAILABLE", 503

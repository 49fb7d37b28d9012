"""HTTP's view of Perks errors: which status each error code answers with.

Domain and service errors (``chalicelib/errors.py``) carry only a stable ``code``; this
module pairs each code with its HTTP status and meaning. ``CODES`` is the one list of error
codes the API answers with and ``REASONS`` the one list of ``details[].reason`` values;
the docs' error tables (docs/errors.md) are generated from both (``python -m
chalicelib.api.errors`` rewrites them, a test compares), and a test fails when an error
class's code is not registered here.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import PerksError


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    meaning: str


CODES: tuple[ErrorCode, ...] = (
    ErrorCode("VALIDATION_ERROR", 400, "the body, a query or path parameter or a header is "
              "malformed; `details[].path` points at each problem"),
    ErrorCode("UNAUTHENTICATED", 401, "missing, invalid or expired bearer token"),
    ErrorCode("FORBIDDEN", 403, "the token's roles do not allow this operation"),
    ErrorCode("NOT_FOUND", 404, "no such resource (or it belongs to another member)"),
    ErrorCode("ALREADY_EXISTS", 409, "the id is taken, or was recorded with different content"),
    ErrorCode("CONFLICT", 409, "the state does not allow this, or a concurrent change won; "
              "`details[].reason` says why when a domain rule decided"),
    ErrorCode("RESERVATION_EXPIRED", 409, "the checkout hold lapsed and another order took "
              "one of its coupons; quote and reserve again"),
    ErrorCode("INSUFFICIENT_POINTS", 409, "not enough available points"),
    ErrorCode("LIMIT_REACHED", 409, "a per-member limit is used up (claims, redemptions)"),
    ErrorCode("SOLD_OUT", 409, "no stock left"),
    ErrorCode("IDEMPOTENCY_IN_PROGRESS", 409, "a request with this Idempotency-Key is still "
              "running; retry shortly"),
    ErrorCode("METHOD_NOT_ALLOWED", 405, "the path exists but not with this method"),
    ErrorCode("TOO_LARGE", 413, "the request body is over the size limit"),
    ErrorCode("UNPROCESSABLE", 422, "well-formed but not acceptable now (coupon not usable, "
              "outside the audience, wrong currency, …); `details[].reason` says why"),
    ErrorCode("IDEMPOTENCY_KEY_REUSED", 422, "the Idempotency-Key was used with another body"),
    ErrorCode("TOO_MANY_REQUESTS", 429, "slow down; retry after `Retry-After` seconds"),
    ErrorCode("INTERNAL", 500, "an unexpected error; it was logged with the request id"),
    ErrorCode("BAD_GATEWAY", 502, "the console's proxy could not reach the API"),
    ErrorCode("SERVICE_UNAVAILABLE", 503, "the data store is throttling or did not answer; "
              "retry (with the same Idempotency-Key)"),
)
REGISTRY: dict[str, ErrorCode] = {c.code: c for c in CODES}

# details[].reason: the domain rule behind an error (and behind each coupon a quote rejects).
REASONS: dict[str, str] = {
    "TOO_DEEP": "the body nests arrays/objects deeper than `limit` levels (400)",
    "RESERVATION_MISMATCH": "POST /orders differs from its reservation at `path`; `reserved` "
                            "and `order` hold both values (409)",
    "RESERVATION_NOT_HELD": "the reservation is `status` (released, refunded), not held (409)",
    "RESERVATION_EXPIRED": "`coupon_id` was taken by another order after the hold lapsed (409)",
    "RESERVED": "the coupon is held by another order's reservation (409 on reserve)",
    "CLAIM_NOT_STARTED": "claiming opens at `starts_at` (claims and codes; 422)",
    "CLAIM_ENDED": "claiming ended at `ends_at` (claims and codes; 422)",
    "NOT_CLAIMABLE": "the template is not active or not claimable by members (422)",
    "NOT_ACTIVE": "the code's template is not active (422)",
    "AUDIENCE": "the member left the coupon's audience while the claim ran (422)",
    "USE_LIMIT_REACHED": "used, or the template's per-member uses are taken",
    "EXPIRED": "past the coupon's validity",
    "NOT_YET_VALID": "before the coupon's validity",
    "TIER_REQUIRED": "the member's tier is not in the coupon's `audience.tiers` or is below "
                     "its `min_tier`; `tiers` lists the tiers that may",
    "NEW_MEMBERS_ONLY": "only for members who have not ordered yet",
    "TAG_REQUIRED": "the member lacks one of the audience's tags",
    "WRONG_CHANNEL": "the cart's channel is not in the coupon's scope",
    "WRONG_STORE": "the cart's store is not in the coupon's scope",
    "WRONG_PAYMENT_METHOD": "the payment method is not in the coupon's scope",
    "NOT_IN_TIME_WINDOW": "outside the coupon's weekday/time windows",
    "OUT_OF_SCOPE": "no eligible line, nothing to waive",
    "MIN_SPEND_NOT_MET": "the eligible subtotal is short by `missing` fen",
    "STACKING_CONFLICT": "breaks a stacking rule (`rule`) with the coupons in `with`",
    "NOT_FOUND": "an explicit coupon id that is not in the wallet",
    "DRAW_NOT_OPEN": "the lucky draw has not opened yet (422)",
    "DRAW_CLOSED": "the lucky draw has closed (422); its window can no longer change, the "
                   "seed is public (409)",
    "DRAW_NO_ENTRIES": "the draw is entered with campaign-granted entries and none are left "
                       "(422)",
    "DRAW_LIMIT_DAY": "the member used the draw's entries for their local day (409)",
    "DRAW_LIMIT_TOTAL": "the member used all their entries of the draw (409)",
    "DRAW_OPENED": "the draw has opened: prizes, odds, stock, budget, entry cost and opening "
                   "time at `path` are fixed (409)",
    "DRAW_NOT_CLOSED": "the seed is revealed and verified only after the draw closes (409)",
    # referral sign-up outcomes (POST /referrals/signups answers state `rejected` + reason)
    "DISABLED": "referrals are off in the program (referral sign-up)",
    "UNKNOWN_CODE": "no member holds this referral code (referral sign-up)",
    "SELF_REFERRAL": "the referee is the referrer, shares a device or a phone with them "
                     "(referral sign-up)",
    "NOT_NEW_MEMBER": "the referee has ordered or signed up more than `new_member_hours` ago "
                      "(referral sign-up)",
    "REFERRER_CAP": "the referrer's accepted sign-ups this local month reached `monthly_cap` "
                    "(referral sign-up)",
    "FULFILMENT_STATUS": "the gift is `status` and `action` needs one of `allowed_from` "
                         "(to_fulfil → shipped → delivered; to_fulfil|shipped → cancelled; 409)",
    "CHECKIN_DISABLED": "the program has no enabled `checkin` section (422)",
    "ALREADY_CHECKED_IN": "the day is already checked in; a make-up cannot fill it (409)",
    "MAKEUP_DISABLED": "the program's `checkin` offers no make-up cards (422)",
    "MAKEUP_NOT_PAST": "only a day before today (member-local) can be made up (422)",
    "MAKEUP_OTHER_MONTH": "only a day of the current member-local month can be made up (422)",
    "MAKEUP_LIMIT": "the month's make-up cards (`checkin.makeup.max_per_month`) are used (422)",
    "UNKNOWN_ACTIVITY": "the activity type is not in the program's `activities`; the "
                        "message suggests the closest (422)",
    "IN_FUTURE": "`occurred_at` is after now (5 minutes of clock skew allowed; 422)",
    "TOO_OLD": "`occurred_at` is older than `activities.max_age_days` (422)",
    "NATURAL_KEY_USED": "the activity's natural key was recorded for another member (409)",
    "CAP_DAILY": "an activity result: recorded with 0 points, the type's `daily_cap` is "
                 "reached for the member-local day (not an error)",
    "CAP_MONTHLY": "an activity result: recorded with 0 points, the type's `monthly_cap` is "
                   "reached for the member-local month (not an error)",
}


def readme_table() -> str:
    """The error tables of docs/errors.md, generated from ``CODES`` and ``REASONS``."""
    rows = ["| code | HTTP | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{c.code}` | {c.status} | {c.meaning} |" for c in CODES]
    rows += ["", "| `details[].reason` | meaning |", "| --- | --- |"]
    rows += [f"| `{r}` | {m} |" for r, m in REASONS.items()]
    return "\n".join(rows) + "\n"


README_BEGIN = "<!-- errors:begin (generated from chalicelib/api/errors.py) -->\n"
README_END = "<!-- errors:end -->"


def with_table(readme: str) -> str:
    """``readme`` with its generated error table replaced by the current one."""
    head, rest = readme.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    return head + README_BEGIN + readme_table() + README_END + tail


def status_of(e: PerksError) -> int:
    """The HTTP status for ``e`` (an unregistered code is a bug: 500, and a test fails)."""
    known = REGISTRY.get(e.code)
    return known.status if known else 500


# The page whose generated error tables ``python -m chalicelib.api.errors`` rewrites.
DOCS_PAGE = "docs/errors.md"

if __name__ == "__main__":  # python -m chalicelib.api.errors: rewrite docs/errors.md's tables
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / DOCS_PAGE
    page.write_text(with_table(page.read_text()))

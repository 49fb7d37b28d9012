"""One wallet coupon against one checkout: None when it may apply, else a stable reason.

Checks run in this order and the first failure is the reason reported:

    USE_LIMIT_REACHED (coupon already used) → RESERVED (held by another order) →
    EXPIRED / NOT_YET_VALID → USE_LIMIT_REACHED (per-member uses of the template) →
    TIER_REQUIRED → WRONG_CHANNEL → WRONG_STORE → WRONG_PAYMENT_METHOD →
    NOT_IN_TIME_WINDOW → OUT_OF_SCOPE (no eligible line) → MIN_SPEND_NOT_MET

Thresholds (``scope.min_spend``, 满X, 每满X) are measured on the coupon's eligible items
*before any discount*, so whether a coupon qualifies never depends on the other coupons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from chalicelib.domain.coupons.cart import Cart, Line
from chalicelib.domain.coupons.rules import Rules
from chalicelib.domain.coupons.template import Audience
from chalicelib.domain.coupons.validity import in_windows

EXPIRED = "EXPIRED"
NOT_YET_VALID = "NOT_YET_VALID"
MIN_SPEND_NOT_MET = "MIN_SPEND_NOT_MET"
OUT_OF_SCOPE = "OUT_OF_SCOPE"
WRONG_CHANNEL = "WRONG_CHANNEL"
WRONG_STORE = "WRONG_STORE"
WRONG_PAYMENT_METHOD = "WRONG_PAYMENT_METHOD"
NOT_IN_TIME_WINDOW = "NOT_IN_TIME_WINDOW"
TIER_REQUIRED = "TIER_REQUIRED"
STACKING_CONFLICT = "STACKING_CONFLICT"
USE_LIMIT_REACHED = "USE_LIMIT_REACHED"
RESERVED = "RESERVED"
NOT_FOUND = "NOT_FOUND"
REASONS = (EXPIRED, NOT_YET_VALID, MIN_SPEND_NOT_MET, OUT_OF_SCOPE, WRONG_CHANNEL, WRONG_STORE,
           WRONG_PAYMENT_METHOD, NOT_IN_TIME_WINDOW, TIER_REQUIRED, STACKING_CONFLICT,
           USE_LIMIT_REACHED, RESERVED, NOT_FOUND)

AVAILABLE, HELD, USED = "available", "reserved", "used"


@dataclass(frozen=True, slots=True)
class WalletCoupon:
    """A coupon in a member's wallet, as the arithmetic needs it."""

    coupon_id: str
    template_id: str
    rules: Rules
    valid_from: datetime
    valid_until: datetime
    status: str = AVAILABLE
    hold_order: str | None = None
    hold_until: int | None = None  # epoch seconds

    def held_by_other(self, order_id: str | None, at: datetime) -> bool:
        return (self.status == HELD and self.hold_order != order_id
                and (self.hold_until or 0) > at.timestamp())

    def state(self, at: datetime) -> str:
        """available | reserved | used | expired, with lapsed holds counted as released."""
        if self.status == USED:
            return USED
        if self.held_by_other(None, at):
            return HELD
        return "expired" if at >= self.valid_until else AVAILABLE


@dataclass(frozen=True)
class Context:
    """Everything besides the cart that decides eligibility."""

    at: datetime
    tz: ZoneInfo
    tier: str | None = None
    tier_order: tuple[str, ...] = ()  # loyalty program tier ids, base first
    max_per_order: int = 3
    order_id: str | None = None
    uses: Mapping[str, int] = field(default_factory=dict)  # template → used or held elsewhere


@dataclass(frozen=True, slots=True)
class Rejection:
    coupon_id: str
    reason: str
    details: dict[str, object]


def uses_by_template(wallet: list[WalletCoupon], at: datetime, order_id: str | None,
                     ) -> dict[str, int]:
    """Coupons per template that count against ``per_member_use``: used or held elsewhere."""
    out: dict[str, int] = {}
    for c in wallet:
        if c.status == USED or c.held_by_other(order_id, at):
            out[c.template_id] = out.get(c.template_id, 0) + 1
    return out


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def check(c: WalletCoupon, cart: Cart, ctx: Context) -> Rejection | None:
    """Everything but the cart lines: status, dates, member, channel, store, payment, time."""
    r = c.rules

    def no(reason: str, **details: object) -> Rejection:
        return Rejection(c.coupon_id, reason, details)

    if c.status == USED:
        return no(USE_LIMIT_REACHED, message="this coupon has been used")
    if c.held_by_other(ctx.order_id, ctx.at):
        until = datetime.fromtimestamp(c.hold_until or 0, UTC)
        return no(RESERVED, order_id=c.hold_order, until=_iso(until))
    if ctx.at >= c.valid_until:
        return no(EXPIRED, valid_until=_iso(c.valid_until))
    if ctx.at < c.valid_from:
        return no(NOT_YET_VALID, valid_from=_iso(c.valid_from))
    used = ctx.uses.get(c.template_id, 0)
    if r.per_member_use is not None and used >= r.per_member_use:
        return no(USE_LIMIT_REACHED, limit=r.per_member_use, used=used)
    if not r.tier_allowed(ctx.tier, ctx.tier_order):
        return no(TIER_REQUIRED, tiers=sorted(r.allowed_tiers(ctx.tier_order) or ()),
                  tier=ctx.tier or (ctx.tier_order[0] if ctx.tier_order else None))
    if r.channels and cart.channel not in r.channels:
        return no(WRONG_CHANNEL, allowed=sorted(r.channels), channel=cart.channel)
    if r.store_ids and cart.store_id not in r.store_ids:
        return no(WRONG_STORE, store_id=cart.store_id)
    if r.payment_methods and cart.payment_method not in r.payment_methods:
        return no(WRONG_PAYMENT_METHOD, allowed=sorted(r.payment_methods),
                  payment_method=cart.payment_method)
    if not in_windows(r.windows, ctx.at, ctx.tz):
        return no(NOT_IN_TIME_WINDOW, windows=[w.describe() for w in r.windows],
                  timezone=str(ctx.tz))
    return None


def audience_problem(audience: Audience, rules: Rules, tier: str | None,
                     tier_order: tuple[str, ...], orders_count: int, tags: set[str],
                     ) -> tuple[str, dict[str, object]] | None:
    """Who may claim: TIER_REQUIRED, NEW_MEMBERS_ONLY or TAG_REQUIRED (None: may claim)."""
    if not rules.tier_allowed(tier, tier_order):
        return TIER_REQUIRED, {"tiers": sorted(rules.allowed_tiers(tier_order) or ())}
    if audience.new_members_only and orders_count > 0:
        return "NEW_MEMBERS_ONLY", {"hint": "only for members who have not ordered yet"}
    if audience.tags and not set(audience.tags) & tags:
        return "TAG_REQUIRED", {"tags": sorted(audience.tags)}
    return None


def coverage(r: Rules, lines: list[Line]) -> tuple[int, int]:
    """(bitmask of eligible lines, their pre-discount subtotal)."""
    if not r.scoped:
        return (1 << len(lines)) - 1, sum(ln.amount for ln in lines)
    mask = eligible = 0
    for i, ln in enumerate(lines):
        if r.covers(ln.sku, ln.category):
            mask |= 1 << i
            eligible += ln.amount
    return mask, eligible


def check_spend(c: WalletCoupon, mask: int, eligible: int, shipping_fee: int,
                ) -> Rejection | None:
    """Scope and thresholds on the eligible pre-discount subtotal; worthless coupons."""
    r = c.rules
    if not mask or (eligible == 0 and r.kind not in ("free_shipping", "gift")):
        return Rejection(c.coupon_id, OUT_OF_SCOPE, {"message": "no item in the cart is "
                                                     "eligible for this coupon"})
    need = r.required_spend
    if eligible < need:
        return Rejection(c.coupon_id, MIN_SPEND_NOT_MET, {
            "missing": need - eligible, "required": need, "eligible_subtotal": eligible})
    if r.kind == "free_shipping" and shipping_fee == 0:
        return Rejection(c.coupon_id, OUT_OF_SCOPE, {"message": "there is no shipping fee "
                                                     "to waive"})
    if r.kind == "percent" and eligible * r.percent_off < 100:
        return Rejection(c.coupon_id, OUT_OF_SCOPE, {"message": "the discount rounds to zero"})
    return None

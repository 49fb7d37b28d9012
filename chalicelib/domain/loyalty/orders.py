"""Orders: the request body and the plan one order makes (points, lot, window, tier). Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from chalicelib.domain.loyalty import dates, tiers
from chalicelib.domain.loyalty.earning import Earned, Line, earn
from chalicelib.domain.loyalty.perks import ONE
from chalicelib.domain.loyalty.program import Program
from chalicelib.domain.loyalty.state import LoyaltyState
from chalicelib.domain.loyalty.wallet import earn_split
from chalicelib.domain.members.facts import OrderFact, RefundFact, record_order, record_refund
from chalicelib.domain.members.model import MEMBER_ID_RE
from chalicelib.domain.models import Strict
from chalicelib.errors import Unprocessable

RefId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MAX_CLOCK_SKEW = timedelta(minutes=5)
IN_FACTS = "in_facts"  # on an order item: counted in the member's facts (refunds take back)


class OrderItem(Strict):
    sku: Sku
    category: Short | None = None
    quantity: int = Field(ge=1, le=100_000)
    unit_price: int = Field(ge=0, le=10**10, description="minor units")


class NewOrder(Strict):
    """Body of POST /orders (service role). Amounts are integer minor units."""

    order_id: RefId
    member_id: Annotated[str, StringConstraints(pattern=MEMBER_ID_RE)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    items: list[OrderItem] = Field(min_length=1, max_length=200)
    shipping_fee: int = Field(0, ge=0, le=10**10)
    discount_total: int = Field(0, ge=0, le=10**12)
    placed_at: AwareDatetime
    store_id: Short | None = None
    channel: Short | None = None
    payment_method: Short | None = None
    reservation_id: RefId | None = Field(
        None, description="checkout reservation this order confirms (coupons)")

    @model_validator(mode="after")
    def _discount_fits(self) -> NewOrder:
        if self.discount_total > sum(i.quantity * i.unit_price for i in self.items):
            raise ValueError("discount_total exceeds the items' total")
        return self

    def fingerprint(self) -> str:
        """Hash of the order's content: a replay with different content is a conflict."""
        raw = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class OrderPlan:
    earned: Earned
    tier_multiplier: float
    month: str
    lot_points: int  # kept in the new lot after repaying debt
    debt_repaid: int
    available_on: str
    pending: bool
    expires_at: str
    expiry_date: str
    change: tiers.TierChange | None
    first_order: bool
    state: LoyaltyState  # after the order
    window_spend: int
    window_orders: int
    progress: tiers.Progress

    @property
    def points(self) -> int:
        return self.earned.points


def order_fact(order: NewOrder, earned: Earned) -> OrderFact:
    """What member facts keep of an order: qualifying spend per category, store, channel."""
    categories: dict[str | None, int] = {}
    for ln in earned.lines:
        categories[ln.category] = categories.get(ln.category, 0) + ln.qualifying
    return OrderFact(order.placed_at, earned.qualifying, categories, order.store_id,
                     order.channel)


def facts_after_refund(facts: dict[str, Any] | None, order: Mapping[str, Any],
                       lines_after: Sequence[Mapping[str, Any]], completes: bool,
                       now: datetime, tz: str) -> dict[str, Any] | None:
    """Member facts after a refund of ``order``: the value each line lost comes off, by
    category; an order recorded before facts were kept (no ``IN_FACTS``) was never counted
    and takes nothing back."""
    if not order.get(IN_FACTS):
        return facts
    categories: dict[str | None, int] = {}
    for before, after in zip(order["lines"], lines_after, strict=True):
        value = int(after.get("refunded_value", 0)) - int(before.get("refunded_value", 0))
        if value:
            cat = before.get("category")
            categories[cat] = categories.get(cat, 0) + value
    refund = RefundFact(dates.parse(order["placed_at"]), sum(categories.values()), categories,
                        order.get("store_id"), order.get("channel"), completes)
    return record_refund(facts, refund, now, tz)


def plan_order(program: Program, state: LoyaltyState, order: NewOrder, now: datetime,
               member_timezone: str | None, line_discounts: Sequence[int] | None = None,
               bonus_multiplier: Decimal = ONE) -> OrderPlan:
    """Everything one order changes, computed from the member's current state
    (``line_discounts``: the confirmed reservation's allocation of the discount;
    ``bonus_multiplier``: the birthday perk, exact, on top of the tier's multiplier)."""
    if order.currency != program.currency:
        raise Unprocessable(f"the program runs in {program.currency}",
                            details=[{"path": "/currency", "message": f"use {program.currency}"}])
    if order.placed_at > now + MAX_CLOCK_SKEW:
        raise Unprocessable("placed_at is in the future", details=[
            {"path": "/placed_at", "message": "must not be in the future"}])
    tz = program.timezone
    tier_idx = program.tier_index(state.tier)
    multiplier = program.tiers[tier_idx].benefits.points_multiplier
    lines = [Line(i.sku, i.category, i.quantity, i.unit_price) for i in order.items]
    earned = earn(program, lines, order.discount_total, multiplier, bonus_multiplier,
                  line_discounts=line_discounts)
    month = dates.month_key(order.placed_at, tz)
    window = tiers.add(state.window, month, earned.qualifying, 1, now, tz)
    spend, count = tiers.totals(window, now, tz)
    change = tiers.after_order(program, state.tier, spend, count, now)
    today = dates.local_date(now, tz).isoformat()
    available_on = dates.plus_days(dates.local_date(order.placed_at, tz),
                                   program.points.pending_days).isoformat()
    expires, expiry_day = dates.expiry(now, tz, program.points.expiry_months)
    kept, repaid = earn_split(earned.points, state.debt)
    placed = dates.iso(order.placed_at)
    now_iso = dates.iso(now)
    facts = record_order(state.facts, order_fact(order, earned), now,
                         member_timezone or state.timezone or tz, prior_orders=state.orders_count)
    new = replace(
        state,
        facts=facts,
        points=state.points + earned.points,
        debt=state.debt - repaid,
        lifetime_earned=state.lifetime_earned + earned.points,
        lifetime_spend=state.lifetime_spend + earned.qualifying,
        window=window,
        orders_count=state.orders_count + 1,
        first_order_at=min(filter(None, [state.first_order_at, placed])),
        last_order_at=max(filter(None, [state.last_order_at, placed])),
        timezone=member_timezone or state.timezone or tz,
        tier=state.tier or program.base.id,
        rewards=dict(state.rewards),
    )
    if change is not None:
        new = replace(new, tier=change.after, tier_since=change.since,
                      review_at=change.review_at, tier_prev=change.before,
                      tier_change=change.kind, tier_changed_at=now_iso)
    new_idx = program.tier_index(new.tier)
    return OrderPlan(
        earned=earned, tier_multiplier=multiplier, month=month, lot_points=kept,
        debt_repaid=repaid, available_on=available_on, pending=available_on > today,
        expires_at=dates.iso(expires), expiry_date=expiry_day.isoformat(), change=change,
        first_order=state.orders_count == 0, state=new, window_spend=spend,
        window_orders=count, progress=tiers.progress(program, new_idx, spend, count),
    )

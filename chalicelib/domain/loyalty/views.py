"""What the loyalty endpoints return (response models) and the small request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chalicelib.domain.models import OneLine, Out, Strict, length


class TierProgress(Out):
    qualifying_spend: int
    qualifying_orders: int
    next_tier: str | None = None
    spend_to_next: int | None = None
    orders_to_next: int | None = None


class TierOutcome(Out):
    before: str
    after: str
    changed: bool
    change: str | None = None  # upgrade
    review_at: str | None = None


class OrderResult(Out):
    order_id: str
    member_id: str
    currency: str
    qualifying_spend: int
    points_earned: int
    points_pending: bool
    points_available_on: str
    points_expire_at: str | None = None
    capped: bool = False
    first_order: bool
    tier: TierOutcome
    progress: TierProgress
    lines: list[dict[str, object]] = []


class RefundResult(Out):
    refund_id: str
    order_id: str
    member_id: str
    refunded_value: int
    points_reversed: int
    points_written_off: int
    debt_added: int
    fully_refunded: bool
    policy: str
    lines: list[dict[str, object]] = []
    coupons_restored: int = 0


class Expiring(Out):
    points: int
    expires_at: str


class PointsView(Out):
    member_id: str
    available: int
    pending: int
    lifetime_earned: int
    expiring: list[Expiring]


class LedgerEntry(Out):
    entry_id: str
    kind: str  # earn | spend | expire | reverse | adjust
    points: int
    reason: str
    created_at: str
    order_id: str | None = None
    refund_id: str | None = None
    reward_id: str | None = None
    campaign_id: str | None = None
    lots: list[dict[str, object]] = []
    written_off: int | None = None
    debt_added: int | None = None
    debt_repaid: int | None = None


class HistoryPage(Out):
    entries: list[LedgerEntry]
    next_cursor: str | None = None


class TierView(Out):
    member_id: str
    tier: str
    tier_name: str
    since: str | None = None
    review_at: str | None = None
    qualifying_spend: int
    qualifying_orders: int
    next_tier: str | None = None
    spend_to_next: int | None = None
    orders_to_next: int | None = None
    benefits: dict[str, object]


class RewardView(Out):
    id: str
    name: str
    description: str = ""
    kind: str
    cost_points: int
    coupon_template_id: str | None = None
    gift_sku: str | None = None
    stock: int | None = None
    remaining: int | None = None
    per_member_limit: int | None = None
    min_tier: str | None = None
    available_from: str | None = None
    available_until: str | None = None


class Redemption(Out):
    redemption_id: str
    reward_id: str
    kind: str
    points_spent: int
    available: int
    coupon_id: str | None = None
    gift_sku: str | None = None
    status: str
    created_at: str


class PointsAdjustment(Strict):
    """Body of POST /admin/members/{member_id}/points."""

    delta: int = Field(ge=-10_000_000, le=10_000_000)
    reason: Annotated[str, length(3, 500), OneLine]


class AdjustmentResult(Out):
    member_id: str
    entry_id: str
    delta: int
    available: int
    audited_at: str
    actor: str


class ProgramVersion(Out):
    version: int
    published_at: str | None = None
    published_by: str | None = None
    program: dict[str, object]


class ProgramVersionSummary(Out):
    version: int
    published_at: str
    published_by: str


class RewardCatalog(Out):
    rewards: list[RewardView]


class ProgramHistory(Out):
    versions: list[ProgramVersionSummary]


class OrderView(Out):
    order_id: str
    member_id: str
    currency: str
    placed_at: str
    total: int
    qualifying_spend: int
    points: int
    refunded_value: int
    reversed_points: int
    fully_refunded: bool
    first_order: bool
    lines: list[dict[str, object]]
    refunds: list[dict[str, object]] = []
    reservation_id: str | None = None
    channel: str | None = None
    store_id: str | None = None
    payment_method: str | None = None

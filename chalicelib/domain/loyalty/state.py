"""The member's LOYALTY item as a value: points totals, tier, window buckets, order stats.

Other capabilities read it too: coupons restrict by ``tier`` and "new members" by
``orders_count``; delivery's inactivity trigger uses ``last_order_at``; a DynamoDB Streams
handler sees tier changes as ``OldImage.tier != NewImage.tier`` (``tier_prev``,
``tier_change`` and ``tier_changed_at`` describe the latest change). LOYALTY is also the
member's audience summary: the members repository keeps a profile copy on it (``profile``,
not part of this state, never written by loyalty) and orders and refunds keep ``facts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from chalicelib.domain.loyalty.tiers import Window


@dataclass
class LoyaltyState:
    member_id: str
    version: int = 0
    points: int = 0  # == sum(ledger) == sum(open lot remainders) - debt
    debt: int = 0
    lifetime_earned: int = 0
    lifetime_spent: int = 0
    lifetime_expired: int = 0
    lifetime_reversed: int = 0
    lifetime_spend: int = 0  # qualifying spend, minor units, net of refunds
    tier: str | None = None
    tier_since: str | None = None
    review_at: str | None = None  # local date; None for the base tier (no review)
    tier_prev: str | None = None
    tier_change: str | None = None  # upgrade | downgrade
    tier_changed_at: str | None = None
    window: Window = field(default_factory=dict)
    orders_count: int = 0
    first_order_at: str | None = None
    last_order_at: str | None = None
    timezone: str | None = None  # member's, copied from the profile for the last-order index
    rewards: dict[str, int] = field(default_factory=dict)  # redemptions per reward id
    # behaviour facts (domain/members/facts.py), changed with each order and refund
    facts: dict[str, Any] | None = None

    @classmethod
    def from_item(cls, member_id: str, item: Mapping[str, object] | None) -> LoyaltyState:
        state = cls(member_id=member_id)
        if not item:
            return state
        for f in fields(cls):  # the item's values as stored, the member id as given
            if f.name in item and f.name != "member_id":
                setattr(state, f.name, item[f.name])
        state.window = {m: {"spend": int(b.get("spend", 0)), "orders": int(b.get("orders", 0))}
                        for m, b in (state.window or {}).items()}
        state.rewards = {k: int(v) for k, v in (state.rewards or {}).items()}
        return state

    def attrs(self) -> dict[str, object]:
        """Every owned attribute except the version (which the writer bumps)."""
        out = asdict(self)
        out.pop("version")
        return out

    @property
    def exists(self) -> bool:
        return self.version > 0

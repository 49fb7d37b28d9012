"""The loyalty program as marketers write it (campaigns/program.json). Pure.

One JSON document holds currency, earning rules, points policy, the ordered tier list and
the rewards catalogue. It is validated strictly (unknown fields are errors, with JSON
paths) and its JSON Schema is generated from these models and committed beside it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Annotated

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from chalicelib.domain.campaigns.model import CapClass
from chalicelib.domain.engagement.checkin import CheckinProgram
from chalicelib.domain.engagement.referrals import Referrals
from chalicelib.domain.loyalty.activities import ActivitiesProgram
from chalicelib.domain.loyalty.perks import (
    MAX_MONTHLY_COUPONS,
    BirthdayWindow,
    CapLimits,
    ExactMultiplier,
    UpgradeGift,
)
from chalicelib.domain.members.model import Timezone
from chalicelib.domain.models import MultiLine, OneLine, Strict, length

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
TemplateId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Category = Annotated[str, StringConstraints(min_length=1, max_length=60)]
Text = Annotated[str, length(0, 500), MultiLine]
Name = Annotated[str, length(1, 100), OneLine]
Multiplier = Annotated[float, Field(ge=0, le=100)]
WINDOW_MONTHS = 12


class Combine(StrEnum):
    any = "any"
    all = "all"


class ReviewPolicy(StrEnum):
    one_down = "one_down"
    to_qualified = "to_qualified"


class RefundPolicy(StrEnum):
    allow_negative = "allow_negative"
    reverse_remaining = "reverse_remaining"


class RewardKind(StrEnum):
    gift = "gift"
    coupon = "coupon"


class Thresholds(Strict):
    """What qualifies for a tier over the rolling 12 months (current month + 11 before)."""

    min_spend: int | None = Field(None, ge=0, description="qualifying spend, minor units")
    min_orders: int | None = Field(None, ge=0, description="orders placed in the window")
    combine: Combine = Field(Combine.any, description="any: either threshold; all: both")

    @property
    def empty(self) -> bool:
        return self.min_spend is None and self.min_orders is None

    def met(self, spend: int, orders: int) -> bool:
        checks = [spend >= self.min_spend] if self.min_spend is not None else []
        if self.min_orders is not None:
            checks.append(orders >= self.min_orders)
        if not checks:
            return True
        return all(checks) if self.combine == Combine.all else any(checks)


# Benefits that used to be accepted but did nothing: refused in new documents (with what to
# use instead), dropped from documents published before (parse_program(stored=True)).
RETIRED_BENEFITS = {
    "free_shipping": "free_shipping did nothing; use free_shipping_coupons_per_month with a "
                     "free_shipping_template",
    "birthday_bonus_points": "birthday_bonus_points did nothing; use "
                             "birthday_points_multiplier (and the program's birthday_window)",
}


class Benefits(Strict):
    """What a tier gives; every benefit acts (see domain/loyalty/perks.py and docs/loyalty.md)."""

    points_multiplier: Multiplier = Field(1.0, description="applied to base points")
    coupon_templates: list[TemplateId] = Field(
        default_factory=list, max_length=10, description="granted on every entry to the tier")
    free_shipping_coupons_per_month: int = Field(
        0, ge=0, le=MAX_MONTHLY_COUPONS,
        description="coupons of free_shipping_template each member-local month")
    free_shipping_template: TemplateId | None = Field(
        None, description="a coupon template whose benefit is free_shipping")
    birthday_points_multiplier: ExactMultiplier | None = Field(
        None, description="points multiplier for orders in the birthday window")
    upgrade_gift: UpgradeGift | None = Field(
        None, description="granted once per member when the tier is first reached")

    # retired: never stored or shown (exclude), refused when sent (see _retired)
    free_shipping: SkipJsonSchema[object] = Field(None, exclude=True)
    birthday_bonus_points: SkipJsonSchema[object] = Field(None, exclude=True)

    @field_validator(*RETIRED_BENEFITS, mode="before")
    @classmethod
    def _retired(cls, value: object, info: ValidationInfo) -> None:
        if (info.context or {}).get("stored"):  # published before it was retired: drop it
            return None
        raise PydanticCustomError("retired_benefit", RETIRED_BENEFITS[str(info.field_name)])

    @model_validator(mode="after")
    def _monthly_pair(self) -> Benefits:
        if self.free_shipping_coupons_per_month and not self.free_shipping_template:
            raise ValueError("free_shipping_coupons_per_month needs a free_shipping_template")
        if self.free_shipping_template and not self.free_shipping_coupons_per_month:
            raise ValueError("free_shipping_template needs free_shipping_coupons_per_month >= 1")
        return self


class Tier(Strict):
    id: Id
    name: Annotated[str, length(1, 60), OneLine]
    thresholds: Thresholds = Field(default_factory=Thresholds)
    benefits: Benefits = Field(default_factory=Benefits)


class Earning(Strict):
    points_per_unit: Annotated[float, Field(ge=0, le=1000)] = Field(
        1.0, description="points per whole currency unit (e.g. per ¥1) of qualifying spend")
    category_multipliers: dict[Category, Multiplier] = Field(default_factory=dict,
                                                             max_length=200)
    max_points_per_order: int | None = Field(None, ge=1, description="per-order cap")


class Points(Strict):
    expiry_months: int = Field(12, ge=1, le=120,
                               description="lots expire at the end of the Nth month")
    pending_days: int = Field(0, ge=0, le=90, description="return window before points vest")
    refund_policy: RefundPolicy = RefundPolicy.allow_negative


class Review(Strict):
    months: int = Field(12, ge=1, le=36, description="review this long after reaching a tier")
    policy: ReviewPolicy = ReviewPolicy.one_down


class Reward(Strict):
    id: Id
    name: Name
    description: Text = ""
    kind: RewardKind
    cost_points: int = Field(ge=1, le=100_000_000)
    coupon_template_id: TemplateId | None = Field(None, description="kind=coupon")
    gift_sku: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, description="kind=gift")
    stock: int | None = Field(None, ge=0, description="total redemptions; null = unlimited")
    per_member_limit: int | None = Field(None, ge=1, description="lifetime, per member")
    min_tier: Id | None = None
    available_from: AwareDatetime | None = None
    available_until: AwareDatetime | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> Reward:
        if self.kind == RewardKind.coupon and not self.coupon_template_id:
            raise ValueError("a coupon reward needs coupon_template_id")
        if self.kind == RewardKind.gift and not self.gift_sku:
            raise ValueError("a gift reward needs gift_sku")
        if (self.available_from and self.available_until
                and self.available_until <= self.available_from):
            raise ValueError("available_until must be after available_from")
        return self

    def open_at(self, at: datetime) -> bool:
        return ((self.available_from is None or self.available_from <= at)
                and (self.available_until is None or at < self.available_until))


class Program(Strict):
    """campaigns/program.json."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True,
                              populate_by_name=True, ignored_types=(cached_property,))

    schema_ref: str | None = Field(None, alias="$schema", description="editor hint; ignored")
    name: Name
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    minor_units: int = Field(2, ge=0, le=3, description="2 for CNY: amounts are in fen")
    timezone: Timezone = Field("Asia/Shanghai", description="months, days and expiry instants")
    earning: Earning = Field(default_factory=Earning)
    points: Points = Field(default_factory=Points)
    tiers: list[Tier] = Field(min_length=1, max_length=10, description="lowest (base) first")
    review: Review = Field(default_factory=Review)
    rewards: list[Reward] = Field(default_factory=list, max_length=500)
    birthday_window: BirthdayWindow = Field(
        "month", description="when birthday_points_multiplier applies, in the member's time "
        "zone: the birthday (day), the birthday and 3 days either side (week), or its month")
    caps: dict[CapClass, CapLimits] | None = Field(
        None, description="delivery frequency caps per cap class; classes left out keep the "
        "defaults (marketing 1/day and 3/week, service 3/day)")
    referrals: Referrals | None = Field(
        None, description="老带新 referrals: rewards for both sides after the referee's first "
        "order passes its refund window (docs/referrals.md); absent: referrals are off")
    checkin: CheckinProgram | None = Field(
        None, description="daily check-in (签到): streak rewards and make-up cards")
    activities: ActivitiesProgram | None = Field(
        None, description="points for activities (review_written, store_visit, …) with caps")

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, tiers: list[Tier]) -> list[Tier]:
        ids = [t.id for t in tiers]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"tier ids must be unique; repeated: {', '.join(dupes)}")
        if not tiers[0].thresholds.empty:
            raise ValueError("the first (base) tier must have no thresholds")
        if tiers[0].benefits.free_shipping_coupons_per_month:
            raise ValueError("the first (base) tier cannot have free_shipping_coupons_per_month"
                             " (every member holds it: use a campaign)")
        for i, t in enumerate(tiers[1:], start=1):
            if t.thresholds.empty:
                raise ValueError(f"tier {i} ({t.id}) needs min_spend and/or min_orders")
        return tiers

    @field_validator("rewards")
    @classmethod
    def _rewards(cls, rewards: list[Reward], info: ValidationInfo[object]) -> list[Reward]:
        ids = [r.id for r in rewards]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"reward ids must be unique; repeated: {', '.join(dupes)}")
        tier_ids = {t.id for t in info.data.get("tiers") or []}
        for i, r in enumerate(rewards):
            if r.min_tier and tier_ids and r.min_tier not in tier_ids:
                raise ValueError(f"reward {i} ({r.id}): min_tier {r.min_tier!r} is not a tier")
        return rewards

    @model_validator(mode="after")
    def _pending_before_expiry(self) -> Program:
        if self.points.pending_days >= self.points.expiry_months * 28:
            raise ValueError("points.pending_days must be shorter than the expiry period")
        return self

    # --- lookups (compiled once per parsed program) ---------------------------------
    @cached_property
    def _tier_pos(self) -> dict[str, int]:
        return {t.id: i for i, t in enumerate(self.tiers)}

    @cached_property
    def _reward_by_id(self) -> dict[str, Reward]:
        return {r.id: r for r in self.rewards}

    @property
    def base(self) -> Tier:
        return self.tiers[0]

    @property
    def unit(self) -> int:
        """Minor units per whole currency unit (100 fen per yuan)."""
        return int(10 ** self.minor_units)  # ge=0: always an int (typeshed says Any)

    def tier_index(self, tier_id: str | None) -> int:
        """Position of a tier; unknown or missing ids count as the base tier."""
        return self._tier_pos.get(tier_id or "", 0)

    def reward(self, reward_id: str) -> Reward | None:
        return self._reward_by_id.get(reward_id)

    def document(self) -> dict[str, object]:
        """The program as JSON-ready data (what is stored and served)."""
        return self.model_dump(mode="json", by_alias=True, exclude={"schema_ref"})


DEFAULT_PROGRAM: dict[str, object] = {
    "name": "Perks default program",
    "tiers": [{"id": "member", "name": "Member"}],
}


def parse_program(data: Mapping[str, object], *, stored: bool = False) -> Program:
    """Validate a program document with the JSON rules the API applies (strict, but
    strings for enums and dates as JSON has them); raises pydantic.ValidationError.

    ``stored``: a document published earlier, whose retired benefits are dropped instead of
    refused (they never did anything)."""
    return Program.model_validate_json(json.dumps(data), context={"stored": stored})


def schema() -> dict[str, object]:
    """The JSON Schema committed as campaigns/program.schema.json."""
    out = Program.model_json_schema(by_alias=True, mode="validation")
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["$id"] = "https://perks.example/schemas/program.schema.json"
    return out

"""Tier perks that act: what each tier's benefits grant, and when. Pure.

The program (campaigns/program.json) declares per tier:

- ``upgrade_gift``: coupons and/or points granted ONCE per member and tier reached, in the
  transaction that upgrades the member (an order, or a review that finds the window
  qualifying higher). Reaching the tier again after a downgrade grants nothing more; tiers
  skipped on the way up (member → gold) grant nothing.
- ``free_shipping_coupons_per_month`` + ``free_shipping_template``: that many coupons of a
  ``free_shipping`` template every member-local calendar month, issued at the start of the
  member's month by a scheduled job and at once when an upgrade reaches the tier. A grant
  record per member-month keeps it exactly once; an upgrade mid-month tops the month up to
  the new tier's count (never above it, never twice).
- ``birthday_points_multiplier``: an exact decimal applied to the points of orders placed in
  the member's birthday window (program ``birthday_window``: the day, the week = the
  birthday and 3 days either side, or the calendar month; in the member's time zone). A
  birthday the member set itself counts once it has been on file 30 days before the
  birthday (members.model.birthday_counts).

Program-wide ``caps`` set the delivery frequency caps per cap class (campaign
``delivery.cap_class``); campaign ``priority`` decides which campaign spends them first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Protocol

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from chalicelib.domain.loyalty.dates import zone
from chalicelib.domain.members.model import birthday_counts, birthday_on
from chalicelib.domain.models import Strict

TemplateId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
BirthdayWindow = Literal["day", "week", "month"]
WEEK_HALF = 3  # the birthday week: the birthday and 3 days either side (7 days)
MAX_MONTHLY_COUPONS = 10
ONE = Decimal(1)


def _exact(value: object) -> object:
    """JSON numbers arrive as float (json.loads) or Decimal (DynamoDB); str() of either is
    the decimal the marketer wrote, so 1.15 is exactly 1.15, never the binary 1.149999…"""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return Decimal(str(value))
    raise ValueError("must be a number, e.g. 2 or 1.5")


def _number(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


ExactMultiplier = Annotated[
    Decimal, BeforeValidator(_exact), Field(ge=1, le=10, decimal_places=4),
    PlainSerializer(_number, return_type=int | float, when_used="json"),
    WithJsonSchema({"type": "number", "minimum": 1, "maximum": 10})]


class UpgradeGift(Strict):
    """Granted once per member when the tier is first reached (in the upgrade's transaction)."""

    coupon_templates: list[TemplateId] = Field(
        default_factory=list, max_length=5, description="one coupon of each")
    points: int = Field(0, ge=0, le=1_000_000, description="available at once")

    @model_validator(mode="after")
    def _something(self) -> UpgradeGift:
        if not self.coupon_templates and not self.points:
            raise ValueError("an upgrade gift needs coupon_templates and/or points")
        return self


class CapLimits(Strict):
    """At most ``per_day`` and ``per_week`` deliveries of one cap class to one member (member
    local day and ISO week); a limit left out is not capped."""

    per_day: int | None = Field(None, ge=0, le=100)
    per_week: int | None = Field(None, ge=0, le=700)

    @model_validator(mode="after")
    def _week_covers_day(self) -> CapLimits:
        if self.per_day is not None and self.per_week is not None \
                and self.per_week < self.per_day:
            raise ValueError("per_week must be at least per_day")
        return self


# --- the rules of one tier's perks -------------------------------------------------------

class TierPerks(Protocol):
    """What the rules below read of a tier's benefits (program.Benefits satisfies it)."""

    free_shipping_coupons_per_month: int
    free_shipping_template: str | None
    birthday_points_multiplier: Decimal | None
    upgrade_gift: UpgradeGift | None


@dataclass(frozen=True)
class Grant:
    """Coupons and points one perk grants now, and the record that makes it happen once."""

    record: str  # "gift:<tier>" or "month:<yyyy-mm>"
    coupons: tuple[tuple[str, str], ...]  # (template id, coupon ref) per coupon
    points: int = 0
    granted_before: int = 0  # month: coupons already granted this month (the record's count)

    @property
    def count(self) -> int:
        """The record's count after this grant (month records)."""
        return self.granted_before + len(self.coupons)


def gift_grant(member_id: str, tier_id: str, perks: TierPerks, already: bool) -> Grant | None:
    """The tier's upgrade gift, unless this member had it before (``already``)."""
    gift = perks.upgrade_gift
    if gift is None or already:
        return None
    coupons = tuple((t, f"{member_id}:gift:{tier_id}:{i}")
                    for i, t in enumerate(gift.coupon_templates))
    return Grant(f"gift:{tier_id}", coupons, gift.points)


def month_grant(member_id: str, month: str, perks: TierPerks, granted: int) -> Grant | None:
    """This month's free-shipping coupons still due: the tier's count minus what the month
    already had (an upgrade mid-month tops up; nothing is ever taken back)."""
    template = perks.free_shipping_template
    due = perks.free_shipping_coupons_per_month
    if template is None or due <= granted:
        return None
    coupons = tuple((template, f"{member_id}:fs:{month}:{i}") for i in range(granted, due))
    return Grant(f"month:{month}", coupons, 0, granted)


def has_monthly(perks: TierPerks) -> bool:
    return perks.free_shipping_coupons_per_month > 0 and perks.free_shipping_template is not None


# --- member-local months ----------------------------------------------------------------

def month_of(at: datetime, tz: str) -> str:
    """'YYYY-MM' of ``at`` in ``tz``."""
    d = at.astimezone(zone(tz)).date()
    return f"{d.year:04d}-{d.month:02d}"


def month_start(month: str, tz: str) -> datetime:
    """00:00 on the 1st of ``month`` in ``tz``, as a UTC instant."""
    year, mon = int(month[:4]), int(month[5:7])
    return datetime(year, mon, 1, tzinfo=zone(tz)).astimezone(UTC)


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def month_starts(zones: Iterable[str], after: datetime, until: datetime
                 ) -> list[tuple[str, str]]:
    """(time zone, month) for every member-local month that began in (after, until], in the
    order they began: what the monthly job grants on a run covering that span."""
    out: list[tuple[datetime, str, str]] = []
    for tz in zones:
        try:
            month = month_of(after, tz)
        except (KeyError, ValueError):
            continue
        while True:
            month = _next_month(month)
            start = month_start(month, tz)
            if start > until:
                break
            if start > after:
                out.append((start, tz, month))
    return [(tz, month) for _, tz, month in sorted(out)]


# --- birthdays --------------------------------------------------------------------------

def in_window(day: date, birthday: date, window: BirthdayWindow) -> bool:
    if window == "day":
        return day == birthday
    if window == "week":
        return abs((day - birthday).days) <= WEEK_HALF
    return (day.year, day.month) == (birthday.year, birthday.month)


def birthday_multiplier(perks: TierPerks, window: BirthdayWindow,
                        profile: Mapping[str, object] | None, placed_at: datetime,
                        default_tz: str) -> Decimal:
    """The tier's birthday multiplier when ``placed_at`` falls in the member's birthday
    window (their time zone) and the birthday counts for that year; else 1."""
    multiplier = perks.birthday_points_multiplier
    if multiplier is None or multiplier == ONE or not profile or not profile.get("birthday"):
        return ONE
    tz = str(profile.get("timezone") or default_tz)
    try:
        local = placed_at.astimezone(zone(tz)).date()
    except (KeyError, ValueError):
        local = placed_at.astimezone(zone(default_tz)).date()
    facts = dict(profile)
    for year in (local.year - 1, local.year, local.year + 1):  # a week can span New Year
        celebrated = birthday_on(str(profile["birthday"]), year)
        if celebrated and in_window(local, celebrated, window) and birthday_counts(facts, year):
            return multiplier
    return ONE


# --- program checks that need the coupon templates ----------------------------------------

TemplateLookup = Callable[[str], Mapping[str, object] | None]


def _tier_admitted(definition: Mapping[str, object], tier_id: str,
                   tier_order: list[str]) -> bool:
    audience = definition.get("audience")
    if not isinstance(audience, Mapping):
        return True
    tiers = audience.get("tiers") or []
    if isinstance(tiers, list) and tiers and tier_id not in tiers:
        return False
    least = audience.get("min_tier")
    if isinstance(least, str) and least in tier_order:
        return tier_order.index(tier_id) >= tier_order.index(least)
    return True


def _benefit_type(definition: Mapping[str, object]) -> object:
    benefit = definition.get("benefit")
    return benefit.get("type") if isinstance(benefit, Mapping) else None


def template_problems(tiers: list[tuple[str, TierPerks]], lookup: TemplateLookup
                      ) -> list[dict[str, str]]:
    """Perk templates that exist but cannot do their job, as [{path, message}]: a monthly
    free-shipping template that is not a ``free_shipping`` coupon, or a perk template whose
    audience leaves out the tier granting it. Missing templates are not refused here (a
    program is often published before its templates); grants skip them with a warning."""
    out: list[dict[str, str]] = []
    order = [t for t, _ in tiers]
    for i, (tier_id, perks) in enumerate(tiers):
        base = f"/tiers/{i}/benefits"
        wanted = [(f"{base}/free_shipping_template", perks.free_shipping_template)]
        gift = perks.upgrade_gift
        wanted += [(f"{base}/upgrade_gift/coupon_templates/{j}", t)
                   for j, t in enumerate(gift.coupon_templates if gift else [])]
        for path, template_id in wanted:
            definition = lookup(template_id) if template_id else None
            if definition is None:
                continue
            if path.endswith("free_shipping_template") \
                    and _benefit_type(definition) != "free_shipping":
                out.append({"path": path, "message": f"template {template_id} is not a "
                            "free_shipping coupon (benefit.type)"})
            if not _tier_admitted(definition, tier_id, order):
                out.append({"path": path, "message": f"template {template_id}'s audience "
                            f"leaves out tier {tier_id}, which grants it"})
    return out

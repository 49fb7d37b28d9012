"""Per-member delivery rules: holdout and variants, consent, quiet hours, frequency caps.

All pure; the worker applies them in this order for each (campaign, occurrence, member):
erased → audience → holdout → consent (per channel) → quiet hours (defer) →
cap/limit/budget (suppress)
→ effects. Caps, limits and budget are enforced by conditional writes in the same
transaction as the effects; this module only names the periods and the ceilings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from chalicelib.domain.campaigns.occurrences import wall_to_utc
from chalicelib.domain.delivery.windows import zone as zone  # re-exported: policy.zone

# --- deterministic assignment -------------------------------------------------------------

def unit(salt: str, campaign_id: str, member_id: str) -> float:
    """A uniform number in [0, 1) fixed by (salt, campaign, member): stable across runs."""
    digest = hashlib.sha256(f"{salt}\x1f{campaign_id}\x1f{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def held_out(campaign_id: str, member_id: str, holdout_percent: float) -> bool:
    """True for the ``holdout_percent`` % of members who measure lift and get nothing."""
    return holdout_percent > 0 and unit("holdout", campaign_id, member_id) * 100 < holdout_percent


def variant(campaign_id: str, member_id: str, weights: Sequence[tuple[str, int]]) -> str | None:
    """The experiment arm for a member, by weight, independent of the holdout draw."""
    total = sum(w for _, w in weights)
    if total <= 0:
        return None
    point = unit("variant", campaign_id, member_id) * total
    for arm, w in weights:
        if point < w:
            return arm
        point -= w
    return weights[-1][0]


# --- consent ------------------------------------------------------------------------------

# Which consent each channel needs: consent is per channel. The in-app inbox is not a
# channel the member granted or can revoke separately (they see it only inside the app),
# so it needs none, like the coupon or points it announces, unless the campaign sets
# ``delivery.require_consent``. A channel not listed here is never allowed.
CHANNEL_CONSENT: dict[str, tuple[str, ...]] = {
    "push": ("push",),
    "webhook": ("push",),  # a push provider (JPush, Getui) behind a webhook
    "sms": ("sms",),
    "email": ("email",),
    "inbox": (),
}


def has_any_consent(consent: dict[str, bool] | None) -> bool:
    return any((consent or {}).get(k) for k in ("push", "sms", "email"))


def consented_channels(channels: Sequence[str], consent: dict[str, bool] | None,
                       require_consent: bool = False) -> list[str]:
    """The subset of ``channels`` the member's consent allows, in the campaign's order.
    With ``require_consent`` a member without any marketing consent gets no channel."""
    c = consent or {}
    if require_consent and not has_any_consent(c):
        return []
    return [ch for ch in channels if ch in CHANNEL_CONSENT
            and all(c.get(k) for k in CHANNEL_CONSENT[ch])]


def consent_outcome(channels: Sequence[str], consent: dict[str, bool] | None, *,
                    require_consent: bool, other_effects: bool) -> list[str] | None:
    """The channels to deliver on, or None when consent leaves nothing to deliver
    (``suppressed.consent``). Coupons and points (``other_effects``) need no consent unless
    ``require_consent``; a message whose channels are all refused is dropped on its own."""
    if require_consent and not has_any_consent(consent):
        return None
    allowed = consented_channels(channels, consent, require_consent)
    if not allowed and not other_effects:
        return None
    return allowed


# --- quiet hours ----------------------------------------------------------------------------

def quiet_until(at: datetime, tz: str, start: time, end: time) -> datetime | None:
    """When ``at`` falls in the member's quiet hours [start, end) local, the UTC instant the
    quiet window ends (delivery is deferred to it, not dropped); otherwise None.

    Windows may wrap midnight (22:00 → 08:00). The end is a wall-clock time, so a DST change
    during the night moves its UTC instant, as it should.
    """
    if start == end:
        return None
    local = at.astimezone(zone(tz))
    t = local.time().replace(tzinfo=None)
    day = local.date()
    if start < end:
        inside, end_day = start <= t < end, day
    elif t >= start:
        inside, end_day = True, day + timedelta(days=1)
    else:
        inside, end_day = t < end, day
    if not inside:
        return None
    resume = wall_to_utc(end_day, end, zone(tz))
    return resume if resume > at else at + timedelta(minutes=1)


# --- frequency caps -----------------------------------------------------------------------

@dataclass(frozen=True)
class Cap:
    """At most ``per_day`` and ``per_week`` deliveries of one class to one member."""

    per_day: int | None
    per_week: int | None


DEFAULT_CAPS: dict[str, Cap] = {
    "marketing": Cap(per_day=1, per_week=3),
    "service": Cap(per_day=3, per_week=None),
}


class LiveCaps(Mapping[str, Cap]):
    """Caps per class as ``read()`` returns them on each lookup: production wires the live
    loyalty program's ``caps`` (over DEFAULT_CAPS) so a publish changes them without a
    deploy; ``read`` is called per lookup and must be cheap (the program is cached)."""

    def __init__(self, read: Callable[[], Mapping[str, Cap]]) -> None:
        self._read = read

    def __getitem__(self, cap_class: str) -> Cap:
        return self._read()[cap_class]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


def cap_periods(at: datetime, tz: str) -> tuple[str, str]:
    """The member-local day and ISO week ``at`` counts against: ('2026-03-08', '2026-W10')."""
    local = at.astimezone(zone(tz)).date()
    iso = local.isocalendar()
    return local.isoformat(), f"{iso.year}-W{iso.week:02d}"


def limit_period(at: datetime, tz: str, period: str) -> str:
    """The per-member limit bucket for a campaign's ``limits.period``."""
    local: date = at.astimezone(zone(tz)).date()
    if period == "campaign":
        return "all"
    if period == "day":
        return local.isoformat()
    if period == "week":
        iso = local.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if period == "month":
        return f"{local.year}-{local.month:02d}"
    if period == "year":
        return str(local.year)
    raise ValueError(f"unknown period {period}")


def by_priority(items: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    """Candidates (priority, campaign id) in the order caps are spent: higher priority first,
    then campaign id, so concurrent planners agree on who wins."""
    return sorted(items, key=lambda pc: (-pc[0], pc[1]))


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)

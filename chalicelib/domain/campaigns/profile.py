"""The one member-profile shape compiled audiences read. Pure.

An *audience profile* is a flat ``dict`` whose keys are the audience attribute names::

    {"member_id": "m-1", "tier": "gold", "points.available": 1200, "lifetime_spend": 356000,
     "qualifying_spend": 120000, "orders_count": 14, "last_order_days_ago": 3,
     "signup_days_ago": 400, "age": 31, "gender": "female", "city": "Shanghai",
     "city_tier": 1, "tags": frozenset({"vip"}), "locale": "zh-CN",
     "timezone": "Asia/Shanghai", "birthday_month": 5, "consent.push": True,
     "consent.sms": False, "consent.email": False, "attributes.vip_level": 3}

Unknown values are None (or absent): every audience condition on them is false. ``tags`` is
a frozenset so ``contains`` is a hash lookup. Build it with ``audience_profile`` from the
member's profile (the PROFILE item, or the copy on its LOYALTY summary) and LOYALTY item (as
read from the table, ``plain()`` values): the LOYALTY item holds ``tier``, ``points``
(available), ``orders_count``, ``first_order_at``, ``last_order_at``, the monthly ``window``
buckets qualifying spend is summed from (see domain/loyalty/state.py) and the behaviour
``facts`` (domain/members/facts.py: ``orders_30d``, ``affinity.<category>`` ..., worked
out only when an audience reads one); ``lifetime_spend`` is read when the item carries it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.domain.members.cities import city_tier_level
from chalicelib.domain.members.facts import WINDOWS, age_band, audience_values, city_level
from chalicelib.domain.members.model import BIRTHDAY_RE, age_on, birthday_counts

# LOYALTY item fields, with the alternative names accepted (first present wins).
LOYALTY_FIELDS: dict[str, tuple[str, ...]] = {
    "tier": ("tier", "tier_id"),
    "points.available": ("points_available", "available", "balance", "points"),
    "lifetime_spend": ("lifetime_spend", "lifetime_spend_minor"),
    "qualifying_spend": ("qualifying_spend", "qualifying_spend_minor", "window_spend"),
    "orders_count": ("orders_count", "order_count", "orders"),
}


def _first(item: Mapping[str, object], names: tuple[str, ...]) -> object:
    for n in names:
        v = item.get(n)
        if v is not None and not isinstance(v, Mapping):
            return v
    return None


def _days_since(iso: object, today: date) -> int | None:
    if not isinstance(iso, str) or len(iso) < 10:
        return None
    try:
        return max(0, (today - date.fromisoformat(iso[:10])).days)
    except ValueError:
        return None


def _window_spend(window: object, today: date) -> int | None:
    """Qualifying spend: the LOYALTY item's monthly buckets of the 12 months up to today."""
    if not isinstance(window, Mapping):
        return None
    first = (today.year * 12 + today.month - 1) - 11
    total = 0
    for month, bucket in window.items():
        try:
            y, m = int(str(month)[:4]), int(str(month)[5:7])
        except ValueError:
            continue
        if y * 12 + m - 1 >= first and isinstance(bucket, Mapping):
            spend = bucket.get("spend", 0) or 0
            if isinstance(spend, (int, float, str)):
                total += int(spend)
    return total


def resolve_city_tier(city: Any) -> int | None:
    """The tier of a city name, 1 一线 … 6 五线 (domain/members/cities.py): the one place
    audiences and profile facts look a city's tier up."""
    return city_tier_level(city)


FACT_KEYS = frozenset({*(f"{kind}_{n}d" for kind in ("orders", "spend") for n in WINDOWS),
                       "avg_basket_365d", "favourite_store", "favourite_channel", "top_category"})
AFFINITY = "affinity."
_ABSENT = object()


class AudienceProfile(dict[str, Any]):
    """An audience profile whose behaviour facts are worked out on the first read of one: a
    broadcast or a count builds one profile per member, and most audiences read no fact."""

    __slots__ = ("_facts", "_today")

    def __init__(self, values: Mapping[str, Any], facts: Mapping[str, Any] | None,
                 today: date) -> None:
        super().__init__(values)
        self._facts, self._today = facts, today

    def _fill(self, key: object) -> bool:
        """Add the facts when ``key`` is one (once); whether they were added."""
        if self._facts is None or not isinstance(key, str) or not (
                key in FACT_KEYS or key.startswith(AFFINITY)):
            return False
        facts, self._facts = self._facts, None
        self.update(audience_values(facts, self._today) or {})
        return True

    def get(self, key: str, default: Any = None) -> Any:
        value = dict.get(self, key, _ABSENT)
        if value is _ABSENT:
            return dict.get(self, key, default) if self._fill(key) else default
        return value

    def __missing__(self, key: str) -> Any:
        if self._fill(key) and dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or (self._fill(key) and dict.__contains__(self, key))


def fact_values(loyalty: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The behaviour facts kept on LOYALTY (``facts``) as audience attributes; a member who
    has never ordered has zero orders and spend; unknown facts are left out."""
    raw = loyalty.get("facts")
    values = audience_values(raw if isinstance(raw, Mapping) else None, today)
    if values is not None:
        return values
    never = bool(loyalty) and not _first(loyalty, LOYALTY_FIELDS["orders_count"]) \
        and not loyalty.get("last_order_at")
    return {f"{kind}_{n}d": 0 for kind in ("orders", "spend") for n in WINDOWS} if never else {}


def _int(v: Any) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return int(v)
    return None


def _birthday_month(profile: Mapping[str, object], m: re.Match[str] | None, today: date
                    ) -> int | None:
    """The birth month, unknown while a member-set birthday is too new for the nearest
    birthday (this year's, from its month on; else next year's): a "birthday month" perk
    must not go to a member who set its birthday to this month last week."""
    if m is None:
        return None
    month = int(m.group(2))
    year = today.year if month >= today.month else today.year + 1
    return month if birthday_counts(dict(profile), year) else None


def _mapping(value: object) -> Mapping[str, object]:
    """A nested map of a stored item ({} when absent)."""
    return value if isinstance(value, Mapping) else {}


def audience_profile(profile: Mapping[str, object],
                     loyalty: Mapping[str, object] | None = None,
                     *, today: date | None = None) -> dict[str, object]:
    """The flat audience profile of a member from its PROFILE and LOYALTY items."""
    today = today or datetime.now(UTC).date()
    loyalty = loyalty or {}
    consent = _mapping(profile.get("consent"))
    birthday = profile.get("birthday")
    m = BIRTHDAY_RE.match(birthday) if isinstance(birthday, str) else None
    city = profile.get("city")
    tags = profile.get("tags") or ()
    points = loyalty.get("points")
    available = _first(loyalty, LOYALTY_FIELDS["points.available"])
    if available is None and isinstance(points, Mapping):
        available = points.get("available")
    last_order = loyalty.get("last_order_at") or loyalty.get("last_order_date")
    city_tier = profile.get("city_tier") or resolve_city_tier(city)  # an operator's tier wins
    out: dict[str, Any] = {
        "member_id": profile.get("member_id"),
        "tier": _first(loyalty, LOYALTY_FIELDS["tier"]) or profile.get("tier"),
        "points.available": _int(available),
        "lifetime_spend": _int(_first(loyalty, LOYALTY_FIELDS["lifetime_spend"])),
        "qualifying_spend": _int(_first(loyalty, LOYALTY_FIELDS["qualifying_spend"]))
        if "window" not in loyalty else _window_spend(loyalty.get("window"), today),
        "orders_count": _int(_first(loyalty, LOYALTY_FIELDS["orders_count"])),
        "last_order_days_ago": _days_since(last_order, today),
        "signup_days_ago": _days_since(profile.get("signup_at"), today),
        "age": age_on(str(birthday), today) if m else None,
        "age_band": age_band(str(birthday), today) if m else None,
        "first_order_days_ago": _days_since(loyalty.get("first_order_at"), today),
        "gender": profile.get("gender"),
        "city": city,
        "city_tier": city_tier,
        "city_level": city_level(_int(city_tier)),
        "tags": frozenset(tags) if isinstance(tags, (list, tuple, set, frozenset)) else
        frozenset(),
        "locale": profile.get("locale"),
        "timezone": profile.get("timezone"),
        "birthday_month": _birthday_month(profile, m, today),
        "consent.push": bool(consent.get("push", False)),
        "consent.sms": bool(consent.get("sms", False)),
        "consent.email": bool(consent.get("email", False)),
    }
    if out["orders_count"] is None and loyalty:
        out["orders_count"] = 0
    for key, value in _mapping(profile.get("attributes")).items():
        if isinstance(value, (str, int, float, bool)):
            out[f"attributes.{key}"] = value
    raw = loyalty.get("facts")
    if isinstance(raw, Mapping):  # worked out when an audience first reads one
        return AudienceProfile(out, raw, today)
    out.update(fact_values(loyalty, today))
    return out

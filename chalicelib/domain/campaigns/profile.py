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
member's PROFILE item and LOYALTY item (as read from the table, ``plain()`` values): the
LOYALTY item holds ``tier``, ``points`` (available), ``orders_count``, ``last_order_at`` and
the monthly ``window`` buckets qualifying spend is summed from (see domain/loyalty/state.py);
``lifetime_spend`` is read when the item carries it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime

from chalicelib.domain.members.cities import city_tier_level
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


def _int(v: object) -> int | None:
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
    out: dict[str, object] = {
        "member_id": profile.get("member_id"),
        "tier": _first(loyalty, LOYALTY_FIELDS["tier"]) or profile.get("tier"),
        "points.available": _int(available),
        "lifetime_spend": _int(_first(loyalty, LOYALTY_FIELDS["lifetime_spend"])),
        "qualifying_spend": _int(_first(loyalty, LOYALTY_FIELDS["qualifying_spend"]))
        if "window" not in loyalty else _window_spend(loyalty.get("window"), today),
        "orders_count": _int(_first(loyalty, LOYALTY_FIELDS["orders_count"])),
        "last_order_days_ago": _days_since(last_order, today),
        "signup_days_ago": _days_since(profile.get("signup_at"), today),
        "age": age_on(m.string, today) if m else None,
        "gender": profile.get("gender"),
        "city": city,
        # 1 一线 … 6 五线 (domain/members/cities.py); an operator-set tier wins.
        "city_tier": profile.get("city_tier") or city_tier_level(city),
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
    return out

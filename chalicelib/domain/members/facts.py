"""Member facts from behaviour: what a member's orders and refunds say about it. Pure.

Kept on the member's LOYALTY item (its audience summary) as the ``facts`` map, changed in
the same transaction as each order and refund (so exactly once: the order or refund item is
create-only in that transaction). Only integers and strings are stored::

    {"v": 1, "tz": "Asia/Shanghai", "since": "2026-11-11",
     "weeks": {"2026-11-09": [2, 35800], ...},  # local Monday -> [orders, spend (fen)]
     "at": "2026-11-09",                         # the week the decayed scores are stated at
     "cat": {"coffee": 25400, "~": 1000},        # decayed spend per category (fen)
     "store": {"s-001": 1900},                   # decayed visits (1000 = one order)
     "channel": {"app": 950}}

- **Rolling windows** (orders and spend in the last 30/90/365 days) add up weekly buckets
  (Monday to Sunday in the member's time zone, ``tz``, fixed at the first order so an order
  and its refunds always meet in the same bucket). A window counts every week that has at
  least one day in it, so it can reach up to 6 days further back than its name says; the 53
  most recent weeks are kept (every week that touches the last 365 days).
- **Spend** is qualifying spend: line price less its share of the discount, shipping never
  (the same figure tiers use), integer minor units. A refund subtracts what it refunds from
  the order's week; a refund that completes the order also takes the order out of the counts.
- **Decay**: category spend and store/channel visits lose ``1 - DECAY_PER_WEEK`` (5 %) of
  their weight per week (half-life about 13.5 weeks). Scores are integers stated at week
  ``at``; moving them to a later week multiplies every score by DECAY_PER_WEEK ** weeks, in
  exact fractions, rounded half-even once per write. A share (score / total) is the same
  whatever week the scores are stated at, so shares need no decay at read time.
- **Favourite** store or channel: the highest decayed visit score; ties go to the smaller id.
  **Affinity**: a category's share of the decayed spend; lines without a category count in
  the total under ``UNCATEGORIZED`` and are never a favourite. At most ``MAX_KEYS`` keys of
  each map are kept (the highest scores).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.members.cities import TIER_NAMES
from chalicelib.domain.members.model import age_on

FACTS_VERSION = 1
WINDOWS = (30, 90, 365)
RETENTION_WEEKS = 53  # a 365-day window touches at most 53 Monday-to-Sunday weeks
DECAY_PER_WEEK = Fraction(19, 20)
VISIT = 1000  # one order's visit score, so decayed visits stay integers
MAX_KEYS = 20
UNCATEGORIZED = "~"
# Category names an audience can address as affinity.<category>: up to 64 characters of any
# script without whitespace, "." or "~" (others are kept and count, but cannot be named).
KEY_RE = re.compile(r"^[^\s.~]{1,64}$")

Facts = dict[str, Any]


# --- time ------------------------------------------------------------------------------------

def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def local_week(at: datetime, tz: str) -> date:
    """The Monday of ``at``'s week in ``tz``."""
    return monday(at.astimezone(ZoneInfo(tz)).date())


def _weeks_between(earlier: date, later: date) -> int:
    return (later - earlier).days // 7


# --- what one order or refund contributes ------------------------------------------------------

@dataclass(frozen=True)
class OrderFact:
    """What facts need of an order: when, how much (qualifying spend, minor units, per
    category: None for lines without one), where and through which channel."""

    placed_at: datetime
    spend: int
    categories: Mapping[str | None, int] = field(default_factory=dict)
    store: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class RefundFact:
    """A refund of ``value`` (qualifying spend, per category) of an order placed at
    ``placed_at``; ``completes`` when it makes the order fully refunded."""

    placed_at: datetime
    value: int
    categories: Mapping[str | None, int] = field(default_factory=dict)
    store: str | None = None
    channel: str | None = None
    completes: bool = False


def _fresh(tz: str, now: datetime, prior: int) -> Facts:
    since = now.astimezone(ZoneInfo(tz)).date().isoformat()
    return {"v": FACTS_VERSION, "tz": tz, "since": since, "prior": prior, "weeks": {},
            "at": local_week(now, tz).isoformat(), "cat": {}, "store": {}, "channel": {}}


def _copy(facts: Mapping[str, Any] | None, tz: str, now: datetime, prior: int = 0) -> Facts:
    if not facts or facts.get("v") != FACTS_VERSION:
        return _fresh(tz, now, prior)
    return {**facts,
            "weeks": {w: [int(b[0]), int(b[1])] for w, b in (facts.get("weeks") or {}).items()},
            **{k: {n: int(v) for n, v in (facts.get(k) or {}).items()}
               for k in ("cat", "store", "channel")}}


def _decayed(value: int | Fraction, weeks: int) -> Fraction:
    return Fraction(value) * DECAY_PER_WEEK ** max(0, weeks)


def _advance(f: Facts, week: date) -> None:
    """State every score at ``week`` (never moves back)."""
    at = date.fromisoformat(f["at"])
    if week <= at:
        return
    steps = _weeks_between(at, week)
    for k in ("cat", "store", "channel"):
        f[k] = _top({n: round(_decayed(v, steps)) for n, v in f[k].items()})
    f["at"] = week.isoformat()


def _top(scores: dict[str, int]) -> dict[str, int]:
    kept = sorted(((v, n) for n, v in scores.items() if v > 0), key=lambda x: (-x[0], x[1]))
    return {n: v for v, n in kept[:MAX_KEYS]}


def _score(f: Facts, kind: str, key: str | None, amount: int, week: date, sign: int) -> None:
    if key is None or amount <= 0:
        return
    at = date.fromisoformat(f["at"])
    change = round(_decayed(amount, _weeks_between(week, at)))
    scores = dict(f[kind])
    scores[key] = max(0, scores.get(key, 0) + sign * change)
    f[kind] = _top(scores)


def _bucket(f: Facts, week: date, now: datetime, orders: int, spend: int) -> None:
    """Add to ``week``'s bucket (clamped at zero) and drop weeks out of retention."""
    oldest = local_week(now, f["tz"]) - timedelta(weeks=RETENTION_WEEKS - 1)
    weeks = f["weeks"]
    if week >= oldest:
        b = weeks.get(week.isoformat(), [0, 0])
        b = [max(0, b[0] + orders), max(0, b[1] + spend)]
        if b == [0, 0]:
            weeks.pop(week.isoformat(), None)
        else:
            weeks[week.isoformat()] = b
    f["weeks"] = {w: b for w, b in sorted(weeks.items()) if date.fromisoformat(w) >= oldest}


def record_order(facts: Mapping[str, Any] | None, order: OrderFact, now: datetime,
                 tz: str, prior_orders: int = 0) -> Facts:
    """Facts after one order. When facts start, ``tz`` (the member's) fixes the weeks and
    ``prior_orders`` records how many orders came before facts were kept: windows reaching
    back before ``since`` are then unknown rather than undercounted."""
    f = _copy(facts, tz, now, prior_orders)
    week = local_week(order.placed_at, f["tz"])
    _advance(f, max(local_week(now, f["tz"]), week))
    _bucket(f, week, now, 1, order.spend)
    for category, spend in sorted(order.categories.items(), key=lambda c: str(c[0])):
        _score(f, "cat", category or UNCATEGORIZED, spend, week, +1)
    _score(f, "store", order.store, VISIT, week, +1)
    _score(f, "channel", order.channel, VISIT, week, +1)
    return f


def record_refund(facts: Mapping[str, Any] | None, refund: RefundFact, now: datetime,
                  tz: str) -> Facts | None:
    """Facts after a refund of an order they counted (the caller knows: the order records
    it): its value comes off the order's week and categories; a refund that completes the
    order takes away the order and its visit. No facts stay no facts."""
    if not facts or facts.get("v") != FACTS_VERSION:
        return None
    f = _copy(facts, tz, now)
    week = local_week(refund.placed_at, f["tz"])
    _advance(f, local_week(now, f["tz"]))
    _bucket(f, week, now, -1 if refund.completes else 0, -refund.value)
    for category, value in sorted(refund.categories.items(), key=lambda c: str(c[0])):
        _score(f, "cat", category or UNCATEGORIZED, value, week, -1)
    if refund.completes:
        _score(f, "store", refund.store, VISIT, week, -1)
        _score(f, "channel", refund.channel, VISIT, week, -1)
    return f


# --- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberFacts:
    """The facts as of ``today`` (the member's local date)."""

    # window in days -> orders (fully refunded ones not counted), and qualifying spend net of
    # refunds in minor units; a window is missing while it reaches back before facts were
    # kept for a member who had ordered before (``since``, ``prior``)
    orders: Mapping[int, int]
    spend: Mapping[int, int]
    avg_basket: int | None  # spend / orders of the last 365 days seen, minor units
    favourite_store: str | None
    favourite_channel: str | None
    affinity: Mapping[str, Fraction]  # category -> share of the decayed spend (sum <= 1)
    top_category: str | None
    since: str | None  # the local date facts started being kept

    def affinity_percent(self, category: str) -> int | None:
        share = self.affinity.get(category)
        return None if share is None else round(share * 100)


def div_round(n: int, d: int) -> int:
    """n / d (d > 0) rounded half to even, in integers."""
    q, r = divmod(n, d)
    return q + 1 if 2 * r > d or (2 * r == d and q % 2) else q


@lru_cache(maxsize=64)
def _bounds(today: date) -> tuple[str, str, tuple[tuple[int, str], ...]]:
    """(today, the first Monday of 365 days, (window, its first Monday) ...) as ISO dates."""
    firsts = tuple((n, monday(today - timedelta(days=n - 1)).isoformat()) for n in WINDOWS)
    return today.isoformat(), firsts[-1][1], firsts


def _favourite(scores: Mapping[str, int]) -> str | None:
    best = min(((-v, n) for n, v in scores.items() if v > 0 and n != UNCATEGORIZED),
               default=None)
    return best[1] if best else None


def _totals(facts: Mapping[str, Any], today: date
            ) -> tuple[dict[int, int], dict[int, int], int, int]:
    """(orders per window, spend per window, orders and spend of the last 365 days seen),
    for the windows facts saw whole: they started before its first week, or the member had
    not ordered before (``prior``). Week keys are ISO Mondays: windows compare strings."""
    last, year, firsts = _bounds(today)
    prior, since = facts.get("prior"), str(facts.get("since") or "")
    starts = [(n, first) for n, first in firsts if not prior or since <= first]
    orders = dict.fromkeys((n for n, _ in starts), 0)
    spend = dict.fromkeys(orders, 0)
    seen_orders = seen_spend = 0
    for week, (o, sp) in (facts.get("weeks") or {}).items():
        if week > last or week < year:
            continue
        seen_orders, seen_spend = seen_orders + o, seen_spend + sp
        for n, first in starts:
            if week >= first:
                orders[n] += o
                spend[n] += sp
    return orders, spend, seen_orders, seen_spend


def summarize(facts: Mapping[str, Any] | None, today: date) -> MemberFacts | None:
    """The member's facts as of ``today``; None when none are kept."""
    if not facts or facts.get("v") != FACTS_VERSION:
        return None
    orders, spend, n_seen, s_seen = _totals(facts, today)
    cat = {k: int(v) for k, v in (facts.get("cat") or {}).items() if int(v) > 0}
    total = sum(cat.values())
    return MemberFacts(
        orders=orders, spend=spend,
        avg_basket=div_round(s_seen, n_seen) if n_seen else None,
        favourite_store=_favourite(facts.get("store") or {}),
        favourite_channel=_favourite(facts.get("channel") or {}),
        affinity={k: Fraction(v, total) for k, v in cat.items()} if total else {},
        top_category=_favourite(cat),
        since=facts.get("since"))


def audience_values(facts: Mapping[str, Any] | None, today: date) -> dict[str, Any] | None:
    """The facts as audience attributes (``summarize`` in integers only: audiences build one
    per member read); None when none are kept."""
    if not facts or facts.get("v") != FACTS_VERSION:
        return None
    orders, spend, n_seen, s_seen = _totals(facts, today)
    out: dict[str, Any] = {f"orders_{n}d": v for n, v in orders.items()}
    out.update({f"spend_{n}d": v for n, v in spend.items()})
    cat = facts.get("cat") or {}
    total = sum(int(v) for v in cat.values())
    out.update({"avg_basket_365d": div_round(s_seen, n_seen) if n_seen else None,
                "favourite_store": _favourite(facts.get("store") or {}),
                "favourite_channel": _favourite(facts.get("channel") or {}),
                "top_category": _favourite(cat)})
    if total:
        out.update({f"affinity.{c}": div_round(100 * int(v), total) for c, v in cat.items()
                    if int(v) > 0 and c != UNCATEGORIZED})
    return out


# --- profile-derived facts ---------------------------------------------------------------------

AGE_BANDS: tuple[tuple[int, str], ...] = (
    (18, "0-17"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"),
    (200, "65+"))
AGE_BAND_NAMES = tuple(name for _, name in AGE_BANDS)


def age_band(birthday: str | None, today: date) -> str | None:
    """'25-34' and so on from a birthday with its year; None without one."""
    age = age_on(birthday, today)
    if age is None or age < 0:
        return None
    return next(name for below, name in AGE_BANDS if age < below)


# City tier numbers as audiences use them (1..6) and their names (domain/members/cities.py).
CITY_LEVELS = TIER_NAMES


def city_level(tier: int | None) -> str | None:
    """1 -> '一线', 2 -> '新一线', ... 6 -> '五线'."""
    return CITY_LEVELS[tier - 1] if isinstance(tier, int) and 1 <= tier <= 6 else None


def city_tier_number(level: str | None) -> int | None:
    """'新一线' -> 2 (the inverse of ``city_level``)."""
    return CITY_LEVELS.index(level) + 1 if level in CITY_LEVELS else None

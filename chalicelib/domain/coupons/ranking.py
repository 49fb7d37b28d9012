"""Coupons by habit: rank the templates a member may get by how well they fit it. Pure.

``rank(templates, facts, tiers, locale)`` scores each template, in exact fractions::

    score = 10 * affinity + 3 * basket + 2 * tier          (0 ... 15)

- **affinity** (0-1): the member's share of (time-decayed) spend in the template's
  ``include_categories``. A template without included categories applies storewide and gets
  ``GENERAL`` (1/4) of the share its ``exclude_categories`` leave; one for listed SKUs only
  gets ``NARROW`` (1/8): what those SKUs are is not known here.
- **basket** (0-1): the spend needed before the coupon applies (threshold, step or
  ``min_spend``) against the member's average basket: 1 up to the average, falling linearly
  to 0 at twice it; 1 without a threshold; 1/2 while the average is unknown.
- **tier** (0 or 1): 1 when the template is for some tiers only and the member's is one of
  them (an exclusive perk). Templates the member's tier does not qualify for come after every
  template it does (``eligible`` False) and score 0.

Ties go to the larger face value, then the lower threshold, then the template id, so the
order never depends on the order templates were given in. The reason is the factor that adds
most among those worth saying (a category taking at least ``REASON_SHARE`` of the spend, an
exclusive tier, a threshold within -50 %/+25 % of the average basket), else what the coupon is
(a category deal, selected items, no minimum spend, storewide), in Chinese or English.

``MemberFacts`` holds what ranking reads; ``facts_of`` reads it from the member's LOYALTY
item (the audience summary: ``tier``, and the behaviour ``facts`` that orders keep there, the
same affinity and average basket as ``domain/members/facts.py``), falling back to lifetime
spend / orders for the average basket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.coupons.rules import Rules, compile_template
from chalicelib.domain.coupons.template import CouponTemplate

W_AFFINITY, W_BASKET, W_TIER = 10, 3, 2
GENERAL = Fraction(1, 4)  # affinity of a storewide template (times the share not excluded)
NARROW = Fraction(1, 8)  # affinity of a template for listed SKUs only
UNKNOWN_BASKET = Fraction(1, 2)
REASON_SHARE = Fraction(1, 5)  # "因为你常买咖啡" needs coffee to be at least this share
NEAR_BELOW, NEAR_ABOVE = Fraction(1, 2), Fraction(5, 4)  # "门槛贴近你的平均客单"
FACTS_VERSION = 1

# Labels for common retail category ids (zh-CN, en); other ids are shown as they are.
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "coffee": ("咖啡", "coffee"), "tea": ("茶饮", "tea"), "bakery": ("烘焙", "bakery"),
    "snacks": ("零食", "snacks"), "nuts": ("坚果", "nuts"), "dairy": ("乳品", "dairy"),
    "fruit": ("水果", "fruit"), "vegetables": ("蔬菜", "vegetables"),
    "meat": ("肉禽", "meat"), "seafood": ("海鲜", "seafood"), "fresh": ("生鲜", "fresh food"),
    "frozen": ("冷冻食品", "frozen food"), "beverages": ("饮料", "drinks"),
    "drinks": ("饮品", "drinks"), "alcohol": ("酒水", "wine and spirits"),
    "grocery": ("粮油", "groceries"), "food": ("食品", "food"), "beauty": ("美妆", "beauty"),
    "personal-care": ("个护", "personal care"), "household": ("家清", "household"),
    "baby": ("母婴", "baby products"), "pet": ("宠物用品", "pet supplies"),
    "health": ("保健", "health"), "electronics": ("数码", "electronics"),
    "apparel": ("服饰", "clothing"), "books": ("图书", "books"),
    "flowers": ("鲜花", "flowers"), "gift-cards": ("礼品卡", "gift cards"),
}

TEXT: dict[str, tuple[str, str]] = {
    "affinity": ("因为你常买{category}", "Because you often buy {category}"),
    "tier": ("{tier}专享", "{tier} exclusive"),
    "basket": ("满减门槛贴近你的平均客单", "The threshold is close to your usual basket"),
    "basket_min": ("起用金额贴近你的平均客单", "The minimum spend is close to your usual basket"),
    "category": ("{category}优惠", "A deal on {category}"),
    "selected": ("指定商品可用", "On selected items"),
    "no_threshold": ("无门槛，下单即可用", "No minimum spend"),  # noqa: RUF001 (Chinese comma)
    "storewide": ("全场通用", "Good storewide"),
    "other_tier": ("{tier}可领", "For {tier} members"),
}


@dataclass(frozen=True)
class MemberFacts:
    """What ranking knows of a member: category -> share of its decayed spend (sum <= 1),
    average basket (minor units) and loyalty tier id (None: the base tier)."""

    affinity: Mapping[str, Fraction] = field(default_factory=dict)
    avg_basket: int | None = None
    tier: str | None = None


@dataclass(frozen=True)
class Tiers:
    """The loyalty program's tiers: ids base first, and display names by id."""

    order: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ranked:
    template_id: str
    rank: int  # 1 = best
    score: Fraction
    reason: str
    reason_code: str  # affinity | tier | basket | category | selected | no_threshold | ...
    eligible: bool


@dataclass(frozen=True)
class _Fit:
    rules: Rules
    score: Fraction
    eligible: bool
    reason_code: str
    category: str | None  # the included category the member buys most
    value: int


def rank(templates: Sequence[CouponTemplate | Rules], facts: MemberFacts,
         tiers: Tiers = Tiers(), locale: str | None = "zh-CN") -> list[Ranked]:
    """``templates`` best first for this member, each with its score and reason."""
    fits = [_fit(t if isinstance(t, Rules) else compile_template(t), facts, tiers)
            for t in templates]
    fits.sort(key=lambda f: (not f.eligible, -f.score, -f.value, f.rules.required_spend,
                             f.rules.template_id))
    lang = 0 if language(locale) == "zh" else 1
    return [Ranked(f.rules.template_id or "", n, f.score, _text(f, facts, tiers, lang),
                   f.reason_code, f.eligible) for n, f in enumerate(fits, 1)]


def language(locale: str | None) -> str:
    """'zh' for Chinese locales and no locale (users are Chinese first), else 'en'."""
    return "zh" if not locale or locale.lower().startswith("zh") else "en"


def _fit(r: Rules, facts: MemberFacts, tiers: Tiers) -> _Fit:
    value = face_value(r)
    if not r.tier_allowed(facts.tier, tiers.order):
        return _Fit(r, Fraction(0), False, "other_tier", None, value)
    aff, category = affinity(r, facts.affinity)
    basket = basket_fit(r.required_spend, facts.avg_basket)
    exclusive = exclusive_to(r, facts.tier, tiers.order)
    score = W_AFFINITY * aff + W_BASKET * basket + (W_TIER if exclusive else 0)
    said: list[tuple[Fraction, int, str]] = []
    if category is not None and facts.affinity.get(category, 0) >= REASON_SHARE:
        said.append((W_AFFINITY * aff, 0, "affinity"))
    if exclusive:
        said.append((Fraction(W_TIER), 1, "tier"))
    if near(r.required_spend, facts.avg_basket):
        said.append((W_BASKET * basket, 2, "basket"))
    code = min(said, key=lambda s: (-s[0], s[1]))[2] if said else _what(r)
    return _Fit(r, score, True, code, category, value)


def affinity(r: Rules, shares: Mapping[str, Fraction]) -> tuple[Fraction, str | None]:
    """(affinity 0-1, the included category the member buys most or None)."""
    if r.include_categories:
        got = sorted(((shares.get(c, Fraction(0)), c) for c in r.include_categories
                      if c not in r.exclude_categories), key=lambda x: (-x[0], x[1]))
        total = sum((s for s, _ in got), Fraction(0))
        return min(Fraction(1), total), (got[0][1] if got else None)
    if r.include_skus:
        return NARROW, None
    excluded = sum((shares.get(c, Fraction(0)) for c in r.exclude_categories), Fraction(0))
    return GENERAL * max(Fraction(0), 1 - excluded), None


def basket_fit(required: int, avg_basket: int | None) -> Fraction:
    """1 up to the average basket, 0 from twice it, linear between; 1 with no threshold."""
    if required <= 0:
        return Fraction(1)
    if not avg_basket or avg_basket <= 0:
        return UNKNOWN_BASKET
    ratio = Fraction(required, avg_basket)
    return max(Fraction(0), min(Fraction(1), 2 - ratio))


def near(required: int, avg_basket: int | None) -> bool:
    """Is the threshold close to the average basket (-50 % ... +25 %)?"""
    if required <= 0 or not avg_basket or avg_basket <= 0:
        return False
    return NEAR_BELOW <= Fraction(required, avg_basket) <= NEAR_ABOVE


def exclusive_to(r: Rules, tier: str | None, order: tuple[str, ...]) -> bool:
    """A template for some tiers only, and the member's tier is one of them."""
    allowed = r.allowed_tiers(order)
    if allowed is None or not r.tier_allowed(tier, order):
        return False
    return not set(order) <= allowed  # "every tier" is not exclusive


def face_value(r: Rules) -> int:
    """What the coupon is worth at most, in minor units (0 when open-ended)."""
    if r.kind in ("fixed", "no_threshold", "threshold"):
        return r.amount
    if r.kind == "stepped":
        return r.amount * r.max_steps
    if r.kind == "gift":
        return r.gift_value * max(1, r.gift_quantity)
    return r.max_discount or 0


def _what(r: Rules) -> str:
    if r.include_categories:
        return "category"
    if r.include_skus:
        return "selected"
    return "no_threshold" if r.required_spend <= 0 else "storewide"


def _text(f: _Fit, facts: MemberFacts, tiers: Tiers, lang: int) -> str:
    code = f.reason_code
    if code == "basket" and f.rules.kind not in ("threshold", "stepped"):
        code = "basket_min"
    if code == "category" and f.category is None:
        code = "storewide"
    if code == "other_tier":  # the tier it is for: the lowest of its list
        tier = f.rules.min_tier or next((t for t in tiers.order if t in f.rules.tiers),
                                        min(f.rules.tiers, default=""))
    else:
        tier = facts.tier or (tiers.order[0] if tiers.order else "")
    return TEXT[code][lang].format(category=category_label(f.category or "", lang),
                                   tier=tier_label(tier, tiers.names.get(tier), lang))


def category_label(category: str, lang: int) -> str:
    known = CATEGORY_LABELS.get(category)
    if known:
        return known[lang]
    return category if lang == 0 else category.replace("-", " ").replace("_", " ")


def _cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def tier_label(tier_id: str, name: str | None, lang: int) -> str:
    """The tier's name in the language: programs name tiers like "金卡 Gold", so the words
    in Chinese script for Chinese, the others for English (the whole name otherwise)."""
    if not name:
        return tier_id
    words = name.split()
    mine = [w for w in words if _cjk(w) == (lang == 0)]
    return " ".join(mine) if mine and len(mine) < len(words) else name


# --- reading the member's facts ----------------------------------------------------------------

def facts_of(loyalty: Mapping[str, Any] | None, today: date) -> MemberFacts:
    """MemberFacts from a LOYALTY item: ``tier``; category shares of the decayed spend in
    ``facts.cat``; the average basket over the weeks of ``facts.weeks`` that touch the last
    365 days up to ``today`` (the member's local date), else lifetime spend / orders."""
    lo = loyalty or {}
    raw = lo.get("facts")
    stored: Mapping[str, Any] = raw if isinstance(raw, Mapping) and raw.get(
        "v") == FACTS_VERSION else {}
    cat = {str(k): int(v) for k, v in (stored.get("cat") or {}).items() if int(v) > 0}
    total = sum(cat.values())
    shares = {k: Fraction(v, total) for k, v in cat.items()} if total else {}
    orders = spend = 0
    start = today - timedelta(days=364)
    first, last = (start - timedelta(days=start.weekday())).isoformat(), today.isoformat()
    for week, bucket in (stored.get("weeks") or {}).items():  # keys: ISO Mondays
        if first <= str(week) <= last:
            orders, spend = orders + int(bucket[0]), spend + int(bucket[1])
    if orders <= 0:
        orders, spend = int(lo.get("orders_count") or 0), int(lo.get("lifetime_spend") or 0)
    avg = round(Fraction(spend, orders)) if orders > 0 and spend > 0 else None
    return MemberFacts(affinity=shares, avg_basket=avg, tier=lo.get("tier") or None)


def for_member(templates: Sequence[CouponTemplate | Rules], profile: Mapping[str, Any] | None,
               loyalty: Mapping[str, Any] | None, tiers: Tiers, now: datetime,
               default_tz: str) -> list[Ranked]:
    """``templates`` ranked for a member from its PROFILE item (locale; timezone, else
    ``default_tz``, for the local date its facts are read at) and its LOYALTY item."""
    p = profile or {}
    today = now.astimezone(ZoneInfo(str(p.get("timezone") or default_tz))).date()
    return rank(templates, facts_of(loyalty, today), tiers, p.get("locale"))

"""What Perks knows about a member from its behaviour, and why: GET /me/profile-facts. Pure.

Each fact names the audience attribute campaigns may target it with, its value, a label and
a one-line reason in Chinese and English. Only facts Perks actually holds are listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.members.facts import (
    UNCATEGORIZED,
    WINDOWS,
    MemberFacts,
    age_band,
    city_level,
    summarize,
)
from chalicelib.domain.models import Out

Text = dict[str, str]
TOP_CATEGORIES = 5


class Fact(Out):
    """One thing known about the member."""

    attr: str  # the audience attribute (docs/campaigns.md, Member facts)
    value: int | str
    unit: str | None = None  # fen, orders, percent, date
    label: Text
    why: Text


class ProfileFacts(Out):
    """GET /me/profile-facts: what we know about you and why."""

    member_id: str
    as_of: str  # the member's local date the facts are stated for
    facts_since: str | None = None  # the local date order facts started being kept
    facts: list[Fact] = []


WHY_ORDERS = {"zh-CN": "根据你的订单按自然周（周一至周日）统计，整单退款的订单不计入",  # noqa: RUF001 (Chinese punctuation)
              "en": "Counted from your orders by calendar week (Monday to Sunday); fully "
                    "refunded orders do not count"}
WHY_SPEND = {"zh-CN": "根据你订单中商品的实付金额（不含运费）统计，已扣除退款",  # noqa: RUF001 (Chinese punctuation)
             "en": "What you paid for goods in your orders (shipping excluded), less refunds"}
WHY_DECAY = {"zh-CN": "按你的订单计算，越近的订单权重越高（每周递减 5%）",  # noqa: RUF001 (Chinese punctuation)
             "en": "From your orders; recent orders count more (5 % less weight per week)"}


def _window_facts(f: MemberFacts) -> list[Fact]:
    out: list[Fact] = []
    for n in WINDOWS:
        if n in f.orders:
            out.append(Fact(attr=f"orders_{n}d", value=f.orders[n], unit="orders",
                            label={"zh-CN": f"近{n}天订单数", "en": f"Orders in the last {n} days"},
                            why=WHY_ORDERS))
    for n in WINDOWS:
        if n in f.spend:
            out.append(Fact(attr=f"spend_{n}d", value=f.spend[n], unit="fen",
                            label={"zh-CN": f"近{n}天消费金额",
                                   "en": f"Spend in the last {n} days"}, why=WHY_SPEND))
    if f.avg_basket is not None:
        out.append(Fact(attr="avg_basket_365d", value=f.avg_basket, unit="fen",
                        label={"zh-CN": "近一年平均客单价", "en": "Average order, last 365 days"},
                        why={"zh-CN": "近一年消费金额除以订单数",
                             "en": "Spend in the last 365 days divided by its orders"}))
    return out


def _preference_facts(f: MemberFacts) -> list[Fact]:
    out: list[Fact] = []
    if f.favourite_store:
        out.append(Fact(attr="favourite_store", value=f.favourite_store,
                        label={"zh-CN": "常去门店", "en": "Favourite store"},
                        why={"zh-CN": "你下单最多的门店；" + WHY_DECAY["zh-CN"],  # noqa: RUF001 (Chinese punctuation)
                             "en": "The store you order from most. " + WHY_DECAY["en"]}))
    if f.favourite_channel:
        out.append(Fact(attr="favourite_channel", value=f.favourite_channel,
                        label={"zh-CN": "常用下单渠道", "en": "Favourite channel"},
                        why={"zh-CN": "你最常使用的下单渠道；" + WHY_DECAY["zh-CN"],  # noqa: RUF001 (Chinese punctuation)
                             "en": "The channel you order through most. " + WHY_DECAY["en"]}))
    shares = sorted(((v, c) for c, v in f.affinity.items() if c != UNCATEGORIZED),
                    key=lambda x: (-x[0], x[1]))[:TOP_CATEGORIES]
    for share, category in shares:
        out.append(Fact(attr=f"affinity.{category}", value=round(share * 100), unit="percent",
                        label={"zh-CN": f"品类偏好：{category}",  # noqa: RUF001 (Chinese punctuation)
                               "en": f"Category preference: {category}"},
                        why={"zh-CN": "该品类在你消费中的占比；越近的消费权重越高（每周递减 5%）",  # noqa: RUF001 (Chinese punctuation)
                             "en": "This category's share of your spend; recent spend counts "
                                   "more (5 % less weight per week)"}))
    return out


def _profile_facts(profile: Mapping[str, Any], city_tier: int | None, today: date) -> list[Fact]:
    out: list[Fact] = []
    band = age_band(profile.get("birthday"), today)
    if band:
        out.append(Fact(attr="age_band", value=band,
                        label={"zh-CN": "年龄段", "en": "Age band"},
                        why={"zh-CN": "根据你填写的生日计算", "en": "From the birthday you gave"}))
    level = city_level(city_tier)
    if level:
        out.append(Fact(attr="city_level", value=level,
                        label={"zh-CN": "城市等级", "en": "City tier"},
                        why={"zh-CN": "根据你资料中的城市（第一财经·新一线城市研究所分级）",  # noqa: RUF001 (Chinese punctuation)
                             "en": "From the city on your profile (Yicai New First-tier "
                                   "Cities Institute grading)"}))
    return out


def _local_date(at: Any, tz: str) -> str | None:
    try:
        moment = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
        return moment.astimezone(ZoneInfo(tz)).date().isoformat()
    except (ValueError, KeyError):
        return None


def _order_dates(loyalty: Mapping[str, Any], tz: str) -> list[Fact]:
    out: list[Fact] = []
    for attr, key, zh, en in (("first_order_days_ago", "first_order_at", "首次下单", "First order"),
                              ("last_order_days_ago", "last_order_at", "最近下单", "Last order")):
        day = _local_date(loyalty.get(key), tz) if loyalty.get(key) else None
        if day:
            out.append(Fact(attr=attr, value=day, unit="date", label={"zh-CN": zh, "en": en},
                            why={"zh-CN": "你的订单记录", "en": "Your order history"}))
    return out


def explain(member_id: str, profile: Mapping[str, Any], loyalty: Mapping[str, Any] | None,
            city_tier: int | None, today: date) -> ProfileFacts:
    """Every fact known about the member as of ``today`` (its local date)."""
    loyalty = loyalty or {}
    raw = loyalty.get("facts")
    f = summarize(raw if isinstance(raw, Mapping) else None, today)
    tz = str(profile.get("timezone") or "Asia/Shanghai")
    facts = _profile_facts(profile, city_tier, today) + _order_dates(loyalty, tz)
    if f is not None:
        facts += _window_facts(f) + _preference_facts(f)
    return ProfileFacts(member_id=member_id, as_of=today.isoformat(),
                        facts_since=f.since if f else None, facts=facts)

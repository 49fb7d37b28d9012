"""Coupons by habit: the pure ranking (domain/coupons/ranking.py)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.coupons.ranking import (
    GENERAL,
    MemberFacts,
    Tiers,
    basket_fit,
    facts_of,
    rank,
    tier_label,
)
from chalicelib.domain.coupons.rules import Rules, compile_template
from chalicelib.domain.coupons.template import CouponTemplate, parse_template

VALIDITY = {"starts_at": "2020-01-01T00:00:00+08:00", "ends_at": "2030-01-01T00:00:00+08:00"}
TIERS = Tiers(("member", "silver", "gold", "platinum"),
              {"member": "会员 Member", "gold": "金卡 Gold", "platinum": "白金 Platinum"})


def tpl(tid: str, benefit: dict[str, Any] | None = None, **fields: Any) -> CouponTemplate:
    return parse_template({"template_id": tid, "name": tid, "validity": VALIDITY,
                           "benefit": benefit or {"type": "fixed", "amount": 500}, **fields})


def cat(tid: str, category: str, **benefit: Any) -> CouponTemplate:
    return tpl(tid, {"type": "fixed", "amount": 500, **benefit},
               scope={"include_categories": [category]})


def ids(ranked: list[Any]) -> list[str]:
    return [r.template_id for r in ranked]


COFFEE_LOVER = MemberFacts({"coffee": Fraction(1, 2), "tea": Fraction(1, 10),
                            "bakery": Fraction(2, 5)}, avg_basket=9000, tier="silver")


def test_the_category_a_member_buys_most_comes_first_and_says_so():
    got = rank([cat("tea-5", "tea"), cat("coffee-5", "coffee"), cat("bakery-5", "bakery")],
               COFFEE_LOVER, TIERS, "zh-CN")
    assert ids(got) == ["coffee-5", "bakery-5", "tea-5"]
    assert [r.rank for r in got] == [1, 2, 3]
    assert got[0].reason == "因为你常买咖啡" and got[0].reason_code == "affinity"
    assert got[2].reason == "茶饮优惠"  # 10 % of the spend is not a habit worth naming


def test_reasons_in_english_for_an_english_locale():
    got = rank([cat("coffee-5", "coffee")], COFFEE_LOVER, TIERS, "en")
    assert got[0].reason == "Because you often buy coffee"
    assert rank([cat("xx", "home-office")], MemberFacts(), TIERS, "en-US")[0].reason == \
        "A deal on home office"


def test_a_threshold_near_the_average_basket_beats_one_far_above_it():
    near = tpl("near", {"type": "threshold", "threshold": 10000, "amount": 1500})
    far = tpl("far", {"type": "threshold", "threshold": 30000, "amount": 6000})
    got = rank([far, near], MemberFacts(avg_basket=9000), TIERS, "zh-CN")
    assert ids(got) == ["near", "far"]
    assert got[0].reason == "满减门槛贴近你的平均客单" and got[0].reason_code == "basket"
    assert got[1].reason == "全场通用"


def test_a_tier_exclusive_coupon_says_so_in_the_tiers_own_words():
    gold = tpl("gold-20", {"type": "no_threshold", "amount": 2000},
               audience={"min_tier": "gold"})
    plain = tpl("all-20", {"type": "no_threshold", "amount": 2000})
    member = MemberFacts(tier="platinum")
    got = rank([plain, gold], member, TIERS, "zh-CN")
    assert ids(got) == ["gold-20", "all-20"]
    assert got[0].reason == "白金专享" and got[1].reason == "无门槛，下单即可用"  # noqa: RUF001
    assert rank([gold], member, TIERS, "en")[0].reason == "Platinum exclusive"


def test_a_template_the_members_tier_cannot_use_comes_last():
    gold = tpl("gold-50", {"type": "no_threshold", "amount": 5000},
               audience={"tiers": ["gold"]})
    got = rank([gold, cat("tea-5", "tea")], COFFEE_LOVER, TIERS, "zh-CN")
    assert ids(got) == ["tea-5", "gold-50"]
    assert not got[1].eligible and got[1].score == 0 and got[1].reason == "金卡可领"


def test_every_tier_is_not_exclusive():
    everyone = tpl("base-up", audience={"min_tier": "member"})
    assert rank([everyone], MemberFacts(tier="gold"), TIERS)[0].reason_code != "tier"


def test_a_storewide_coupon_beats_a_category_the_member_never_buys_not_its_habit():
    store = tpl("all-5")
    got = rank([cat("beauty-5", "beauty"), store, cat("coffee-5", "coffee")], COFFEE_LOVER,
               TIERS)
    assert ids(got) == ["coffee-5", "all-5", "beauty-5"]


def test_a_new_member_without_facts_sees_storewide_coupons_first():
    got = rank([cat("coffee-5", "coffee"), tpl("all-5")], MemberFacts(), TIERS)
    assert ids(got) == ["all-5", "coffee-5"]


def test_ties_go_to_the_larger_value_then_the_lower_threshold_then_the_id():
    a = tpl("t-a", {"type": "fixed", "amount": 500})
    b = tpl("t-b", {"type": "fixed", "amount": 800})
    c = tpl("t-c", {"type": "fixed", "amount": 800}, scope={"min_spend": 100})
    d = tpl("t-d", {"type": "fixed", "amount": 800})
    same = MemberFacts(avg_basket=9000)  # both thresholds are well within the basket
    assert ids(rank([a, b, c, d], same, TIERS)) == ["t-b", "t-d", "t-c", "t-a"]


def test_basket_fit_is_one_up_to_the_average_and_zero_from_twice_it():
    assert basket_fit(0, None) == 1 and basket_fit(5000, None) == Fraction(1, 2)
    assert basket_fit(9000, 9000) == 1 and basket_fit(13500, 9000) == Fraction(1, 2)
    assert basket_fit(18000, 9000) == 0 and basket_fit(50000, 9000) == 0


def test_excluded_categories_lower_a_storewide_coupons_affinity():
    store = tpl("no-coffee", scope={"exclude_categories": ["coffee"]})
    got = rank([store], MemberFacts({"coffee": Fraction(1, 2)}), TIERS)[0]
    assert got.score == 10 * GENERAL / 2 + 3


def test_tier_names_split_by_script():
    assert tier_label("gold", "金卡 Gold", 0) == "金卡"
    assert tier_label("gold", "金卡 Gold", 1) == "Gold"
    assert tier_label("vip", "VIP", 0) == "VIP"
    assert tier_label("vip", None, 1) == "vip"


# --- reading LOYALTY --------------------------------------------------------------------------

def test_facts_are_read_from_the_loyalty_summary():
    loyalty = {"tier": "gold", "orders_count": 50, "lifetime_spend": 999999, "facts": {
        "v": 1, "at": "2026-11-09", "cat": {"coffee": 3000, "tea": 1000, "~": 1000},
        "weeks": {"2026-11-09": [2, 10000], "2026-06-01": [1, 8000],
                  "2025-11-03": [5, 99999]}}}  # a week before the last 365 days
    f = facts_of(loyalty, date(2026, 11, 12))
    assert f.tier == "gold"
    assert f.affinity == {"coffee": Fraction(3, 5), "tea": Fraction(1, 5), "~": Fraction(1, 5)}
    assert f.avg_basket == 6000


def test_without_behaviour_facts_the_lifetime_average_is_used():
    f = facts_of({"orders_count": 3, "lifetime_spend": 10000}, date(2026, 1, 1))
    assert f == MemberFacts(avg_basket=3333)
    assert facts_of(None, date(2026, 1, 1)) == MemberFacts()
    assert facts_of({"facts": {"v": 99, "cat": {"x": 1}}}, date(2026, 1, 1)).affinity == {}


# --- properties -------------------------------------------------------------------------------

CATEGORIES = ["coffee", "tea", "bakery", "snacks", "dairy"]
shares = st.dictionaries(st.sampled_from(CATEGORIES), st.integers(1, 100)).map(
    lambda d: {k: Fraction(v, max(100, sum(d.values()))) for k, v in d.items()})
facts_st = st.builds(MemberFacts, shares, st.none() | st.integers(1, 100_000),
                     st.sampled_from([None, *TIERS.order]))


@st.composite
def rules_st(draw: Any) -> Rules:
    tid = draw(st.from_regex(r"[a-z]{2,6}", fullmatch=True))
    kind = draw(st.sampled_from(["fixed", "threshold", "no_threshold", "percent"]))
    benefit: dict[str, Any] = {"type": kind}
    if kind == "percent":
        benefit.update(percent_off=draw(st.integers(1, 50)), max_discount=1000)
    else:
        benefit["amount"] = draw(st.integers(1, 5000))
    if kind == "threshold":
        benefit["threshold"] = draw(st.integers(benefit["amount"], 50_000))
    scope: dict[str, Any] = {}
    if draw(st.booleans()):
        scope["include_categories"] = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1,
                                                    max_size=2, unique=True))
    audience: dict[str, Any] = {}
    if draw(st.booleans()):
        audience["min_tier"] = draw(st.sampled_from(TIERS.order))
    return compile_template(tpl(tid, benefit, scope=scope, audience=audience))


@settings(max_examples=150, deadline=None)
@given(st.lists(rules_st(), max_size=8, unique_by=lambda r: r.template_id), facts_st,
       st.randoms(use_true_random=False), st.sampled_from(["zh-CN", "en", None]))
def test_ranking_is_a_deterministic_permutation_whatever_the_input_order(templates, facts,
                                                                         rnd, locale):
    got = rank(templates, facts, TIERS, locale)
    shuffled = list(templates)
    rnd.shuffle(shuffled)
    assert rank(shuffled, facts, TIERS, locale) == got
    assert sorted(ids(got)) == sorted(r.template_id for r in templates)
    assert [r.rank for r in got] == list(range(1, len(templates) + 1))
    assert all(0 <= r.score <= 15 and r.reason for r in got)
    eligible = [r.eligible for r in got]
    assert eligible == sorted(eligible, reverse=True)  # every eligible one first
    scores = [r.score for r in got if r.eligible]
    assert scores == sorted(scores, reverse=True)


@settings(max_examples=150, deadline=None)
@given(st.lists(rules_st(), min_size=1, max_size=8, unique_by=lambda r: r.template_id),
       facts_st, st.sampled_from(CATEGORIES), st.integers(1, 50))
def test_buying_more_of_a_category_never_moves_its_coupons_down(templates, facts, category,
                                                                 more):
    richer = dict(facts.affinity)
    richer[category] = richer.get(category, Fraction(0)) + Fraction(more, 100)
    before = rank(templates, facts, TIERS)
    after = rank(templates, MemberFacts(richer, facts.avg_basket, facts.tier), TIERS)
    for r in templates:
        if category in r.include_categories:
            assert ids(after).index(r.template_id) <= ids(before).index(r.template_id)

"""Member facts from behaviour (domain/members/facts.py): rolling weekly windows, refunds that
take back exactly what their order added, exact time-decayed shares, favourites, age bands;
and the audience attributes built on them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.campaigns.audience import check_audience, compile_audience
from chalicelib.domain.campaigns.profile import audience_profile
from chalicelib.domain.members import facts as F

TZ = "Asia/Shanghai"
NOW = datetime(2026, 11, 11, 4, tzinfo=UTC)  # Wednesday 12:00 in Shanghai
TODAY = date(2026, 11, 11)


def order(days_ago: int = 0, spend: int = 10000, cats: dict[str | None, int] | None = None,
          store: str | None = "s-1", channel: str | None = "app") -> F.OrderFact:
    return F.OrderFact(NOW - timedelta(days=days_ago), spend,
                       cats if cats is not None else {"coffee": spend}, store, channel)


def refund_of(o: F.OrderFact, value: int | None = None, completes: bool = True,
              cats: dict[str | None, int] | None = None) -> F.RefundFact:
    return F.RefundFact(o.placed_at, o.spend if value is None else value,
                        dict(o.categories) if cats is None else cats, o.store, o.channel,
                        completes)


def play(*orders: F.OrderFact, now: datetime = NOW) -> F.Facts:
    f: F.Facts | None = None
    for o in orders:
        f = F.record_order(f, o, now, TZ)
    assert f is not None
    return f


def test_an_order_counts_in_every_window_and_sets_the_favourites() -> None:
    got = F.summarize(play(order(2, 12000, store="s-9", channel="mini")), TODAY)
    assert got is not None
    assert got.orders == {30: 1, 90: 1, 365: 1} and got.spend == {30: 12000, 90: 12000,
                                                                  365: 12000}
    assert got.avg_basket == 12000
    assert (got.favourite_store, got.favourite_channel, got.top_category) == (
        "s-9", "mini", "coffee")
    assert got.affinity == {"coffee": Fraction(1)} and got.since == "2026-11-11"


def test_windows_count_whole_local_weeks_touching_the_last_n_days() -> None:
    f = play(order(29), order(40), order(100), order(400))
    got = F.summarize(f, TODAY)
    assert got is not None
    # 29 days ago is inside; 40 days ago is not in 30 days (its week ended 34 days ago)
    assert got.orders[30] == 1 and got.orders[90] == 2 and got.orders[365] == 3
    assert all(date.fromisoformat(w) >= F.monday(TODAY) - timedelta(weeks=52)
               for w in f["weeks"])  # the 400-day-old order is in no bucket


@settings(max_examples=150, deadline=None)
@given(days=st.integers(0, 400), window=st.sampled_from(F.WINDOWS))
def test_a_window_never_misses_an_order_of_its_days_and_reaches_back_at_most_six_more(
        days: int, window: int) -> None:
    got = F.summarize(play(order(days)), TODAY)
    assert got is not None
    if days <= window - 1:
        assert got.orders[window] == 1
    elif days >= window + 6:
        assert got.orders[window] == 0


@settings(max_examples=120, deadline=None)
@given(history=st.lists(st.tuples(st.integers(0, 500), st.integers(0, 10**7),
                                  st.sampled_from(["coffee", "tea", None]),
                                  st.sampled_from(["s-1", "s-2", None])), min_size=1,
                        max_size=12),
       refunded=st.integers(0, 11))
def test_a_complete_refund_takes_back_its_order_and_nothing_else(
        history: list[tuple[int, int, str | None, str | None]], refunded: int) -> None:
    orders = [order(d, s, {c: s}, store) for d, s, c, store in history]
    target = orders[refunded % len(orders)]
    without = [o for i, o in enumerate(orders) if i != refunded % len(orders)]
    after = F.record_refund(play(*orders), refund_of(target), NOW, TZ)
    base = play(*without) if without else None
    got, want = F.summarize(after, TODAY), F.summarize(base, TODAY)
    assert got is not None
    if want is None:  # the only order: nothing is left
        assert got.orders == {30: 0, 90: 0, 365: 0} and got.spend == {30: 0, 90: 0, 365: 0}
        assert got.favourite_store is None
        return
    assert (got.orders, got.spend) == (want.orders, want.spend)
    # decayed scores are rounded once per write: equal up to one minor unit per order
    for k in ("cat", "store"):
        assert set(after[k]) <= set(base[k]) | {target.store, *target.categories}
        for name, v in base[k].items():
            assert abs(after[k].get(name, 0) - v) <= len(orders) + 1


def test_a_partial_refund_lowers_spend_but_the_order_still_counts() -> None:
    o = order(3, 10000, {"coffee": 6000, "tea": 4000})
    f = F.record_refund(play(o), refund_of(o, 4000, completes=False, cats={"tea": 4000}),
                        NOW, TZ)
    got = F.summarize(f, TODAY)
    assert got is not None
    assert got.orders[30] == 1 and got.spend[30] == 6000
    assert got.affinity == {"coffee": Fraction(1)} and got.favourite_store == "s-1"


def test_no_facts_stay_no_facts_when_a_refund_comes() -> None:
    o = order()
    assert F.record_refund(None, refund_of(o), NOW, TZ) is None


@settings(max_examples=100, deadline=None)
@given(spends=st.lists(st.tuples(st.integers(0, 300), st.integers(1, 10**6),
                                 st.sampled_from(["coffee", "tea", "snacks", None])),
                       min_size=1, max_size=10))
def test_shares_are_exact_and_add_up_to_one(spends: list[tuple[int, int, str | None]]) -> None:
    got = F.summarize(play(*[order(d, s, {c: s}) for d, s, c in spends]), TODAY)
    assert got is not None
    total = sum(got.affinity.values(), Fraction(0))
    assert total == 1 or (total == 0 and not got.affinity)
    assert all(isinstance(v, Fraction) and 0 <= v <= 1 for v in got.affinity.values())


def test_recent_spend_weighs_more_than_old_spend_of_the_same_amount() -> None:
    got = F.summarize(play(order(140, 10000, {"tea": 10000}), order(0, 10000)), TODAY)
    assert got is not None
    # 20 weeks of 5 % decay: tea weighs 0.95 ** 20 (about 0.358) of coffee
    assert got.affinity["coffee"] > got.affinity["tea"]
    want = Fraction(1) / (1 + Fraction(19, 20) ** 20)
    assert abs(got.affinity["coffee"] - want) < Fraction(1, 10**4)
    assert got.top_category == "coffee"


def test_shares_do_not_depend_on_the_week_the_scores_are_stated_at() -> None:
    f = play(order(20, 7000, {"tea": 7000}), order(5, 3000))
    later = F.record_order(f, order(-30 * 7, 0, {}, None, None), NOW + timedelta(weeks=30), TZ)
    a, b = F.summarize(f, TODAY), F.summarize(later, TODAY)
    assert a is not None and b is not None
    for c in a.affinity:
        assert abs(a.affinity[c] - b.affinity[c]) < Fraction(1, 1000)


def test_ties_go_to_the_smaller_id_and_uncategorised_spend_counts_but_never_wins() -> None:
    got = F.summarize(play(order(1, 500, {None: 9000, "tea": 500}, store="s-2"),
                           order(1, 500, {"coffee": 500}, store="s-1")), TODAY)
    assert got is not None
    assert got.favourite_store == "s-1" and got.top_category == "coffee"
    assert got.affinity[F.UNCATEGORIZED] == Fraction(9000, 10000)


def test_every_map_keeps_at_most_the_top_keys() -> None:
    f = play(*[order(1, 100 + i, {f"c{i}": 100 + i}, store=f"s{i}") for i in range(30)])
    assert len(f["cat"]) == F.MAX_KEYS and len(f["store"]) == F.MAX_KEYS
    assert "c29" in f["cat"] and "c0" not in f["cat"]


def test_windows_before_facts_started_are_unknown_for_members_who_ordered_before() -> None:
    f = F.record_order(None, order(0), NOW, TZ, prior_orders=4)
    got = F.summarize(f, TODAY)
    assert got is not None and got.orders == {} and got.avg_basket == 10000
    got = F.summarize(f, TODAY + timedelta(days=40))
    assert got is not None and got.orders == {30: 0}
    fresh = F.summarize(F.record_order(None, order(0), NOW, TZ), TODAY)
    assert fresh is not None and fresh.orders == {30: 1, 90: 1, 365: 1}


@pytest.mark.parametrize(("birthday", "band"), [
    ("2010-11-12", "0-17"), ("2008-11-11", "18-24"), ("2001-11-12", "18-24"),
    ("2001-11-11", "25-34"), ("1990-01-01", "35-44"), ("1961-11-11", "65+"),
    ("--05-01", None), (None, None)])
def test_age_bands_follow_whole_years_on_the_day(birthday: str | None, band: str | None
                                                  ) -> None:
    assert F.age_band(birthday, TODAY) == band


def test_city_levels_name_the_tiers_both_ways() -> None:
    assert F.city_level(2) == "新一线" and F.city_tier_number("新一线") == 2
    assert F.city_level(7) is None and F.city_tier_number("六线") is None


# --- audiences -------------------------------------------------------------------------------

def test_audiences_read_the_facts_on_the_loyalty_item() -> None:
    loyalty = {"orders_count": 3, "first_order_at": "2026-10-01T02:00:00.000Z",
               "facts": play(order(2, 20000, {"coffee": 15000, "tea": 5000}),
                             order(10, 10000, {"coffee": 10000}), order(60, 30000,
                                                                         {"snacks": 30000}))}
    p = audience_profile({"member_id": "m-1", "birthday": "1995-06-01", "city": "成都"},
                         loyalty, today=TODAY)
    assert (p["orders_30d"], p["orders_90d"], p["spend_30d"], p["spend_365d"]) == (
        2, 3, 30000, 60000)
    assert p["avg_basket_365d"] == 20000 and p["first_order_days_ago"] == 41
    assert p["top_category"] == "coffee" and p["favourite_store"] == "s-1"
    assert p["age_band"] == "25-34" and p["city_tier"] == 2 and p["city_level"] == "新一线"
    assert 30 <= p["affinity.coffee"] <= 50 and "affinity.shoes" not in p
    match = compile_audience({"all": [
        {"attr": "affinity.coffee", "op": "gte", "value": 30},
        {"attr": "orders_30d", "op": "gte", "value": 2},
        {"attr": "city_level", "op": "in", "value": ["一线", "新一线"]},
        {"attr": "age_band", "op": "eq", "value": "25-34"}]})
    assert match(p)
    assert not compile_audience({"attr": "affinity.shoes", "op": "gte", "value": 0})(p)


def test_a_member_who_never_ordered_has_zero_orders_and_one_with_older_orders_unknown() -> None:
    never = audience_profile({"member_id": "m-1"}, {"tier": "base"}, today=TODAY)
    assert never["orders_30d"] == 0 and never["spend_365d"] == 0
    assert never.get("avg_basket_365d") is None
    legacy = audience_profile({"member_id": "m-2"}, {"orders_count": 5}, today=TODAY)
    assert legacy.get("orders_30d") is None
    assert not compile_audience({"attr": "orders_30d", "op": "eq", "value": 0})(legacy)


@pytest.mark.parametrize(("attr", "hint"), [
    ("afinity.coffee", "did you mean 'affinity.coffee'?"),
    ("order_30d", "did you mean 'orders_30d'?"),
    ("attribute.vip_level", "did you mean 'attributes.vip_level'?"),
    ("favorite_store", "did you mean 'favourite_store'?"),
])
def test_unknown_attribute_names_get_a_did_you_mean(attr: str, hint: str) -> None:
    [err] = check_audience({"attr": attr, "op": "exists"})
    assert err["path"] == "/audience/attr" and err["hint"].startswith(hint)


def test_fact_values_are_typed_like_their_attributes() -> None:
    assert check_audience({"attr": "affinity.咖啡", "op": "between", "value": [20, 100]}) == []
    [err] = check_audience({"attr": "affinity.coffee", "op": "gte", "value": 120})
    assert err["path"] == "/audience/value"
    [err] = check_audience({"attr": "age_band", "op": "eq", "value": "30-39"})
    assert "25-34" in err["message"]


def test_facts_are_worked_out_only_when_an_audience_reads_one() -> None:
    loyalty = {"orders_count": 1, "facts": play(order(1, 5000))}
    p = audience_profile({"member_id": "m-1", "city": "上海"}, loyalty, today=TODAY)
    assert not dict.__contains__(p, "orders_30d")  # not yet
    assert compile_audience({"attr": "city", "op": "eq", "value": "上海"})(p)
    assert not dict.__contains__(p, "orders_30d")  # an audience without facts: never
    assert compile_audience({"attr": "spend_30d", "op": "eq", "value": 5000})(p)
    assert dict.__contains__(p, "orders_30d") and p["orders_30d"] == 1
    assert "affinity.coffee" in p and p.get("attributes.none") is None
    with pytest.raises(KeyError):
        p["no_such_attribute"]

"""Earning arithmetic: discount allocation, floors, caps, multipliers, refund shares."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.loyalty.earning import Line, allocate, cumulative_share, earn
from chalicelib.domain.loyalty.program import parse_program
from tests.loyalty_support import program

P = parse_program(program())


def test_allocation_uses_largest_remainder_and_sums_exactly():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [3, 0, 7]) == [3, 0, 7]
    assert allocate(0, [5, 5]) == [0, 0]
    assert allocate(5, [0, 0]) == [0, 0]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**6), min_size=1, max_size=12))
def test_allocation_always_sums_to_total_and_never_goes_negative(total, weights):
    out = allocate(total, weights)
    if sum(weights) == 0 or total == 0:
        assert out == [0] * len(weights)
    else:
        assert sum(out) == total and min(out) >= 0
        assert all(o == 0 for o, w in zip(out, weights, strict=True) if w == 0)


def test_points_are_one_per_yuan_of_qualifying_spend_floored_once_per_order():
    # 2 x ¥19.99 + ¥5.01 = ¥44.99, minus ¥5.00 discount = ¥39.99 → 39 points (floor), shipping
    # never qualifies.
    e = earn(P, [Line("a", None, 2, 1999), Line("b", None, 1, 501)], 500, 1.0)
    assert e.qualifying == 3999 and e.points == 39
    assert [ln.discount for ln in e.lines] == [444, 56]
    assert sum(ln.points for ln in e.lines) == 39


def test_exact_line_points_are_summed_before_flooring():
    # Each line alone is worth 0.5 points; floored per line that would be 0, together 1.
    e = earn(P, [Line("a", None, 1, 50), Line("b", None, 1, 50)], 0, 1.0)
    assert e.points == 1


def test_tier_and_category_multipliers_apply():
    e = earn(P, [Line("lip", "beauty", 1, 10000), Line("tee", "apparel", 1, 10000)], 0, 1.5)
    assert e.points == 300 + 150
    assert [ln.points for ln in e.lines] == [300, 150]


def test_per_order_cap_limits_points_and_lines_still_sum_to_the_total():
    capped = parse_program(program(earning={"points_per_unit": 1, "max_points_per_order": 70}))
    e = earn(capped, [Line("a", None, 1, 10000), Line("b", None, 1, 5000)], 0, 1.0)
    assert e.uncapped_points == 150 and e.points == 70 and e.capped
    assert sum(ln.points for ln in e.lines) == 70


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 50000)), min_size=1, max_size=8),
       st.integers(0, 100), st.sampled_from([1.0, 1.25, 1.5, 2.0]))
def test_line_points_sum_to_the_order_total_and_discounts_to_the_discount(lines, pct, mult):
    ls = [Line(f"s{i}", None, q, p) for i, (q, p) in enumerate(lines)]
    gross = sum(ln.gross for ln in ls)
    discount = gross * pct // 100
    e = earn(P, ls, discount, mult)
    assert sum(ln.discount for ln in e.lines) == discount
    assert sum(ln.points for ln in e.lines) == e.points
    assert e.qualifying == gross - discount
    assert e.points == int(e.qualifying * mult) // 100 or abs(e.points - e.qualifying * mult
                                                                / 100) < 1


def test_cumulative_share_reverses_everything_on_the_last_part():
    assert [cumulative_share(10, k, 3) for k in range(4)] == [0, 3, 6, 10]

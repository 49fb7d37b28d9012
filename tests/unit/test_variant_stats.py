"""Results per arm (issue 13): Wilson intervals, revenue per member from sums of squares,
the difference to the holdout, and the sample-ratio-mismatch check, against published and
hand-computed values, with property tests of the math."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.delivery import arms as a
from chalicelib.domain.delivery.results import daily_adds

# --- the chi-square tail and the incomplete gamma --------------------------------------------


@pytest.mark.parametrize(("x", "df", "p"), [
    # the 0.05 and 0.001 critical values of the chi-square table (e.g. NIST/SEMATECH
    # e-Handbook 1.3.6.7.4), each printed to 3 decimals
    (3.841, 1, 0.05), (5.991, 2, 0.05), (7.815, 3, 0.05), (11.070, 5, 0.05),
    (10.828, 1, 0.001), (13.816, 2, 0.001), (16.266, 3, 0.001), (20.515, 5, 0.001),
    (29.588, 10, 0.001),
])
def test_chi2_tail_matches_the_table(x, df, p):
    assert a.chi2_sf(x, df) == pytest.approx(p, rel=2e-3)


def test_chi2_tail_closed_forms_and_edges():
    assert a.chi2_sf(0, 3) == 1.0
    assert a.chi2_sf(1e5, 2) == 0.0
    # df = 3: erfc(sqrt(x/2)) + sqrt(2x/pi) e^(-x/2); 0.5 -> 0.918891...
    x = 0.5
    want = math.erfc(math.sqrt(x / 2)) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2)
    assert a.chi2_sf(x, 3) == pytest.approx(want, rel=1e-12)
    assert round(a.chi2_sf(x, 3), 6) == 0.918891
    with pytest.raises(ValueError):
        a.gamma_q(0, 1)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(0.001, 400), k=st.integers(1, 20))
def test_chi2_tail_follows_its_recurrence(x, k):
    """sf(x; 1) = erfc(sqrt(x/2)), sf(x; 2) = e^(-x/2) and
    sf(x; k+2) = sf(x; k) + (x/2)^(k/2) e^(-x/2) / Gamma(k/2 + 1), both branches of gamma_q."""
    base = math.erfc(math.sqrt(x / 2)) if k % 2 else math.exp(-x / 2)
    for j in range(2 - k % 2, k, 2):
        base += math.exp(j / 2 * math.log(x / 2) - x / 2 - math.lgamma(j / 2 + 1))
    got = a.chi2_sf(x, k)
    assert 0.0 <= got <= 1.0
    assert got == pytest.approx(base, rel=1e-9, abs=1e-300)


@settings(max_examples=100, deadline=None)
@given(x=st.floats(0, 200), dx=st.floats(0.01, 50), k=st.integers(1, 10))
def test_chi2_tail_decreases(x, dx, k):
    assert a.chi2_sf(x + dx, k) <= a.chi2_sf(x, k)


# --- sample ratio mismatch -------------------------------------------------------------------

def _arms(counts: dict[str, int], holdout: int | None = None) -> list[a.Arm]:
    out = [a.Arm(k, a.VARIANT, n, n, 0, 0, 0, 0, 0) for k, n in counts.items()]
    if holdout is not None:
        out.append(a.Arm(a.HOLDOUT, a.HOLDOUT, holdout, holdout, 0, 0, 0, 0, 0))
    return out


def test_srm_flags_kohavis_textbook_example():
    # Kohavi, Tang & Xu, Trustworthy Online Controlled Experiments (2020), ch. 21: 821,588
    # vs 815,482 users in a 50/50 split -> p = 1.8e-6, a sample ratio mismatch
    got = a.srm(_arms({"A": 821_588, "B": 815_482}), a.split(0, [("A", 1), ("B", 1)]))
    assert got["status"] == "mismatch" and got["flagged"] is True
    assert got["df"] == 1 and got["chi2"] == pytest.approx(22.7744, abs=1e-4)
    assert got["p_value"] == pytest.approx(1.8218e-6, rel=1e-3)
    assert "1.8e-06" in got["message_en"] and "样本比例不匹配" in got["message_zh"]


def test_srm_hand_computed_three_arms():
    # holdout 20 %, A:B = 3:1 -> shares 0.6, 0.2, 0.2; N = 1000: expected 600, 200, 200.
    # observed 630, 190, 180: chi2 = 900/600 + 100/200 + 400/200 = 4.0, df 2, p = e^-2
    shares = a.split(20, [("A", 3), ("B", 1)])
    assert shares == {("variant", "A"): pytest.approx(0.6), ("variant", "B"): pytest.approx(0.2),
                      ("holdout", "holdout"): pytest.approx(0.2)}
    got = a.srm(_arms({"A": 630, "B": 190}, holdout=180), shares)
    assert got["chi2"] == pytest.approx(4.0) and got["df"] == 2
    assert got["p_value"] == pytest.approx(math.exp(-2), rel=1e-3)
    assert got["status"] == "ok" and not got["flagged"]
    assert [r["expected"] for r in got["arms"]] == [600, 200, 200]


@pytest.mark.parametrize(("arms", "shares", "status"), [
    (_arms({"A": 3, "B": 4}), a.split(0, [("A", 1), ("B", 1)]), "insufficient"),
    (_arms({}, holdout=0), a.split(0, []), "not_applicable"),
    (_arms({"A": 500, "C": 500}), a.split(0, [("A", 1), ("B", 1)]), "split_changed"),
    ([a.Arm("A", a.VARIANT, 500, 0, 0, 0, 0, 0, 0), a.Arm("B", a.VARIANT, 500, 0, 0, 0, 0, 0, 0)],
     a.split(0, [("A", 1), ("B", 1)]), "legacy"),
])
def test_srm_is_not_tested_when_it_cannot_be(arms, shares, status):
    got = a.srm(arms, shares)
    assert got["status"] == status and got["flagged"] is False and got["p_value"] is None
    assert got["message_zh"] and got["message_en"]


@settings(max_examples=100, deadline=None)
@given(weights=st.lists(st.integers(1, 1000), min_size=1, max_size=10),
       holdout=st.sampled_from([0, 5, 10, 25, 50]), n=st.integers(10_000, 10_000_000))
def test_srm_counts_in_the_configured_proportions_pass(weights, holdout, n):
    named = [(f"v{i}", w) for i, w in enumerate(weights)]
    shares = a.split(holdout, named)
    assert sum(shares.values()) == pytest.approx(1.0)
    counts = {k: round(n * p) for (kind, k), p in shares.items() if kind == a.VARIANT}
    held = round(n * shares[(a.HOLDOUT, a.HOLDOUT)]) if holdout else None
    got = a.srm(_arms(counts, held), shares)
    assert not got["flagged"] and got["status"] in ("ok", "insufficient", "not_applicable")


# --- revenue per member ----------------------------------------------------------------------

def test_revenue_interval_hand_computed():
    # members' revenue 0, 0, 100, 300 fen: n 4, S 400, Q 100000 -> mean 100,
    # s^2 = (100000 - 400^2/4) / 3 = 20000, se = sqrt(20000/4) = 70.7107,
    # 100 -/+ 1.959964 x 70.7107 = -38.59 .. 238.59
    mean, var, lo, hi = a.mean_interval(4, 400, 100_000)
    assert (mean, var) == (100, 20_000)
    assert (round(lo, 2), round(hi, 2)) == (-38.59, 238.59)
    arm = a.Arm("A", a.VARIANT, 4, 4, 2, 2, 400, 100_000, 2)
    assert a.revenue_per_member(arm) == {"mean": 100, "ci_low": 0, "ci_high": 239,
                                         "status": "ok"}


def test_revenue_difference_is_welch():
    # arm: n 100, S 50000, Q 100000000 -> mean 500, s^2 = (1e8 - 2.5e7)/99 = 757575.76
    # holdout: n 100, S 20000, Q 40000000 -> mean 200, s^2 = (4e7 - 4e6)/99 = 363636.36
    # diff 300, se = sqrt(7575.7576 + 3636.3636) = 105.8873, 95 %: 92.47 .. 507.53
    arm = a.Arm("A", a.VARIANT, 100, 100, 10, 10, 50_000, 100_000_000, 10)
    held = a.Arm(a.HOLDOUT, a.HOLDOUT, 100, 100, 4, 4, 20_000, 40_000_000, 4)
    got = a.revenue_versus(arm, held)
    assert (got["diff"], got["ci_low"], got["ci_high"]) == (300, 92, 508)
    assert got["verdict"] == "significant_lift" and got["verdict_zh"] == "显著提升"
    small = a.Arm("A", a.VARIANT, 10, 10, 1, 1, 5000, 25_000_000, 1)
    assert a.revenue_versus(small, held)["verdict"] == "insufficient"


def test_orders_without_squares_withhold_the_interval():
    legacy = a.Arm("A", a.VARIANT, 100, 100, 10, 12, 50_000, 90_000_000, 10)
    got = a.revenue_per_member(legacy)
    assert got["mean"] == 500 and got["ci_low"] is None and got["status"] == "unavailable"
    held = a.Arm(a.HOLDOUT, a.HOLDOUT, 100, 100, 4, 4, 20_000, 40_000_000, 4)
    assert a.revenue_versus(legacy, held)["verdict"] == "unavailable"


@settings(max_examples=200, deadline=None)
@given(members=st.lists(st.lists(st.integers(0, 5_000_000), max_size=5), min_size=2,
                        max_size=60))
def test_squares_from_order_deltas_are_exact(members):
    """Crediting orders one by one with order_adds gives the exact sum of squares of each
    assignment's revenue, and the interval equals the one from the per-member values."""
    totals: dict[str, int] = {}
    for orders in members:
        prior = 0
        for t in orders:
            for k, v in a.order_adds("treated", prior, t).items():
                totals[k] = totals.get(k, 0) + v
            prior += t
    values = [sum(o) for o in members]
    n = len(values)
    assert totals.get("revenue_sq_treated", 0) == sum(v * v for v in values)
    assert totals.get("orders_sq_treated", 0) == totals.get("orders_treated", 0)
    mean, var, lo, hi = a.mean_interval(n, sum(values), totals.get("revenue_sq_treated", 0))
    assert mean == pytest.approx(statistics.fmean(values))
    assert var == pytest.approx(statistics.variance(values), rel=1e-9, abs=1e-6)
    assert lo <= mean <= hi


@settings(max_examples=200, deadline=None)
@given(x=st.integers(0, 5000), extra=st.integers(0, 5000))
def test_wilson_interval_of_an_arm_holds_its_rate(x, extra):
    n = x + extra
    arm = a.Arm("A", a.VARIANT, n, n, x, x, 0, 0, x)
    conv = a.arm_row(arm, None, {}, n)["conversion"]
    if n == 0:
        assert conv == {"rate": None, "ci_low": None, "ci_high": None}
    else:
        assert 0 <= conv["ci_low"] <= conv["rate"] <= conv["ci_high"] <= 1


# --- the results section ---------------------------------------------------------------------

def _day(day: str, shard: int, **counters: int) -> dict[str, object]:
    return {"PK": "CAMPAIGN#c", "SK": f"DAY#{day}#{shard:02d}", **counters}


def test_summary_per_arm_with_intervals_and_srm():
    rows = [
        _day("2025-03-02", 0, **daily_adds({"assigned": 400, "targeted": 400}, "A")),
        _day("2025-03-02", 1, **daily_adds({"assigned": 400, "targeted": 400}, "B")),
        _day("2025-03-02", 2, held_out=200, targeted=200),
        _day("2025-03-03", 0, **daily_adds(
            {"converters_treated": 40, **a.order_adds("treated", 0, 2000)}, "A")),
        _day("2025-03-03", 1, **daily_adds(
            {"converters_treated": 20, **a.order_adds("treated", 0, 1000)}, "B")),
        _day("2025-03-03", 2, converters_holdout=10, **a.order_adds("holdout", 0, 500)),
        _day("2025-04-01", 0, **daily_adds({"assigned": 999}, "A")),  # outside the range
    ]
    got = a.summary(rows, "2025-03-01", "2025-03-05", 20, [("A", 1), ("B", 1)])
    by = {r["arm"]: r for r in got["arms"]}
    assert [r["kind"] for r in got["arms"]] == ["variant", "variant", "holdout"]
    assert by["A"]["members"] == 400 and by["A"]["converters"] == 40
    assert by["A"]["expected_share"] == 0.4 and by["A"]["share"] == 0.4
    assert by["A"]["conversion"]["rate"] == 0.1
    lo, hi = by["A"]["conversion"]["ci_low"], by["A"]["conversion"]["ci_high"]
    # Wilson 40/400 by hand: centre (0.1 + z²/800)/(1 + z²/400) = 0.10381, half-width
    # z·sqrt(0.09/400 + z²/640000)/(1 + z²/400) = 0.02951 -> 0.0743 .. 0.1333
    assert (round(lo, 4), round(hi, 4)) == (0.0743, 0.1333)
    assert by["A"]["vs_holdout"]["conversion"]["verdict"] == "significant_lift"
    assert by["A"]["revenue_per_member"]["mean"] == 5  # 2000 fen over 400 members
    assert by["A"]["vs_holdout"]["revenue_per_member"]["diff"] == 2
    assert by["holdout"]["vs_holdout"] is None and by["holdout"]["members"] == 200
    assert got["srm"]["status"] == "ok" and got["srm"]["p_value"] == 1.0

    broken = [*rows, _day("2025-03-04", 3, **daily_adds({"assigned": 150}, "A"))]
    flagged = a.summary(broken, "2025-03-01", "2025-03-05", 20, [("A", 1), ("B", 1)])["srm"]
    assert flagged["flagged"] and flagged["status"] == "mismatch" and flagged["p_value"] < 1e-3


def test_summary_without_variants_is_the_treated_group_and_the_holdout():
    rows = [_day("2025-03-02", 0, assigned=90, held_out=10)]
    got = a.summary(rows, "2025-03-02", "2025-03-02", 10, [])
    assert [(r["arm"], r["kind"]) for r in got["arms"]] == [("treated", "treated"),
                                                            ("holdout", "holdout")]
    assert got["srm"]["status"] == "ok" and got["srm"]["df"] == 1
    none = a.summary(rows[:0], "2025-03-02", "2025-03-02", 0, [])
    assert [r["arm"] for r in none["arms"]] == ["treated"]
    assert none["srm"]["status"] == "not_applicable"


@pytest.mark.parametrize(("first", "last", "expected"), [
    (None, None, ("2025-02-01", "2025-03-10")),              # the campaign so far
    ("2025-03-01", None, ("2025-03-01", "2025-03-10")),
    (None, "2025-02-10", ("2025-02-01", "2025-02-10")),
    (None, "2025-01-15", ("2025-01-15", "2025-01-15")),      # before the first day
    ("2025-3-1", None, "dates must be yyyy-mm-dd"),
    (None, "2025-13-01", "dates must be yyyy-mm-dd"),
])
def test_the_per_arm_span_defaults_to_the_campaign_so_far(first, last, expected):
    assert a.span("2025-02-01", "2025-03-10", first, last) == expected


def test_the_per_arm_span_of_an_old_campaign_is_at_most_366_days():
    assert a.span("2020-01-01", "2025-03-10", None, None) == ("2024-03-10", "2025-03-10")

"""Tiers on the rolling window: buckets, upgrade on the qualifying order, review policies."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.loyalty import dates, tiers
from chalicelib.domain.loyalty.program import parse_program
from tests.loyalty_support import program

P = parse_program(program())
TZ = "Asia/Shanghai"
NOW = datetime(2026, 3, 15, 12, tzinfo=UTC)


def test_window_is_the_current_month_and_the_eleven_before_in_program_time():
    keys = dates.window_keys(NOW, TZ)
    assert keys[0] == "2025-04" and keys[-1] == "2026-03" and len(keys) == 12
    # 16:30 UTC on 31 Mar is already 1 Apr in Shanghai.
    assert dates.month_key(datetime(2026, 3, 31, 16, 30, tzinfo=UTC), TZ) == "2026-04"


def test_late_orders_land_in_their_own_month_and_old_months_drop_out():
    w = tiers.add({}, "2026-01", 5000, 1, NOW, TZ)
    w = tiers.add(w, "2025-02", 9999, 1, NOW, TZ)  # outside the window: not stored
    assert w == {"2026-01": {"spend": 5000, "orders": 1}}
    later = datetime(2027, 1, 10, tzinfo=UTC)
    assert tiers.totals(w, later, TZ) == (0, 0)
    assert tiers.add(w, "2027-01", 1, 1, later, TZ) == {"2027-01": {"spend": 1, "orders": 1}}


def test_refunds_lower_a_bucket_but_never_below_zero():
    w = tiers.add({}, "2026-03", 1000, 1, NOW, TZ)
    assert tiers.add(w, "2026-03", -5000, -1, NOW, TZ)["2026-03"] == {"spend": 0, "orders": 0}


def test_any_and_all_thresholds():
    assert tiers.qualified(P, 100000, 0) == 1  # silver: spend OR orders
    assert tiers.qualified(P, 0, 5) == 1
    assert tiers.qualified(P, 500000, 9) == 1  # gold needs spend AND orders
    assert tiers.qualified(P, 500000, 10) == 2


def test_upgrade_happens_on_the_qualifying_order_with_a_review_twelve_months_later():
    change = tiers.after_order(P, "member", 100000, 1, NOW)
    assert change is not None and change.after == "silver" and change.kind == "upgrade"
    assert change.review_at == "2027-03-15"
    assert tiers.after_order(P, "silver", 100000, 1, NOW) is None


def test_review_keeps_a_tier_that_still_qualifies_and_counts_it_from_before():
    r = tiers.review(P, "gold", 600000, 12, NOW)
    assert r.kind == "retain" and r.after == "gold" and r.since is None
    assert r.review_at == "2027-03-15"


def test_one_down_drops_a_single_level_even_when_nothing_qualifies():
    r = tiers.review(P, "gold", 0, 0, NOW)
    assert (r.after, r.kind) == ("silver", "downgrade") and r.review_at == "2027-03-15"
    base = tiers.review(P, "silver", 0, 0, NOW)
    assert base.after == "member" and base.review_at is None


def test_to_qualified_drops_to_what_the_window_supports():
    p = parse_program(program(review={"months": 12, "policy": "to_qualified"}))
    assert tiers.review(p, "gold", 0, 0, NOW).after == "member"
    assert tiers.review(p, "gold", 100000, 0, NOW).after == "silver"


def test_progress_reports_what_the_next_tier_needs():
    pr = tiers.progress(P, 1, 200000, 3)
    assert (pr.next_tier, pr.spend_to_next, pr.orders_to_next) == ("gold", 300000, 7)
    assert tiers.progress(P, 2, 0, 0).next_tier is None


def test_review_date_clamps_to_month_end():
    leap = datetime(2028, 2, 29, 4, tzinfo=UTC)
    assert tiers.review_date(leap, P) == "2029-02-28"


def test_lots_expire_at_local_midnight_after_the_nth_month():
    at, day = dates.expiry(datetime(2026, 3, 15, tzinfo=UTC), TZ, 12)
    assert day.isoformat() == "2027-04-01"
    assert dates.iso(at) == "2027-03-31T16:00:00.000Z"

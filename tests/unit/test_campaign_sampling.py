"""The sample estimate and its 95 % margin (domain/campaigns/sampling.py)."""

from __future__ import annotations

import random

from chalicelib.domain.campaigns.sampling import estimate, largest_timezones


def test_a_full_read_is_exact() -> None:
    assert estimate(7, 20, 1.0) == {"size": 7, "exact": True, "profiles_read": 20}


def test_estimate_scales_by_the_sampled_share_and_has_a_margin() -> None:
    e = estimate(100, 1000, 0.1)
    assert (e["size"], e["population"], e["exact"]) == (1000, 10_000, False)
    assert e["margin"] == 186  # 1.96 * sqrt(100 * 0.9) / 0.1 = 185.94, rounded up
    assert e["low"] <= 1000 <= e["high"]


def test_no_match_still_has_a_margin() -> None:
    e = estimate(0, 500, 0.05)
    assert e["size"] == 0 and e["margin"] == 57  # 3 * 0.95 / 0.05


def test_the_margin_covers_the_truth_about_95_percent_of_the_time() -> None:
    rnd = random.Random(11)
    audience, rate, inside, runs = 3000, 0.02, 0, 400
    for _ in range(runs):
        matched = sum(rnd.random() < rate for _ in range(audience))
        e = estimate(matched, matched * 4, rate)
        inside += abs(e["size"] - audience) <= e["margin"]
    assert 0.92 <= inside / runs <= 0.99


def test_largest_timezones_by_share() -> None:
    zones = ["Asia/Shanghai"] * 6 + ["Asia/Tokyo"] * 3 + [None, "UTC"]
    assert largest_timezones(zones, 2) == [{"timezone": "Asia/Shanghai", "share": 0.6},
                                           {"timezone": "Asia/Tokyo", "share": 0.3}]

"""Campaign results math: Wilson and Newcombe intervals against published values, verdicts,
the campaign-timezone day, daily assembly and the CSV (no member data)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.delivery import results as r


def test_wilson_matches_newcombe_1998_table_i():
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I: 81/263 -> 0.2553, 0.3662
    lo, hi = r.wilson(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    # 0/10 -> 0, 0.2775 (the score interval never goes below 0)
    lo, hi = r.wilson(0, 10)
    assert lo == 0 and round(hi, 4) == 0.2775


def test_newcombe_hybrid_score_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873-890, example (a): 56/70 vs 48/80,
    # method 10 -> +0.0524 to +0.3339
    d, lo, hi = r.newcombe(56, 70, 48, 80)
    assert round(d, 4) == 0.2
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)
    # example (d): 10/10 vs 0/10 (method 10: +0.6075 to +1.0000)
    d, lo, hi = r.newcombe(10, 10, 0, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.6075, 1.0)


@pytest.mark.parametrize(("args", "code", "zh"), [
    ((56, 70, 48, 80), "significant_lift", "显著提升"),
    ((48, 80, 56, 70), "significant_drop", "显著下降"),
    ((50, 100, 48, 100), "no_difference", "无显著差异"),
    ((5, 10, 1, 10), "insufficient", "样本不足"),
    ((0, 500, 0, 500), "insufficient", "样本不足"),
    ((5, 100, 0, 0), "no_holdout", "无对照组"),
])
def test_verdicts_in_plain_language(args, code, zh):
    out = r.compare(*args)
    assert out["verdict"] == code and out["verdict_zh"] == zh and out["verdict_en"]


def test_lift_is_in_rate_points_with_its_interval():
    out = r.compare(56, 70, 48, 80)
    assert out["conversion_rate"] == 0.8 and out["lift"] == 0.2
    assert out["ci_low"] < out["lift"] < out["ci_high"]
    assert out["relative_lift"] == pytest.approx(0.2 / 0.6, abs=1e-6)


def test_the_day_is_the_campaign_timezone_day():
    at = datetime(2025, 3, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 March in Shanghai
    assert r.local_day(at, "Asia/Shanghai") == "2025-03-02"
    assert r.local_day("2025-03-01T17:30:00.000Z", "UTC") == "2025-03-01"


def test_daily_adds_name_the_variant_counters():
    adds = r.daily_adds({"targeted": 1, "delivered": 1, "sent_inbox": 1, "failed": 0}, "A")
    assert adds == {"targeted": 1, "delivered": 1, "sent_inbox": 1, "targeted@A": 1,
                    "delivered@A": 1}
    assert r.daily_adds({"held_out": 1}, None) == {"held_out": 1}


def test_an_unsubscribe_counts_for_the_arm_of_the_latest_send_of_its_campaign():
    sends = [{"campaign_id": "c", "variant": "A", "decided_at": "2025-03-01T02:00:00Z"},
             {"campaign_id": "c", "variant": "B", "decided_at": "2025-03-08T02:00:00Z"},
             {"campaign_id": "c", "group": "holdout", "decided_at": "2025-03-09T02:00:00Z"},
             {"campaign_id": "other", "variant": "C", "decided_at": "2025-03-10T02:00:00Z"}]
    assert r.arm_of(sends, "c") == "B"
    assert r.arm_of(sends[2:3], "c") is None and r.arm_of([], "c") is None
    assert r.daily_adds({"unsubscribed": 1}, "B") == {"unsubscribed": 1, "unsubscribed@B": 1}


def test_recent_keeps_the_week_and_drops_the_week_before():
    assert r.recent_adds({"delivered": 2, "targeted": 2}, "2025-03-10") == {
        "delivered@2025-03-10": 2}
    stale = r.recent_stale("2025-03-10")
    assert "delivered@2025-03-02" in stale and "delivered@2025-03-03" not in stale
    rows = [{"delivered@2025-03-10": 2, "coupons_redeemed@2025-03-04": 1,
             "delivered@2025-03-01": 9, "SK": "RECENT#00"}, {"delivered@2025-03-10": 1}]
    got = r.recent(rows, "2025-03-10")
    assert got["days"][0] == "2025-03-04" and got["days"][-1] == "2025-03-10"
    assert got["delivered"] == [0, 0, 0, 0, 0, 0, 3]
    assert got["coupons_redeemed"] == [1, 0, 0, 0, 0, 0, 0]


def test_assemble_fills_every_day_sums_shards_and_splits_variants():
    rows = [
        {"SK": "DAY#2025-03-02#00", "targeted": 3, "delivered": 2, "held_out": 1,
         "delivered@A": 1, "delivered@B": 1, "suppressed_consent": 0},
        {"SK": "DAY#2025-03-02#07", "targeted": 2, "delivered": 2, "delivered@A": 2,
         "suppressed_quiet": 1, "cost_minor": 500},
        {"SK": "DAY#2025-03-04#03", "coupons_redeemed": 1, "coupons_redeemed@A": 1,
         "converters_treated": 1, "converters_treated@A": 1},
        {"SK": "DAY#2025-03-09#00", "delivered": 99},  # outside the range
    ]
    out = r.assemble(rows, "2025-03-01", "2025-03-05", variants=["A", "B", "C"])
    assert [d["day"] for d in out["days"]] == [f"2025-03-0{i}" for i in range(1, 6)]
    assert out["days"][1]["delivered"] == 4 and out["days"][0]["delivered"] == 0
    assert out["totals"]["delivered"] == 4 and out["totals"]["cost_minor"] == 500
    assert out["suppressed"]["quiet"] == 1
    arms = {v["variant"]: v for v in out["variants"]}
    assert arms["A"]["delivered"] == 3 and arms["A"]["converters_treated"] == 1
    assert arms["B"]["delivered"] == 1 and arms["C"]["delivered"] == 0
    assert out["holdout"] == {"members": 1, "converters": 0, "conversion_rate": 0.0}
    assert out["lift"]["verdict"] == "insufficient"


def test_csv_has_a_line_per_day_and_a_total_and_no_member_data():
    rows = [{"SK": "DAY#2025-03-02#00", "delivered": 2, "member_id": "m-1"}]
    text = r.to_csv(r.assemble(rows, "2025-03-01", "2025-03-02"))
    lines = text.splitlines()
    assert lines[0].startswith("day,targeted,held_out")
    assert lines[1].startswith("2025-03-01,") and lines[-1].startswith("total,")
    assert "m-1" not in text and len(lines) == 4


@pytest.mark.parametrize(("first", "last", "expected"), [
    (None, None, ("2025-02-09", "2025-03-10")),
    ("2025-03-01", "2025-03-02", ("2025-03-01", "2025-03-02")),
    ("2025-03-03", "2025-03-02", "from must not be after to"),
    ("2025-3-1", None, "dates must be yyyy-mm-dd"),
    ("2023-01-01", "2025-01-01", "at most 366 days at a time"),
])
def test_day_range(first, last, expected):
    assert r.day_range(first, last, "2025-03-10") == expected

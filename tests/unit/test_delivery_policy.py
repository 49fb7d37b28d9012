from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time

import pytest

from chalicelib.domain.delivery.policy import (
    by_priority,
    cap_periods,
    consent_outcome,
    consented_channels,
    held_out,
    limit_period,
    quiet_until,
    variant,
)
from chalicelib.domain.delivery.work import Entry, Task, batches, pack


@pytest.mark.parametrize("percent", [5.0, 10.0, 33.3])
def test_holdout_fraction_is_within_one_percent_of_target_on_100000_members(percent):
    n = 100_000
    held = sum(held_out("spring", f"m-{i}", percent) for i in range(n))
    assert abs(held / n * 100 - percent) <= 1.0


def test_holdout_is_deterministic_and_independent_per_campaign():
    a = [held_out("a", f"m-{i}", 10) for i in range(2000)]
    assert a == [held_out("a", f"m-{i}", 10) for i in range(2000)]
    b = [held_out("b", f"m-{i}", 10) for i in range(2000)]
    assert a != b
    assert not any(held_out("a", f"m-{i}", 0) for i in range(1000))


def test_variants_split_by_weight():
    c = Counter(variant("x", f"m-{i}", [("a", 1), ("b", 3)]) for i in range(40_000))
    assert abs(c["b"] / 40_000 - 0.75) < 0.01


def test_consent_is_per_channel_and_the_inbox_needs_none_unless_the_campaign_asks():
    assert consented_channels(["push", "sms", "inbox"], {"push": True}) == ["push", "inbox"]
    assert consented_channels(["push", "sms", "inbox"], {"sms": True}) == ["sms", "inbox"]
    assert consented_channels(["push", "sms", "inbox", "webhook"], {}) == ["inbox"]
    assert consented_channels(["email", "push"], {"email": True}) == ["email"]
    assert consented_channels(["fax"], {"push": True, "sms": True, "email": True}) == []
    # require_consent: the inbox (and everything else) needs some marketing consent
    on = {"require_consent": True}
    assert consented_channels(["push", "sms", "inbox"], {"sms": True}, **on) == ["sms", "inbox"]
    assert consented_channels(["push", "sms", "inbox", "webhook"], {}, **on) == []


def test_consent_outcome_keeps_coupons_and_points_without_a_consented_channel():
    none: dict[str, bool] = {}
    # a push-only message to a member without push consent: the coupon still goes
    assert consent_outcome(["push"], none, require_consent=False, other_effects=True) == []
    # nothing else to deliver: suppressed for consent
    assert consent_outcome(["push"], none, require_consent=False, other_effects=False) is None
    assert consent_outcome([], none, require_consent=False, other_effects=True) == []
    assert consent_outcome(["inbox"], none, require_consent=False,
                           other_effects=False) == ["inbox"]
    # the campaign asks for consent: nothing at all without any marketing consent
    assert consent_outcome(["inbox"], none, require_consent=True, other_effects=True) is None
    assert consent_outcome(["push", "inbox"], {"email": True}, require_consent=True,
                           other_effects=True) == ["inbox"]


def test_quiet_hours_defer_to_the_end_of_a_window_that_wraps_midnight():
    tz = "Asia/Shanghai"
    late = datetime(2026, 3, 8, 15, 30, tzinfo=UTC)  # 23:30 local
    assert quiet_until(late, tz, time(22), time(8)) == datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
    early = datetime(2026, 3, 8, 21, 0, tzinfo=UTC)  # 05:00 local next day
    assert quiet_until(early, tz, time(22), time(8)) == datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
    day = datetime(2026, 3, 8, 4, 0, tzinfo=UTC)  # 12:00 local
    assert quiet_until(day, tz, time(22), time(8)) is None
    assert quiet_until(day, tz, time(12), time(14)) == datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
    assert quiet_until(day, tz, time(8), time(8)) is None


def test_quiet_hours_end_follows_a_dst_change_overnight():
    # Los Angeles springs forward on 2026-03-08: 08:00 PDT = 15:00 UTC (not 16:00)
    night = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 23:00 PST on the 7th
    assert quiet_until(night, "America/Los_Angeles", time(22), time(8)) == datetime(
        2026, 3, 8, 15, 0, tzinfo=UTC)


def test_cap_periods_are_member_local_day_and_iso_week():
    at = datetime(2026, 3, 8, 17, 0, tzinfo=UTC)
    assert cap_periods(at, "Asia/Shanghai") == ("2026-03-09", "2026-W11")
    assert cap_periods(at, "America/Los_Angeles") == ("2026-03-08", "2026-W10")
    assert limit_period(at, "Asia/Shanghai", "month") == "2026-03"
    assert limit_period(at, "Asia/Shanghai", "campaign") == "all"


def test_higher_priority_spends_the_cap_first_with_a_stable_tie_break():
    assert by_priority([(5, "b"), (10, "z"), (5, "a")]) == [(10, "z"), (5, "a"), (5, "b")]


def test_packing_keeps_a_members_tasks_together_and_round_trips():
    tasks = [Task(f"c{j}", "2026-03-08", f"m-{i}", "2026-03-08T01:00:00Z", {"tz": "X"})
             for i in range(120) for j in range(2)]
    entries = pack(tasks, max_members=50)
    assert [len({t.member for t in e.tasks}) for e in entries] == [12] * 10
    back = [t for e in entries for t in Entry.parse(e.body()).tasks]
    assert sorted(t.key() for t in back) == sorted(t.key() for t in tasks)
    assert [len(b) for b in batches(entries, 4)] == [4, 4, 2]


def test_packing_fills_every_send_message_batch_request_but_a_small_tail():
    def members(n):
        return [Task("c", "o", f"m-{i}", "t") for i in range(n)]

    for n, want in ((1111, 30), (500, 10), (501, 20), (7, 7), (0, 0)):
        entries = pack(members(n))
        assert len(entries) == want, n
        assert all(len(e.tasks) <= 50 for e in entries)
        assert sum(len(e.tasks) for e in entries) == n


def test_packing_respects_the_byte_budget():
    big = {"name": "x" * 5000}
    tasks = [Task("c", "o", f"m-{i}", "t", big) for i in range(100)]
    entries = pack(tasks, max_bytes=60_000)
    assert all(len(e.body()) < 62_000 for e in entries)
    assert sum(len(e.tasks) for e in entries) == 100

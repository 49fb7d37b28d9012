"""Check-in streaks, cycle rewards and make-up cards; activity caps. Pure, no I/O."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from chalicelib.domain.engagement import checkin as rules
from chalicelib.domain.engagement.checkin import CheckinProgram, CheckinRefused, CheckinState
from chalicelib.domain.loyalty.activities import ActivitiesProgram, ActivityRule, decide
from chalicelib.domain.loyalty.program import parse_program

CFG = CheckinProgram.model_validate({
    "cycle_days": 7, "daily_points": 5, "rewards": [{"day": 7, "points": 50}],
    "makeup": {"price_points": 20, "max_per_month": 2}})
D1 = date(2026, 12, 1)


def days(n: int) -> list[date]:
    return [D1 + timedelta(days=i) for i in range(n)]


def test_seven_days_in_a_row_earn_the_small_reward_six_times_then_the_big_one():
    state = CheckinState("m-1")
    got = []
    for d in days(8):
        state = rules.check_in(state, d)
        got.append(CFG.reward(state.streak(d)).points)
    assert got == [5, 5, 5, 5, 5, 5, 50, 5]  # restart: day 8 is day 1 of the next cycle


def test_hold_keeps_the_last_day_reward_after_the_cycle():
    hold = CFG.model_copy(update={"after_cycle": rules.AfterCycle.hold})
    assert [hold.reward(s).points for s in (6, 7, 8, 30)] == [5, 50, 50, 50]


def test_a_missed_day_restarts_the_streak_and_a_make_up_relinks_it():
    state = CheckinState("m-1")
    for d in days(3) + days(6)[4:]:  # 1,2,3 then 5,6 (4 missed)
        state = rules.check_in(state, d)
    today = D1 + timedelta(days=5)
    assert state.streak(today) == 2
    missed = D1 + timedelta(days=3)
    run = rules.run_start_before(missed, set(days(3)))
    assert run == D1
    state = rules.make_up(state, missed, run)
    assert state.streak(today) == 6 and state.makeups == {"2026-12": 1}
    state = rules.check_in(state, today + timedelta(days=1))
    assert CFG.reward(state.streak(today + timedelta(days=1))).points == 50


def test_make_up_of_an_older_gap_leaves_the_latest_run_alone():
    state = CheckinState("m-1")
    for d in [days(10)[i] for i in (0, 2, 8, 9)]:
        state = rules.check_in(state, d)
    state = rules.make_up(state, D1 + timedelta(days=1), D1)
    assert (state.run_start, state.last_date) == (D1 + timedelta(days=8), D1 + timedelta(days=9))


def test_make_up_rules_refuse_with_reasons():
    state = CheckinState("m-1", makeups={"2026-12": 2})
    today = date(2026, 12, 10)
    cases = [(today, False, CheckinState("m-1"), "MAKEUP_NOT_PAST"),
             (date(2026, 11, 30), False, CheckinState("m-1"), "MAKEUP_OTHER_MONTH"),
             (date(2026, 12, 5), True, CheckinState("m-1"), "ALREADY_CHECKED_IN"),
             (date(2026, 12, 5), False, state, "MAKEUP_LIMIT")]
    for day, filled, st, reason in cases:
        with pytest.raises(CheckinRefused) as e:
            rules.check_makeup(CFG, st, day, today, filled)
        assert e.value.reason == reason
    no_cards = CFG.model_copy(update={"makeup": None})
    with pytest.raises(CheckinRefused, match="not offered"):
        rules.check_makeup(no_cards, state, date(2026, 12, 5), today, False)


def test_checkin_section_errors_carry_their_json_path():
    from tests.loyalty_support import program

    bad = program(checkin={"cycle_days": 5, "rewards": [{"day": 7, "points": 1}]})
    with pytest.raises(ValidationError) as e:
        parse_program(bad)
    assert e.value.errors()[0]["loc"][:1] == ("checkin",)
    bad = program(activities={"types": {"Bad Type": {"points": 1}}})
    with pytest.raises(ValidationError) as e:
        parse_program(bad)
    assert e.value.errors()[0]["loc"][:2] == ("activities", "types")


def test_activity_caps_decide_daily_first_then_monthly():
    rule = ActivityRule(points=20, daily_cap=3, monthly_cap=10)
    assert decide(rule, 2, 9).points == 20
    assert decide(rule, 3, 3).reason == "CAP_DAILY"
    assert decide(rule, 0, 10).reason == "CAP_MONTHLY"
    acts = ActivitiesProgram(types={"review_written": rule})
    assert acts.suggest("review_writen") == "did you mean 'review_written'?"

"""Journeys, pure: the document's rules with their JSON paths, the walk, waits at member-local
times, re-entry and the step counters."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.campaigns import journeys as jr
from chalicelib.domain.campaigns.model import ReentryAfter, WaitStep
from chalicelib.domain.campaigns.validate import parse_campaign, validate_campaign

SAMPLES = Path(__file__).resolve().parents[2] / "campaigns"
ONBOARDING = json.loads((SAMPLES / "journey-onboarding.json").read_text())
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def paths(doc: dict[str, Any]) -> dict[str, str]:
    campaign, errors = validate_campaign(doc)
    assert campaign is None
    return {e["path"]: e["message"] for e in errors}


def onboarding(**steps: Any) -> dict[str, Any]:
    doc = copy.deepcopy(ONBOARDING)
    for i, change in steps.items():
        doc["journey"]["steps"][int(i.removeprefix("s"))].update(change)
    return doc


@pytest.mark.parametrize("name", ["journey-onboarding", "journey-win-back"])
def test_the_journey_samples_are_valid_and_survive_a_store_round_trip(name):
    c = parse_campaign((SAMPLES / f"{name}.json").read_text())
    assert c.journey is not None and c.actions == []
    assert parse_campaign(c.document()).document() == c.document()
    assert "if" in json.dumps(c.document())  # the branch keeps its JSON spelling


def test_an_unknown_step_target_names_its_path_and_the_closest_step():
    errors = paths(onboarding(s2={"then": "day7"}))
    assert errors == {"/journey/steps/2/then": "no step with id 'day7'"}
    _, found = validate_campaign(onboarding(s2={"then": "day7"}))
    assert "did you mean 'day-7'?" in found[0]["hint"]


def test_a_loop_duplicate_ids_and_a_bad_of_step_are_refused_with_paths():
    loop = paths(onboarding(s5={"else": "welcome"}))  # back to the start
    assert any(m.startswith("the journey loops") for m in loop.values()), loop
    assert paths(onboarding(s3={"id": "welcome"}))["/journey/steps/3/id"] == (
        "step id 'welcome' is used twice")
    assert paths(onboarding(s2={"if": {"event": "coupon_redeemed", "of_step": "reminder"}})
                 ) == {"/journey/steps/2/if/of_step": "step 'reminder' issues no coupon"}
    assert "/journey/steps/2/if/event" in paths(onboarding(s2={"if": {"event": "clicked"}}))


def test_a_branch_audience_is_checked_where_it_stands():
    errors = paths(onboarding(s5={"if": {"attr": "orders_cnt", "op": "gte", "value": 1}}))
    assert any(p.startswith("/journey/steps/5/if") for p in errors), errors


def test_a_wait_takes_days_or_hours_and_at_only_with_days():
    assert "/journey/steps/1" in paths(onboarding(s1={"hours": 5}))
    assert "/journey/steps/1" in paths(onboarding(s1={"days": None, "hours": 5}))
    assert "/journey/steps/1/type" in paths(onboarding(s1={"type": "sleep"}))


def test_a_journey_campaign_has_no_campaign_actions_and_others_need_them():
    doc = onboarding()
    doc["actions"] = [{"type": "award_points", "points": 5}]
    assert "/actions" in paths(doc)
    doc = onboarding()
    del doc["journey"]
    assert paths(doc) == {"/actions": "a campaign needs at least one action"}


def _walk(start: str | None, answers: dict[str, bool]) -> jr.Walk:
    c = parse_campaign(ONBOARDING)
    assert c.journey is not None
    return jr.walk(c.journey, start, NOW, "Asia/Shanghai",
                   lambda cond: answers[str(cond.get("event"))])


def test_the_walk_runs_to_the_next_wait_at_member_local_time():
    w = _walk("welcome", {})
    assert w.passed == ["welcome", "day-3"] and w.end == jr.WAITING and w.rest == "day-3"
    assert w.due == datetime(2026, 3, 5, 2, 0, tzinfo=UTC)  # 10:00 Shanghai, 3 days on
    assert [a.type for a in w.actions] == ["issue_coupon", "message"]


def test_branches_choose_by_what_happened_and_the_walk_ends_as_completed_or_exited():
    assert _walk("coupon-used", {"coupon_redeemed": True}).passed == ["coupon-used", "day-7"]
    w = _walk("coupon-used", {"coupon_redeemed": False})
    assert w.passed == ["coupon-used", "reminder", "day-7"] and w.action_steps == ["reminder"]
    assert _walk("ordered", {"ordered": True}).end == jr.COMPLETED
    assert _walk("ordered", {"ordered": False}).end == jr.EXITED


def test_a_local_wait_lands_on_the_wall_time_across_a_dst_change():
    step = WaitStep.model_validate_json('{"id": "w", "type": "wait", "days": 1, "at": "10:00"}')
    before = datetime(2026, 3, 7, 20, 0, tzinfo=UTC)  # Saturday noon in Los Angeles (PST)
    assert jr.wait_until(step, before, "America/Los_Angeles") == datetime(
        2026, 3, 8, 17, 0, tzinfo=UTC)  # Sunday 10:00 PDT
    hours = WaitStep.model_validate_json('{"id": "w", "type": "wait", "hours": 5}')
    assert jr.wait_until(hours, before, "Asia/Shanghai") == datetime(2026, 3, 8, 1, 0,
                                                                     tzinfo=UTC)


def test_reentry_never_after_days_and_never_while_active():
    c = parse_campaign(ONBOARDING)
    assert c.journey is not None
    ended = {"status": "completed", "entered_at": "2026-01-01T00:00:00.000Z"}
    assert jr.may_enter(c.journey, None, NOW) is None
    assert jr.may_enter(c.journey, {**ended, "status": "active"}, NOW) == "in_journey"
    assert jr.may_enter(c.journey, ended, NOW) == "no_reentry"
    again = c.journey.model_copy(update={"reentry": ReentryAfter(after_days=90)})
    assert jr.may_enter(again, ended, NOW) == "reentry_too_soon"
    assert jr.may_enter(again, ended, datetime(2026, 4, 2, tzinfo=UTC)) is None


def test_the_summary_adds_the_shards_up_per_step():
    c = parse_campaign(ONBOARDING)
    assert c.journey is not None
    rows: list[dict[str, object]] = [
        {"entered": 2, "at:day-3": 2, "reached:welcome": 2, "campaign_id": "x"},
        {"entered": 1, "at:day-3": 1, "reached:welcome": 1, "exited": 1, "at:day-7": -1}]
    s = jr.summary(c.journey, rows)
    assert (s["entered"], s["active"], s["exited"], s["completed"]) == (3, 2, 1, 0)
    steps = {st["id"]: st for st in s["steps"]}  # type: ignore[attr-defined]
    assert steps["day-3"]["at"] == 3 and steps["welcome"]["reached"] == 3

"""Lint warnings, placeholders and the sandbox, the projection against the budget, diffs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cli import campaign_files as files
from chalicelib.domain.campaigns import templates as tpl
from chalicelib.domain.campaigns.diff import diff
from chalicelib.domain.campaigns.lint import coupon_facts, lint
from chalicelib.domain.campaigns.preview import project
from chalicelib.domain.campaigns.validate import parse_campaign

ROOT = Path(__file__).resolve().parents[2]
PERCENT = {"name": "20% off", "benefit": {"type": "percent", "percent_off": 20}}
CAPPED = {"name": "20% off, max ¥30", "benefit": {"type": "percent", "percent_off": 20,
                                                   "max_discount": 3000}}
FIVE = {"name": "¥5 无门槛", "benefit": {"type": "no_threshold", "amount": 500},
        "stacking": {"group": "welcome", "exclusive": False}}
EXCL = {"name": "VIP only", "benefit": {"type": "fixed", "amount": 1000},
        "stacking": {"exclusive": True}}
SAME_GROUP = {"name": "¥3", "benefit": {"type": "fixed", "amount": 300},
              "stacking": {"group": "welcome"}}
TEMPLATES = {"percent": PERCENT, "capped": CAPPED, "five": FIVE, "excl": EXCL,
             "same-group": SAME_GROUP}


def base(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "c-1", "name": "test",
        "window": {"start": "2026-01-01T00:00:00+08:00", "end": "2026-12-31T00:00:00+08:00"},
        "trigger": {"type": "birthday", "at": "09:00"},
        "actions": [{"type": "issue_coupon", "template": "five"},
                    {"type": "message", "channels": ["push"],
                     "content": {"zh-CN": {"title": "hi {{ name }}",
                                           "body": "{{ coupon.title }}"}}}],
        "budget": {"coupons": 1000},
    }
    doc.update(changes)
    return doc


def codes(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(w["code"], w["path"]) for w in lint(parse_campaign(doc), TEMPLATES.get)]


def test_a_sound_campaign_is_lint_clean() -> None:
    assert codes(base()) == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"budget": None}, ("no-budget", "/budget")),
    ({"budget": {}}, ("no-budget", "/budget")),
    ({"window": {"start": "2026-01-01T00:00:00+08:00"}}, ("no-end", "/window/end")),
    ({"trigger": {"type": "birthday", "at": "07:00"}}, ("quiet-hours", "/trigger/at")),
    ({"trigger": {"type": "recurring", "cron": "0 23 * * *"}},
     ("quiet-hours", "/trigger/cron")),
    ({"audience": {"all": [{"attr": "age", "op": "lt", "value": 18},
                           {"attr": "age", "op": "gte", "value": 60}]}},
     ("audience-empty", "/audience")),
    ({"actions": [{"type": "issue_coupon", "template": "percent"}]},
     ("percent-without-max", "/actions/0/template")),
    ({"actions": [{"type": "issue_coupon", "template": "nope"}]},
     ("unknown-template", "/actions/0/template")),
    ({"actions": [{"type": "issue_coupon", "template": "five"},
                  {"type": "issue_coupon", "template": "same-group"}]},
     ("exclusive-overlap", "/actions/1/template")),
    ({"actions": [{"type": "issue_coupon", "template": "excl"},
                  {"type": "issue_coupon", "template": "capped"}]},
     ("exclusive-overlap", "/actions/1/template")),
    ({"actions": [{"type": "message", "channels": ["push"], "content": {
        "zh-CN": {"title": "{{ nmae }}", "body": "x"}}}]},
     ("unknown-placeholder", "/actions/0/content/zh-CN/title")),
    ({"actions": [{"type": "message", "channels": ["push"], "content": {
        "zh-CN": {"title": "t", "body": "{{ coupon.title }}"}}}]},
     ("unknown-placeholder", "/actions/0/content/zh-CN/body")),
    ({"actions": [{"type": "message", "channels": ["push"], "content": {
        "en-US": {"title": "t", "body": "b"}}}]},
     ("locale-without-fallback", "/actions/0/fallback")),
])
def test_each_lint_rule_warns_at_its_path(changes: dict[str, Any],
                                          expected: tuple[str, str]) -> None:
    assert expected in codes(base(**changes))


def test_quiet_hours_off_silences_the_quiet_hours_rule() -> None:
    doc = base(trigger={"type": "birthday", "at": "07:00"},
               delivery={"quiet_hours": None})
    assert codes(doc) == []


def test_variant_actions_are_linted_in_their_own_arm() -> None:
    doc = base(experiment={"variants": [{"id": "a"}, {"id": "b", "actions": [
        {"type": "issue_coupon", "template": "percent"}]}]})
    assert ("percent-without-max", "/experiment/variants/1/actions/0/template") in codes(doc)


def test_every_sample_campaign_is_lint_clean_without_coupon_templates() -> None:
    for path in files.campaign_files([str(ROOT / "campaigns")]):
        assert lint(parse_campaign(path.read_text())) == [], path.name


def test_every_sample_campaign_is_lint_clean_against_the_committed_templates() -> None:
    directory = ROOT / "campaigns" / "coupons"
    if not directory.is_dir():
        pytest.skip("campaigns/coupons/ (the coupon templates) is not in the tree yet")
    templates = files.load_templates(directory)
    for path in files.campaign_files([str(ROOT / "campaigns")]):
        warnings = lint(parse_campaign(path.read_text()), templates.get)
        assert warnings == [], (path.name, warnings)


def test_coupon_facts_know_the_worst_case_of_each_benefit() -> None:
    assert coupon_facts("p", PERCENT).worst_case_minor is None
    assert coupon_facts("c", CAPPED).worst_case_minor == 3000
    assert coupon_facts("f", FIVE).worst_case_minor == 500
    stepped = {"benefit": {"type": "stepped", "step": 10000, "amount": 1000, "max_steps": 3}}
    assert coupon_facts("s", stepped).worst_case_minor == 3000


# --- templates ------------------------------------------------------------------------------

def test_placeholders_are_extracted_as_dotted_names() -> None:
    text = "{{ name or '会员' }} {{ points.available }} {{ coupon.expires_at | date }}"
    assert tpl.placeholders(text) == {"name", "points.available", "coupon.expires_at"}


def test_rendering_fills_placeholders_and_formats_money_and_dates() -> None:
    ctx = tpl.context_for({"name": "Lena"}, {"tier": "gold", "points": 1200},
                          coupon={"title": "¥5", "expires_at": "2026-03-01T00:00:00Z",
                                  "value": 1250})
    text = "{{ name }}/{{ tier }}/{{ points.available }}/{{ coupon.expires_at | date }}/" \
           "{{ coupon.value | money }}"
    assert tpl.render(text, ctx) == "Lena/gold/1200/2026-03-01/¥12.50"


def test_missing_values_render_empty_and_never_fail() -> None:
    assert tpl.render("hi {{ name }}{{ coupon.title }}!", tpl.context_for({})) == "hi !"


@pytest.mark.parametrize("attack", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ name.__class__ }}",
])
def test_the_sandbox_refuses_python_internals(attack: str) -> None:
    out = tpl.render(attack, tpl.context_for({"name": "x"}))
    assert "class" not in out and "module" not in out


def test_content_falls_back_to_the_same_language_then_the_fallback_locale() -> None:
    c = parse_campaign(base(actions=[{"type": "message", "channels": ["push"], "content": {
        "zh-CN": {"title": "中", "body": "b"}, "en-US": {"title": "en", "body": "b"}}}]))
    msg = c.actions[0]
    assert tpl.pick_content(msg, "zh-TW")[0] == "zh-CN"  # type: ignore[arg-type]
    assert tpl.pick_content(msg, "en-GB")[0] == "en-US"  # type: ignore[arg-type]
    assert tpl.pick_content(msg, "de-DE")[0] == "zh-CN"  # type: ignore[arg-type]


# --- projection -----------------------------------------------------------------------------

def test_projection_counts_deliveries_coupons_messages_and_cost_against_budget() -> None:
    c = parse_campaign(base(trigger={"type": "recurring", "cron": "0 10 * * mon"},
                            window={"start": "2026-03-02T00:00:00+08:00",
                                    "end": "2026-03-29T23:00:00+08:00"},
                            limits={"per_member": 2, "period": "week"},
                            experiment={"holdout_percent": 10},
                            budget={"coupons": 500, "money_minor": 1_000_000}))
    facts = {k: coupon_facts(k, v) for k, v in TEMPLATES.items()}
    p: Any = project(c, at=datetime(2026, 1, 1, tzinfo=UTC), audience_size=200,
                coupons=facts.get)
    assert p["recipients"] == 180 and p["deliveries_per_recipient"] == 4
    assert p["projected"] == {"coupons": 720, "points": 0, "messages": 720,
                              "money_minor": 360_000}
    assert p["budget"]["coupons"]["within"] is False
    assert p["budget"]["money_minor"]["within"] is True


def test_projection_of_a_percent_coupon_without_cap_is_unbounded() -> None:
    c = parse_campaign(base(actions=[{"type": "issue_coupon", "template": "percent"}]))
    p: Any = project(c, at=datetime(2026, 1, 1, tzinfo=UTC), audience_size=10,
                coupons=lambda t: coupon_facts(t, PERCENT))
    assert p["projected"]["money_minor"] is None and p["notes"]


def test_diff_lists_changed_leaves_as_json_pointers() -> None:
    before = {"name": "a", "budget": {"coupons": 1}, "tags": ["x"], "gone": 1}
    after = {"name": "b", "budget": {"coupons": 2, "points": 5}, "tags": ["x"], "a/b": True}
    assert diff(before, after) == [
        {"path": "/a~1b", "after": True},
        {"path": "/budget/coupons", "before": 1, "after": 2},
        {"path": "/budget/points", "after": 5},
        {"path": "/gone", "before": 1},
        {"path": "/name", "before": "a", "after": "b"},
    ]
    assert json.dumps(diff({"x": list(range(500))}, {"x": []}))  # large values are clipped


def test_projection_of_a_journey_counts_each_action_step_once_per_entry_up_to() -> None:
    c = parse_campaign(json.loads((ROOT / "campaigns" / "journey-win-back.json").read_text()))
    facts = {k: coupon_facts(k, EXCL) for k in ("winback-10", "winback-20")}
    p: Any = project(c, at=datetime(2026, 1, 1, tzinfo=UTC), audience_size=100,
                coupons=facts.get)
    assert p["up_to"] is True and p["recipients"] == 90  # 10 % holdout
    steps = p["journey"]
    assert [s["id"] for s in steps] == ["first-coupon", "bigger-coupon"]
    assert all(s["per_member"]["coupons"] == 1 for s in steps)
    assert p["projected"]["coupons"] == round(90 * p["deliveries_per_recipient"] * 2)
    assert p["projected"]["money_minor"] == p["projected"]["coupons"] * 1000
    assert any("up to" in n for n in p["notes"])

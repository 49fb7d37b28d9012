"""issue_coupon with ``coupon: {"best_of": [...]}``: schema, lint, projection, delivery's pick."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.campaigns.lint import coupon_facts, lint
from chalicelib.domain.campaigns.preview import project
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.errors import ValidationFailed
from chalicelib.services.delivery.campaigns import coupon_actions, needs_loyalty

TEMPLATES: dict[str, dict[str, Any]] = {
    "coffee-5": {"name": "咖啡 ¥5", "benefit": {"type": "fixed", "amount": 500},
                 "scope": {"include_categories": ["coffee"]}, "stacking": {"group": "drinks"}},
    "tea-8": {"name": "茶饮 ¥8", "benefit": {"type": "fixed", "amount": 800},
              "scope": {"include_categories": ["tea"]}, "stacking": {"group": "drinks"}},
    "percent": {"name": "20% off", "benefit": {"type": "percent", "percent_off": 20}},
}
BEST = {"type": "issue_coupon", "coupon": {"best_of": ["coffee-5", "tea-8"]}}


def doc(*actions: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"id": "habit", "name": "By habit", "window": {
        "start": "2026-01-01T00:00:00+08:00", "end": "2026-12-31T00:00:00+08:00"},
        "trigger": {"type": "event", "event": "signup"}, "actions": list(actions),
        "budget": {"coupons": 1000}, **changes}


def problems(d: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as e:
        parse_campaign(d)
    return [(x["path"], x["message"]) for x in e.value.details]


def test_best_of_parses_and_survives_the_canonical_document():
    c = parse_campaign(doc(BEST))
    assert c.actions[0].candidates() == ("coffee-5", "tea-8")
    assert c.document()["actions"] == [{**BEST, "quantity": 1}]
    assert parse_campaign(doc({"type": "issue_coupon", "template": "tea-8"})).actions[
        0].candidates() == ("tea-8",)


@pytest.mark.parametrize("action", [
    {"type": "issue_coupon"},
    {"type": "issue_coupon", "template": "tea-8", **{"coupon": BEST["coupon"]}},
    {"type": "issue_coupon", "coupon": {"best_of": ["tea-8"]}},
    {"type": "issue_coupon", "coupon": {"best_of": ["tea-8", "tea-8"]}},
    {"type": "issue_coupon", "coupon": {"best_of": ["tea-8", "Bad id!"]}},
    {"type": "issue_coupon", "coupon": {"best": ["tea-8", "coffee-5"]}},
])
def test_an_action_names_one_template_or_a_list_of_distinct_ones(action: dict[str, Any]):
    assert all(path.startswith("/actions/0") for path, _ in problems(doc(action)))


def test_lint_checks_every_template_of_the_list_at_its_own_path():
    found = [(w["code"], w["path"]) for w in lint(parse_campaign(doc(
        {"type": "issue_coupon", "coupon": {"best_of": ["coffee-5", "nope", "percent"]}})),
        TEMPLATES.get)]
    assert found == [("unknown-template", "/actions/0/coupon/best_of/1"),
                     ("percent-without-max", "/actions/0/coupon/best_of/2")]


def test_the_templates_of_one_list_never_overlap_but_another_action_may():
    assert lint(parse_campaign(doc(BEST)), TEMPLATES.get) == []
    found = [(w["code"], w["path"]) for w in lint(parse_campaign(doc(
        BEST, {"type": "issue_coupon", "template": "tea-8"})), TEMPLATES.get)]
    assert found == [("exclusive-overlap", "/actions/1/template")]


def test_projection_costs_a_best_of_as_its_costliest_template():
    c = parse_campaign(doc({**BEST, "quantity": 2}))
    facts = {k: coupon_facts(k, v) for k, v in TEMPLATES.items()}
    p = project(c, at=datetime(2026, 1, 1, tzinfo=UTC), audience_size=10,
                coupons=facts.get)
    assert p["projected"]["money_minor"] == 10 * 2 * 800
    unbounded = parse_campaign(doc({"type": "issue_coupon",
                                    "coupon": {"best_of": ["tea-8", "percent"]}}))
    p = project(unbounded, at=datetime(2026, 1, 1, tzinfo=UTC), audience_size=10,
                coupons=facts.get)
    assert p["projected"]["money_minor"] is None


def test_delivery_counts_the_picked_template_and_reads_loyalty_to_pick():
    c = parse_campaign(doc(BEST, {"type": "issue_coupon", "template": "coffee-5"}))
    picked: list[tuple[str, ...]] = []

    def choose(ids: tuple[str, ...]) -> str:
        picked.append(ids)
        return ids[-1]

    assert coupon_actions(c.actions, choose) == {"tea-8": 1, "coffee-5": 1}
    assert picked == [("coffee-5", "tea-8")]  # a fixed template is never "chosen"
    assert coupon_actions(c.actions) == {"coffee-5": 2}
    assert needs_loyalty(c)
    assert not needs_loyalty(parse_campaign(doc({"type": "issue_coupon",
                                                 "template": "coffee-5"})))

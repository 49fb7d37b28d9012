"""The program file: committed schema is current, the sample validates, mistakes have paths."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from chalicelib.api.http import validation_details
from chalicelib.cli.program import PROGRAM_FILE, SCHEMA_FILE, schema_text
from chalicelib.domain.loyalty.program import Program, parse_program
from tests.loyalty_support import program


def test_committed_program_schema_matches_the_models():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "campaigns/program.schema.json is stale: run `perks program schema --write`")


def test_the_sample_program_file_is_valid_and_points_editors_at_the_schema():
    text = PROGRAM_FILE.read_text(encoding="utf-8")
    assert json.loads(text)["$schema"] == "./program.schema.json"
    p = Program.model_validate_json(text)
    assert [t.id for t in p.tiers] == ["member", "silver", "gold", "platinum"]


def errors(doc: dict) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as e:
        Program.model_validate_json(json.dumps(doc))
    return validation_details(e.value)


def test_unknown_fields_and_wrong_types_are_reported_with_json_paths():
    doc = program()
    doc["tiers"][1]["thresholds"]["min_spend"] = "1000"
    doc["earning"]["bonus"] = 2
    paths = {e["path"] for e in errors(doc)}
    assert {"/tiers/1/thresholds/min_spend", "/earning/bonus"} <= paths


def test_tier_rules_base_first_without_thresholds_and_unique_ids():
    doc = program()
    doc["tiers"][0]["thresholds"] = {"min_orders": 1}
    assert errors(doc)[0]["path"] == "/tiers"
    doc = program()
    doc["tiers"][2]["id"] = "silver"
    assert "unique" in errors(doc)[0]["message"]


def test_rewards_need_their_kind_fields_and_known_tiers():
    doc = program()
    del doc["rewards"][1]["coupon_template_id"]
    assert errors(doc)[0]["path"] == "/rewards/1"
    doc = program()
    doc["rewards"][0]["min_tier"] = "diamond"
    assert errors(doc)[0]["path"] == "/rewards"


def test_pending_period_must_end_before_points_expire():
    doc = program(points={"expiry_months": 1, "pending_days": 60})
    assert "pending_days" in errors(doc)[0]["message"]


def test_unknown_tier_ids_count_as_the_base_tier():
    p = parse_program(program())
    assert p.tier_index("gold") == 2 and p.tier_index("diamond") == 0 and p.tier_index(None) == 0

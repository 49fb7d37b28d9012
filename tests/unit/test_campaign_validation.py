"""Campaign JSON: samples, the invalid corpus, error paths and hints, fuzzing, the schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.cli import campaign_files as files
from chalicelib.domain.campaigns.validate import parse_campaign, validate_campaign
from chalicelib.errors import ValidationFailed

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(files.campaign_files([str(ROOT / "campaigns")]))
CORPUS = ROOT / "tests" / "events" / "campaigns_invalid"
EXPECTED: dict[str, str] = json.loads((CORPUS / "EXPECTED.json").read_text())


def sample(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "campaigns" / f"{name}.json").read_text())


def test_the_eight_sample_campaigns_are_present() -> None:
    names = {p.stem for p in SAMPLES}
    assert {"birthday-gift", "spring-festival", "mid-autumn", "double11", "win-back",
            "tier-upgrade", "welcome", "points-expiring"} <= names


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_campaign_validates_and_starts_with_schema(path: Path) -> None:
    r = files.read(path)
    assert r.errors == []
    assert next(iter(r.data)) == "$schema"
    assert r.warnings == []  # file name matches the id


def test_the_corpus_holds_at_least_thirty_invalid_files() -> None:
    assert len(EXPECTED) >= 30
    assert sorted(EXPECTED) == sorted(p.name for p in CORPUS.glob("*.json")
                                      if p.name != "EXPECTED.json")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_invalid_file_yields_its_expected_path(name: str) -> None:
    campaign, errors = validate_campaign((CORPUS / name).read_text())
    assert campaign is None
    assert EXPECTED[name] in [e["path"] for e in errors], errors
    for e in errors:
        assert set(e) == {"path", "message", "hint"}
        assert e["path"].startswith("/") and e["message"]


def test_a_misspelt_field_gets_a_did_you_mean_hint() -> None:
    doc = sample("birthday-gift")
    doc["trigger"]["local_tme"] = True
    _, errors = validate_campaign(doc)
    assert errors == [{"path": "/trigger/local_tme", "message": "unknown field 'local_tme'",
                       "hint": "did you mean 'local_time'? remove it, or check the spelling "
                               "against campaigns/schema.json"}]


def test_a_wrong_type_names_the_path_inside_the_discriminated_trigger() -> None:
    doc = sample("birthday-gift")
    doc["trigger"]["local_time"] = "yes"
    _, errors = validate_campaign(doc)
    assert [e["path"] for e in errors] == ["/trigger/local_time"]
    assert "true or false" in errors[0]["hint"]


def test_an_unknown_holiday_suggests_the_closest_name() -> None:
    doc = sample("spring-festival")
    doc["trigger"]["holidays"] = ["Mid Autumn Festival"]
    _, errors = validate_campaign(doc)
    assert errors[0]["path"] == "/trigger/holidays/0"
    assert "Mid-Autumn Festival" in errors[0]["hint"]


def test_chinese_holiday_names_are_accepted() -> None:
    doc = sample("spring-festival")
    doc["trigger"]["holidays"] = ["春节", "中秋节", "--11-11"]
    assert validate_campaign(doc)[1] == []


def test_parse_campaign_raises_validation_failed_with_details() -> None:
    with pytest.raises(ValidationFailed) as e:
        parse_campaign("{not json")
    assert e.value.details[0]["path"] == "/"


def test_invalid_json_text_is_a_validation_error_not_a_crash() -> None:
    assert validate_campaign(b"\xff\xfe")[1][0]["path"] == "/"
    assert validate_campaign("[1, 2")[1][0]["path"] == "/"


def test_stored_documents_round_trip_unchanged() -> None:
    for p in SAMPLES:
        c = parse_campaign(p.read_text())
        assert parse_campaign(c.document()).document() == c.document()


def test_committed_schema_is_current() -> None:
    from chalicelib.domain.campaigns.schema import schema_text

    committed = (ROOT / "campaigns" / "schema.json").read_text()
    assert committed == schema_text(), "run `perks campaigns schema --write` and commit it"


def test_schema_offers_attribute_names_and_ops_for_editor_completion() -> None:
    schema = json.loads((ROOT / "campaigns" / "schema.json").read_text())
    node = json.dumps(schema["$defs"]["AudienceNode"])
    assert "points.available" in node and "contains_all" in node
    assert schema["properties"]["trigger"]["discriminator"]["propertyName"] == "type"


def test_every_sample_campaign_satisfies_the_committed_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "campaigns" / "schema.json").read_text())
    for p in SAMPLES:
        jsonschema.validate(json.loads(p.read_text()), schema)


# --- fuzzing --------------------------------------------------------------------------------

TRICKY = ["0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00", "2026-02-29T09:00:00",
          "2026-03-08T02:30:00", "09:00", "24:00", "--02-29", "--02-30", "0 9 * * *",
          "*/0 * * * *", "0 0 31 2 *", "Spring Festival", "春节", "gold", "draft", "active",
          "birthday", "holiday", "event", "inactive", "push", "zh-CN", "Asia/Shanghai",
          "{{ name", "{{ name }}", "{% for x in y %}", "attributes.x", "tags", "between"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
    | st.sampled_from(TRICKY),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
KEYS = ["id", "name", "window", "trigger", "audience", "actions", "limits", "budget",
        "delivery", "experiment", "type", "at", "cron", "holidays", "event", "params",
        "all", "any", "not", "attr", "op", "value", "channels", "content", "template",
        "points", "multiplier", "start", "end", "status", "timezone", "local_time"]


def _mutate(doc: Any, data: st.DataObject, depth: int = 0) -> Any:
    if isinstance(doc, dict) and doc and depth < 4:
        key = data.draw(st.sampled_from(sorted(doc)))
        choice = data.draw(st.integers(0, 3))
        out = dict(doc)
        if choice == 0:
            out[key] = data.draw(json_values)
        elif choice == 1:
            out.pop(key)
        elif choice == 2:
            out[data.draw(st.sampled_from(KEYS))] = data.draw(json_values)
        else:
            out[key] = _mutate(doc[key], data, depth + 1)
        return out
    if isinstance(doc, list) and doc and depth < 4:
        i = data.draw(st.integers(0, len(doc) - 1))
        out_list = list(doc)
        out_list[i] = _mutate(doc[i], data, depth + 1)
        return out_list
    return data.draw(json_values)


def _well_formed(errors: list[dict[str, str]]) -> None:
    for e in errors:
        assert isinstance(e["path"], str) and e["path"].startswith("/")
        assert isinstance(e["message"], str) and isinstance(e["hint"], str)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_yields_errors_never_an_exception(value: Any) -> None:
    campaign, errors = validate_campaign(value)
    assert campaign is None and errors
    _well_formed(errors)
    with pytest.raises(ValidationFailed):
        parse_campaign(value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([p.stem for p in SAMPLES]), st.data())
def test_mutated_samples_either_validate_or_yield_path_errors(name: str,
                                                              data: st.DataObject) -> None:
    doc = _mutate(sample(name), data)
    campaign, errors = validate_campaign(doc)
    assert (campaign is None) == bool(errors)
    _well_formed(errors)
    if campaign is not None:
        campaign.matcher({"tier": "gold"})  # a valid campaign always compiles


def test_deeply_nested_audience_is_an_error_not_a_recursion_crash() -> None:
    node: dict[str, Any] = {"attr": "tier", "op": "eq", "value": "gold"}
    for _ in range(5000):
        node = {"not": node}
    doc = sample("birthday-gift")
    doc["audience"] = node
    _, errors = validate_campaign(doc)
    assert errors and errors[0]["path"].startswith("/")

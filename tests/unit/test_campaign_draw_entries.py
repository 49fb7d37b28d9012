"""The draw_entries campaign action: schema, validation with paths and did-you-mean, lint
against the stored draw, and the preview projection (no cost)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib.cli import campaign_files as files
from chalicelib.domain.campaigns.lint import DrawFacts, lint
from chalicelib.domain.campaigns.model import DrawEntries
from chalicelib.domain.campaigns.preview import DRAW_NOTE, project
from chalicelib.domain.campaigns.schema import campaign_json_schema
from chalicelib.domain.campaigns.validate import parse_campaign, validate_campaign

ROOT = Path(__file__).resolve().parents[2]
CLOSES = datetime(2026, 3, 1, tzinfo=UTC)
DRAWS = {"spring": DrawFacts("spring", CLOSES, closed=False),
         "old": DrawFacts("old", datetime(2025, 1, 1, tzinfo=UTC), closed=True)}
NO_TEMPLATES: dict[str, dict[str, object]] = {}
GRANT = {"type": "draw_entries", "draw": "spring", "count": 2}


def doc(*actions: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": "spring-entries", "name": "春节抽奖机会",
        "window": {"start": "2026-01-20T00:00:00+08:00", "end": "2026-02-20T00:00:00+08:00"},
        "trigger": {"type": "event", "event": "signup"},
        "actions": list(actions) or [GRANT], "budget": {"messages": 1000}}
    out.update(changes)
    return out


def errors(d: dict[str, Any]) -> list[tuple[str, str, str]]:
    _, errs = validate_campaign(d)
    return [(e["path"], e["message"], e["hint"]) for e in errs]


def warnings(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [(w["code"], w["path"]) for w in lint(parse_campaign(d), NO_TEMPLATES.get, DRAWS.get)]


def test_a_draw_entries_action_parses_with_one_entry_by_default() -> None:
    c = parse_campaign(doc({"type": "draw_entries", "draw": "spring"}))
    assert c.actions == [DrawEntries(type="draw_entries", draw="spring", count=1)]
    assert c.document()["actions"] == [{"type": "draw_entries", "draw": "spring", "count": 1}]


def test_the_committed_schema_offers_draw_entries_next_to_the_other_actions() -> None:
    schema = campaign_json_schema()
    assert schema["$defs"]["DrawEntries"]["required"] == ["type", "draw"]  # type: ignore[index]
    committed = json.loads((ROOT / "campaigns" / "schema.json").read_text(encoding="utf-8"))
    assert committed["$defs"]["DrawEntries"] == schema["$defs"]["DrawEntries"]  # type: ignore[index]


def test_a_count_out_of_range_is_refused_at_its_path() -> None:
    assert [p for p, _, _ in errors(doc({**GRANT, "count": 0}))] == ["/actions/0/count"]
    assert [p for p, _, _ in errors(doc({**GRANT, "count": 101}))] == ["/actions/0/count"]
    assert [p for p, _, _ in errors(doc({**GRANT, "count": "2"}))] == ["/actions/0/count"]


def test_a_misspelt_type_or_field_gets_a_did_you_mean() -> None:
    [(path, msg, hint)] = errors(doc({**GRANT, "type": "draw_entry"}))
    assert path == "/actions/0/type" and "unknown type" in msg
    assert hint.startswith("did you mean 'draw_entries'?")
    [(path, msg, hint)] = errors(doc({"type": "draw_entries", "draw": "spring", "cuont": 2}))
    assert path == "/actions/0/cuont" and hint.startswith("did you mean 'count'?")


def test_a_missing_or_malformed_draw_id_is_refused_with_a_hint() -> None:
    [(path, _, hint)] = errors(doc({"type": "draw_entries", "count": 2}))
    assert path == "/actions/0/draw" and "draw" in hint
    [(path, msg, hint)] = errors(doc({**GRANT, "draw": "Spring Draw"}))
    assert path == "/actions/0/draw" and msg == "has the wrong format"
    assert "campaigns/draws" in hint


def test_variant_actions_carry_their_own_paths() -> None:
    d = doc(experiment={"variants": [{"id": "a", "weight": 1},
                                     {"id": "b", "weight": 1,
                                      "actions": [{**GRANT, "count": -1}]}]})
    assert [p for p, _, _ in errors(d)] == ["/experiment/variants/1/actions/0/count"]


def test_lint_is_clean_for_an_open_draw_that_outlasts_the_campaign() -> None:
    assert warnings(doc()) == []


def test_lint_names_an_unknown_draw() -> None:
    found = lint(parse_campaign(doc({**GRANT, "draw": "sping"})), NO_TEMPLATES.get, DRAWS.get)
    assert [(w["code"], w["path"]) for w in found] == [("unknown-draw", "/actions/0/draw")]
    assert "campaigns/draws" in found[0]["hint"]


def test_lint_warns_when_the_draw_has_closed() -> None:
    assert warnings(doc({**GRANT, "draw": "old"})) == [("draw-closed", "/actions/0/draw")]


def test_lint_warns_when_the_campaign_outlasts_the_draw() -> None:
    late = {"start": "2026-01-20T00:00:00+08:00", "end": "2026-03-31T00:00:00+08:00"}
    assert warnings(doc(window=late)) == [("draw-closes-first", "/actions/0/draw")]
    endless = {"start": "2026-01-20T00:00:00+08:00"}
    assert ("draw-closes-first", "/actions/0/draw") in warnings(doc(window=endless))


def test_lint_without_a_draw_lookup_says_nothing_about_draws() -> None:
    assert lint(parse_campaign(doc({**GRANT, "draw": "nowhere"}))) == []


def test_the_projection_counts_entries_per_draw_and_no_cost() -> None:
    d = doc(GRANT, {**GRANT, "count": 1},
            {"type": "draw_entries", "draw": "old", "count": 3},
            budget={"money_minor": 100})
    p = project(parse_campaign(d), at=datetime(2026, 1, 1, tzinfo=UTC), audience_size=100,
                coupons=lambda _: None)
    assert p["draw_entries"] == {"spring": 300, "old": 300}
    assert p["projected"] == {"coupons": 0, "points": 0, "messages": 0, "money_minor": 0}
    assert p["budget"]["money_minor"]["within"] is True  # type: ignore[index]
    assert DRAW_NOTE in p["notes"]  # type: ignore[operator]


def test_a_campaign_without_draw_entries_projects_no_draw_key() -> None:
    p = project(parse_campaign(doc({"type": "award_points", "points": 5})),
                at=datetime(2026, 1, 1, tzinfo=UTC), audience_size=10, coupons=lambda _: None)
    assert "draw_entries" not in p and DRAW_NOTE not in p["notes"]  # type: ignore[operator]


def test_offline_lint_reads_the_draw_files(tmp_path: Path) -> None:
    sample = json.loads((ROOT / "campaigns" / "draws" / "spring-lucky-draw.json").read_text(
        encoding="utf-8"))
    (tmp_path / "spring.json").write_text(json.dumps({**sample, "id": "spring"}),
                                          encoding="utf-8")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    (tmp_path / "draw.schema.json").write_text("{}", encoding="utf-8")
    closes = datetime.fromisoformat(sample["window"]["closes_at"])
    found = files.load_draws(tmp_path, closes)
    assert list(found) == ["spring"] and found["spring"].closed is True
    assert files.load_draws(tmp_path / "none", closes) == {}

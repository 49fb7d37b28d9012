"""`perks campaigns ...`: exit codes, messages, schema check, sync against a moto stack."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from chalicelib.cli import campaign_files as files
from chalicelib.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_validate_passes_on_the_sample_campaigns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["campaigns", "validate"]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_validate_fails_with_the_path_and_hint_of_each_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.json"
    shutil.copy(ROOT / "tests/events/campaigns_invalid/trigger-local-time-typo.json", bad)
    assert main(["campaigns", "validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "/trigger/local_tme" in out and "local_time" in out


def test_a_campaign_file_must_start_with_schema(tmp_path: Path) -> None:
    doc = json.loads((ROOT / "campaigns/welcome.json").read_text())
    doc.pop("$schema")
    (tmp_path / "welcome.json").write_text(json.dumps(doc))
    r = files.read(tmp_path / "welcome.json")
    assert [e["path"] for e in r.errors] == ["/$schema"]


def test_lint_exits_non_zero_on_warnings_unless_warn_only(tmp_path: Path) -> None:
    doc = json.loads((ROOT / "campaigns/mid-autumn.json").read_text())
    doc.pop("budget")
    (tmp_path / "mid-autumn.json").write_text(json.dumps(doc))
    assert main(["campaigns", "lint", str(tmp_path)]) == 1
    assert main(["campaigns", "lint", "--warn-only", str(tmp_path)]) == 0


def test_lint_reads_coupon_templates_next_to_the_files(tmp_path: Path) -> None:
    shutil.copy(ROOT / "campaigns/welcome.json", tmp_path / "welcome.json")
    (tmp_path / "coupons").mkdir()
    assert main(["campaigns", "lint", str(tmp_path)]) == 1  # no template new-member-5
    (tmp_path / "coupons" / "new-member-5.json").write_text(json.dumps(
        {"name": "¥5", "benefit": {"type": "no_threshold", "amount": 500}}))
    assert main(["campaigns", "lint", str(tmp_path)]) == 0


def test_schema_check_passes_on_the_committed_schema() -> None:
    assert main(["campaigns", "schema", "--check"]) == 0


def test_sync_creates_then_reports_unchanged_then_prunes(moto_stack: str, tmp_path: Path
                                                         ) -> None:
    from rich.console import Console

    from chalicelib.cli.campaigns_sync import sync
    from chalicelib.services.campaigns import campaigns

    for name in ("welcome", "mid-autumn"):
        shutil.copy(ROOT / f"campaigns/{name}.json", tmp_path / f"{name}.json")
    (tmp_path / "coupons").mkdir()
    (tmp_path / "coupons" / "new-member-5.json").write_text(json.dumps({
        "name": "¥5 无门槛", "benefit": {"type": "no_threshold", "amount": 500},
        "validity": {"starts_at": "2026-01-01T00:00:00+08:00",
                     "ends_at": "2027-12-31T23:59:59+08:00"}}, ensure_ascii=False))
    console = Console(record=True, width=200)

    def run(prune: bool = False, dry_run: bool = False) -> str:
        results = [files.read(p) for p in files.campaign_files([str(tmp_path)])]
        assert sync(console, tmp_path, results, who="cli:test", prune=prune,
                    dry_run=dry_run) == 0
        return console.export_text()

    assert "3 created" in run()  # one coupon template, two campaigns
    assert "3 unchanged" in run()
    doc: dict[str, Any] = json.loads((tmp_path / "welcome.json").read_text())
    doc["priority"] = 1
    (tmp_path / "welcome.json").write_text(json.dumps(doc, ensure_ascii=False))
    assert "1 updated" in run(dry_run=True)
    assert campaigns.get("welcome")["version"] == 1
    assert "1 updated" in run()
    (tmp_path / "mid-autumn.json").unlink()
    assert "1 ended" in run(prune=True)
    assert campaigns.get("mid-autumn")["status"] == "ended"


def test_preview_prints_audience_occurrences_and_cost(moto_stack: str,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    from chalicelib.cli import campaigns as cli
    from chalicelib.domain.members.model import NewMember
    from chalicelib.services.members import members

    monkeypatch.setattr(cli, "_stage", lambda args: None)  # already on the moto stack
    members.register(NewMember.model_validate_json(json.dumps(
        {"member_id": "m-1", "birthday": "1990-03-01", "timezone": "Europe/Berlin"})))
    code = main(["campaigns", "preview", str(ROOT / "campaigns/birthday-gift.json"),
                 "--at", "2026-02-01T00:00:00+00:00"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "audience: 1 members" in out and "2026-03-01T09:00:00+01:00" in out
    assert "coupons" in out and "money_minor" in out
    assert main(["campaigns", "preview", str(ROOT / "campaigns/birthday-gift.json"),
                 "--at", "2026-02-01T00:00:00+00:00", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["audience"]["size"] == 1

"""`perks campaigns sync` on both engines: a no-op when nothing changed, and a dry run that
reports exactly what the real run then does (created / updated / unchanged)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _stack_files(tmp_path: Path) -> None:
    shutil.copy(ROOT / "campaigns/program.json", tmp_path / "program.json")
    shutil.copy(ROOT / "campaigns/mid-autumn.json", tmp_path / "mid-autumn.json")
    (tmp_path / "coupons").mkdir()
    (tmp_path / "coupons" / "unlimited-5.json").write_text(json.dumps({
        "name": "¥5 不限领", "benefit": {"type": "no_threshold", "amount": 500},
        "limits": {"per_member_claim": None},
        "validity": {"starts_at": "2026-01-01T00:00:00+08:00",
                     "ends_at": "2027-12-31T23:59:59+08:00"}}, ensure_ascii=False))


def _run(tmp_path: Path, dry_run: bool = False) -> str:
    from rich.console import Console

    from chalicelib.cli import campaign_files as files
    from chalicelib.cli.campaigns_sync import sync

    console = Console(record=True, width=200)
    results = [files.read(p) for p in files.campaign_files([str(tmp_path)])]
    assert sync(console, tmp_path, results, who="cli:test", prune=False, dry_run=dry_run) == 0
    return console.export_text().splitlines()[-1]  # the summary line


def _state() -> tuple[int, int, int, int]:
    """Program version, template version, campaign version, audit entries this month."""
    from chalicelib.errors import NotFound
    from chalicelib.services import clock
    from chalicelib.services.campaigns import campaigns
    from chalicelib.services.coupons import coupons
    from chalicelib.services.loyalty import program

    program.invalidate()
    try:
        template = coupons.get_template("unlimited-5").version
    except NotFound:
        template = 0
    try:
        campaign = campaigns.get("mid-autumn")["version"]
    except NotFound:
        campaign = 0
    audit = campaigns.audit(clock.iso()[:7], 100, None)["items"]
    return program.get().version, template, campaign, len(audit)


def test_sync_is_a_no_op_when_nothing_changed(engine, tmp_path):
    _stack_files(tmp_path)
    assert _run(tmp_path, dry_run=True) == "3 created"
    assert _state() == (0, 0, 0, 0)  # the dry run wrote nothing
    assert _run(tmp_path) == "3 created"
    after_first = _state()
    assert after_first[:3] == (1, 1, 1)
    assert _run(tmp_path, dry_run=True) == "3 unchanged"
    assert _run(tmp_path) == "3 unchanged"
    assert _state() == after_first  # no new version anywhere, no audit entry


def test_a_dry_run_reports_what_the_real_run_does(engine, tmp_path):
    _stack_files(tmp_path)
    _run(tmp_path)
    before = _state()
    program = json.loads((tmp_path / "program.json").read_text(encoding="utf-8"))
    program["name"] = program["name"] + " 2"
    (tmp_path / "program.json").write_text(json.dumps(program, ensure_ascii=False))
    template = json.loads((tmp_path / "coupons/unlimited-5.json").read_text(encoding="utf-8"))
    template["limits"]["per_member_claim"] = 3
    (tmp_path / "coupons/unlimited-5.json").write_text(json.dumps(template, ensure_ascii=False))
    assert _run(tmp_path, dry_run=True) == "1 unchanged, 2 updated"
    assert _state() == before
    assert _run(tmp_path) == "1 unchanged, 2 updated"
    assert _state()[:3] == (before[0] + 1, before[1] + 1, before[2])
    assert _run(tmp_path) == "3 unchanged"

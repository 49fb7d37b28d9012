"""`perks coupons validate|sync|schema` against the sample templates (moto)."""

from __future__ import annotations

import argparse
import json

from chalicelib.cli import coupons as cli
from chalicelib.services.coupons import coupons


def test_sync_creates_every_sample_template_then_finds_nothing_to_change(moto_stack, capsys):
    good, bad = cli.load(cli.TEMPLATES_DIR)
    assert bad == [] and "double11" in good and "cny-snacks-80" in good
    assert cli.sync(good, "cli:test") == 0
    first = capsys.readouterr().out
    assert first.count(": created (version 1)") == len(good)
    assert cli.sync(good, "cli:test") == 0
    assert capsys.readouterr().out.count(": unchanged (version 1)") == len(good)
    d11 = coupons.get_template("double11")
    assert d11.remaining == 1_000_000 and d11.definition["benefit"]["threshold"] == 50000


def test_validate_reports_file_and_json_pointer(tmp_path, capsys):
    (tmp_path / "bad.json").write_text(json.dumps({
        "name": "bad", "benefit": {"type": "stepped", "step": 100, "amount": 500,
                                   "max_steps": 2},
        "validity": {"starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}}))
    (tmp_path / "broken.json").write_text("{not json")
    args = argparse.Namespace(directory=str(tmp_path))
    assert cli.validate_cmd(args) == 1
    err = capsys.readouterr().err
    assert "bad.json: /benefit/amount: cannot exceed the step" in err
    assert "broken.json: /: not valid JSON" in err


def test_schema_check_passes_on_the_committed_file(capsys):
    args = argparse.Namespace(write=False, check=True)
    assert cli.schema_cmd(args) == 0

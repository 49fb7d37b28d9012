"""`perks program ...`: validate, sync only when changed, show versions."""

from __future__ import annotations

import json

from chalicelib.cli import main
from chalicelib.cli.program import PROGRAM_FILE


def test_sync_publishes_the_file_once_and_again_only_after_a_change(moto_stack, tmp_path,
                                                                   capsys):
    assert main(["--stage", "test", "program", "validate"]) == 0
    assert main(["--stage", "test", "program", "sync"]) == 0
    assert main(["--stage", "test", "program", "sync"]) == 0
    out = capsys.readouterr().out
    assert "published program version 1" in out and "program unchanged (version 1)" in out
    doc = json.loads(PROGRAM_FILE.read_text(encoding="utf-8"))
    doc["earning"]["points_per_unit"] = 2
    changed = tmp_path / "program.json"
    changed.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["--stage", "test", "program", "sync", str(changed)]) == 0
    assert "published program version 2" in capsys.readouterr().out
    assert main(["--stage", "test", "program", "show", "--version", "1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == 1 and shown["program"]["earning"]["points_per_unit"] == 1


def test_invalid_files_are_refused_with_json_paths(moto_stack, tmp_path, capsys):
    bad = tmp_path / "program.json"
    bad.write_text(json.dumps({"name": "x", "tiers": [{"id": "Member", "name": "M"}]}))
    assert main(["--stage", "test", "program", "sync", str(bad)]) == 1
    assert "/tiers/0/id" in capsys.readouterr().err
    assert main(["program", "schema", "--check"]) == 0

"""`perks draws ...`: lucky-draw files (campaigns/draws/*.json) and the fairness verifier.

    perks draws validate [FILE...]            strict validation, errors with JSON paths
    perks draws schema [--write|--check]      the committed JSON Schema
    perks draws sync [FILE...]                store each file as a new version when it differs
    perks draws verify ID [--seed HEX] [--log FILE]
        recompute every outcome of a closed draw from its revealed seed and entry log (from
        the stack, or offline from a published seed and an exported log: JSON lines)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.cli._shared import stack_options, target_stage

ROOT = Path(__file__).resolve().parents[2]
DRAWS_DIR = ROOT / "campaigns" / "draws"
SCHEMA_FILE = DRAWS_DIR / "draw.schema.json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("draws", help="validate, store and verify lucky draws")
    cmds = p.add_subparsers(dest="draws_command", required=True)
    v = cmds.add_parser("validate", help="validate draw files")
    v.add_argument("files", nargs="*")
    v.set_defaults(func=validate)
    s = cmds.add_parser("schema", help="print, write or check campaigns/draws/draw.schema.json")
    mode = s.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    s.set_defaults(func=schema)
    y = cmds.add_parser("sync", help="store draw files as new versions when they changed")
    y.add_argument("files", nargs="*")
    y.add_argument("--actor", default="cli", help="recorded in the audit log")
    stack_options(y)
    y.set_defaults(func=sync)
    f = cmds.add_parser("verify", help="recompute every outcome of a closed draw")
    f.add_argument("draw_id")
    f.add_argument("--file", help="the draw JSON (offline; default: the stored one)")
    f.add_argument("--seed", help="the revealed seed (offline)")
    f.add_argument("--commitment", help="the commitment published before opening (offline)")
    f.add_argument("--log", help="entries as JSON lines (offline)")
    stack_options(f)
    f.set_defaults(func=verify)


def schema_text() -> str:
    from chalicelib.domain.engagement.draws import schema as build

    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def _files(given: list[str]) -> list[Path]:
    return [Path(f) for f in given] or sorted(
        p for p in DRAWS_DIR.glob("*.json") if p.name != SCHEMA_FILE.name)


def load(path: Path) -> tuple[Any, list[dict[str, str]]]:
    """(Draw or None, errors as [{path, message}]); the id must match the file name."""
    from chalicelib.domain.engagement.draws import parse_draw
    from chalicelib.errors import ValidationFailed

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return None, [{"path": "/", "message": f"cannot read {path}: {e}"}]
    if isinstance(data, dict):
        data.pop("$schema", None)
    try:
        return parse_draw(data, path.stem), []
    except ValidationFailed as e:
        return None, e.details


def validate(args: argparse.Namespace) -> int:
    bad = 0
    for path in _files(args.files):
        draw, errors = load(path)
        for e in errors:
            print(f"{path}: {e['path']}: {e['message']}", file=sys.stderr)
        if draw is None:
            bad += 1
        else:
            print(f"{path}: ok ({len(draw.prizes)} prizes)")
    return 1 if bad else 0


def schema(args: argparse.Namespace) -> int:
    from chalicelib.cli._shared import generated_file

    return generated_file(args, SCHEMA_FILE, schema_text(), "perks draws schema --write")


def sync(args: argparse.Namespace) -> int:
    target_stage(args)
    from chalicelib.errors import PerksError
    from chalicelib.services.engagement import draws

    bad = 0
    for path in _files(args.files):
        draw, errors = load(path)
        for e in errors:
            print(f"{path}: {e['path']}: {e['message']}", file=sys.stderr)
        if draw is None:
            bad += 1
            continue
        try:
            out = draws.put(draw.id, draw, args.actor)
        except PerksError as e:
            print(f"{path}: {e.message}", file=sys.stderr)
            bad += 1
            continue
        print(f"{draw.id}: {out['result']} (version {out['version']}, "
              f"commitment {out['commitment']})")
    return 1 if bad else 0


def verify(args: argparse.Namespace) -> int:
    if args.seed or args.log:
        report = _offline(args)
    else:
        target_stage(args)
        from chalicelib.services.engagement import draws

        report = draws.verify(args.draw_id)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if report["ok"] else 1


def _offline(args: argparse.Namespace) -> dict[str, Any]:
    """Verify from published material only: the draw JSON, seed, commitment and log."""
    from chalicelib.domain.engagement.draws import verify as check

    if not (args.file and args.seed and args.commitment and args.log):
        raise SystemExit("offline verification needs --file, --seed, --commitment and --log")
    draw, errors = load(Path(args.file))
    if draw is None:
        raise SystemExit(f"{args.file}: {errors}")
    lines = Path(args.log).read_text(encoding="utf-8").splitlines()
    return check(draw, args.seed, args.commitment, [json.loads(x) for x in lines if x.strip()])

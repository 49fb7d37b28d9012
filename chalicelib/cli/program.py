"""`perks program ...`: the loyalty program file (campaigns/program.json).

    perks program validate [FILE]      strict validation, errors with JSON paths
    perks program schema [--write|--check]   the committed JSON Schema
    perks program sync [FILE]          publish FILE as a new version when it differs
    perks program show [--version N]   the live (or a past) published version
    perks program backfill-perks       index members above the base tier for monthly perks
    perks program grant-perks          run the monthly tier-perk job now (it runs hourly)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.cli._shared import stack_options, target_stage

ROOT = Path(__file__).resolve().parents[2]
PROGRAM_FILE = ROOT / "campaigns" / "program.json"
SCHEMA_FILE = ROOT / "campaigns" / "program.schema.json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("program", help="validate, publish and show the loyalty program")
    cmds = p.add_subparsers(dest="program_command", required=True)
    v = cmds.add_parser("validate", help="validate a program file")
    v.add_argument("file", nargs="?", default=str(PROGRAM_FILE))
    v.set_defaults(func=validate)
    s = cmds.add_parser("schema", help="print, write or check campaigns/program.schema.json")
    mode = s.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    s.set_defaults(func=schema)
    y = cmds.add_parser("sync", help="publish the file as a new version if it changed")
    y.add_argument("file", nargs="?", default=str(PROGRAM_FILE))
    y.add_argument("--actor", default="cli", help="recorded as the publisher")
    stack_options(y)
    y.set_defaults(func=sync)
    w = cmds.add_parser("show", help="print the published program")
    w.add_argument("--version", type=int, default=None)
    stack_options(w)
    w.set_defaults(func=show)
    b = cmds.add_parser("backfill-perks", help="index tiered members for the monthly perks "
                        "job (once, after deploying tier perks)")
    stack_options(b)
    b.set_defaults(func=backfill_perks)
    g = cmds.add_parser("grant-perks", help="grant the monthly tier perks now")
    stack_options(g)
    g.set_defaults(func=grant_perks)


def schema_text() -> str:
    from chalicelib.domain.loyalty.program import schema as build

    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def load(path: str) -> tuple[Any, list[dict[str, str]]]:
    """(Program or None, errors as [{path, message}])."""
    from pydantic import ValidationError

    from chalicelib.api.http import validation_details
    from chalicelib.domain.loyalty.program import Program

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        return None, [{"path": "/", "message": f"cannot read {path}: {e}"}]
    try:
        return Program.model_validate_json(text), []
    except ValidationError as e:
        details = validation_details(e)
        return None, details or [{"path": "/", "message": "not valid JSON"}]


def _stage(args: argparse.Namespace) -> None:
    target_stage(args)  # the global --stage, else the local stack (dev)


def validate(args: argparse.Namespace) -> int:
    program, errors = load(args.file)
    for e in errors:
        print(f"{args.file}: {e['path']}: {e['message']}", file=sys.stderr)
    if program is None:
        return 1
    print(f"{args.file}: ok ({len(program.tiers)} tiers, {len(program.rewards)} rewards)")
    return 0


def schema(args: argparse.Namespace) -> int:
    from chalicelib.cli._shared import generated_file

    return generated_file(args, SCHEMA_FILE, schema_text(), "perks program schema --write")


def sync(args: argparse.Namespace) -> int:
    program, errors = load(args.file)
    for e in errors:
        print(f"{args.file}: {e['path']}: {e['message']}", file=sys.stderr)
    if program is None:
        return 1
    _stage(args)
    from chalicelib.errors import PerksError
    from chalicelib.services.loyalty import program as programs

    live = programs.get()
    if live.version and programs.parse_stored(live.program).document() == program.document():
        print(f"program unchanged (version {live.version})")
        return 0
    try:
        published = programs.publish(program, args.actor)
    except PerksError as e:
        print(f"error: {e.message}", file=sys.stderr)
        for d in e.details:
            print(f"  {d.get('path')}: {d.get('message')}", file=sys.stderr)
        return 1
    print(f"published program version {published.version}")
    return 0


def show(args: argparse.Namespace) -> int:
    _stage(args)
    from chalicelib.errors import PerksError
    from chalicelib.services.loyalty import program as programs

    try:
        v = programs.get(args.version)
    except PerksError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 1
    print(json.dumps(v.model_dump(mode="json"), indent=2, ensure_ascii=False))
    return 0


def backfill_perks(args: argparse.Namespace) -> int:
    _stage(args)
    from chalicelib.services.loyalty import perks

    print(f"indexed {perks.backfill_holders()} member(s) above the base tier")
    return 0


def grant_perks(args: argparse.Namespace) -> int:
    _stage(args)
    from chalicelib.services.loyalty import perks

    print(json.dumps(perks.grant_monthly(), indent=2))
    return 0

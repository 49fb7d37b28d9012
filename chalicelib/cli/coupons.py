"""`perks coupons validate|sync|schema`: coupon templates as files (campaigns/coupons/*.json).

    perks coupons validate [DIR]                   exit 1 on any invalid template
    perks coupons sync [DIR] [--dry-run] [--stage dev]
    perks coupons schema [--write | --check]       campaigns/coupon-template.schema.json
    perks coupons codes TEMPLATE --count N [--prefix P] [--out codes.csv] [--stage dev]

A template's id is its ``template_id`` or, when absent, its file name. Sync writes a new
version only when the definition changed (created / updated / unchanged per file).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.cli._shared import stack_options, target_stage

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "campaigns" / "coupons"
SCHEMA_PATH = ROOT / "campaigns" / "coupon-template.schema.json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("coupons", help="validate and sync coupon template files")
    cmds = p.add_subparsers(dest="coupons_command", required=True)
    v = cmds.add_parser("validate", help="check template files (JSON paths on errors)")
    v.add_argument("directory", nargs="?", default=str(TEMPLATES_DIR))
    v.set_defaults(func=validate_cmd)
    s = cmds.add_parser("sync", help="create or update the stored templates from the files")
    s.add_argument("directory", nargs="?", default=str(TEMPLATES_DIR))
    s.add_argument("--dry-run", action="store_true", help="validate and show, write nothing")
    stack_options(s)
    s.add_argument("--stage", dest="target_stage", default=None,
                   help="stack to write (dev = the local stack)")
    s.set_defaults(func=sync_cmd)
    cd = cmds.add_parser("codes", help="generate a code batch (large batches: no API timeout)")
    cd.add_argument("template_id")
    cd.add_argument("--count", type=int, required=True)
    cd.add_argument("--prefix", default=None)
    cd.add_argument("--out", default=None, help="write the batch as CSV to this file")
    cd.add_argument("--stage", dest="target_stage", default=None)
    stack_options(cd)
    cd.set_defaults(func=codes_cmd)
    sc = cmds.add_parser("schema", help="print, write or check the JSON Schema")
    mode = sc.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    sc.set_defaults(func=schema_cmd)


def schema_text() -> str:
    from chalicelib.domain.coupons.template import json_schema

    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def load(directory: Path) -> tuple[dict[str, Any], list[tuple[str, list[dict[str, str]]]]]:
    """Parsed templates by id, and [(file, problems)] for the invalid ones."""
    from chalicelib.domain.coupons.template import parse_template
    from chalicelib.errors import ValidationFailed

    good: dict[str, Any] = {}
    bad: list[tuple[str, list[dict[str, str]]]] = []
    for path in sorted(directory.glob("*.json")):
        if path.name.endswith("schema.json"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
            doc = json.loads(text)
            tid = str(doc.get("template_id") or path.stem) if isinstance(doc, dict) else ""
            good[tid] = parse_template(text, tid)
        except ValueError as e:  # JSON syntax
            bad.append((path.name, [{"path": "/", "message": f"not valid JSON: {e}"}]))
        except ValidationFailed as e:
            bad.append((path.name, e.details))
    return good, bad


def _report(bad: list[tuple[str, list[dict[str, str]]]]) -> None:
    for name, problems in bad:
        for p in problems:
            print(f"{name}: {p['path']}: {p['message']}", file=sys.stderr)


def validate_cmd(args: argparse.Namespace) -> int:
    good, bad = load(Path(args.directory))
    _report(bad)
    print(f"{len(good)} valid, {len(bad)} invalid")
    return 1 if bad else 0


def sync_cmd(args: argparse.Namespace) -> int:
    good, bad = load(Path(args.directory))
    if bad:
        _report(bad)
        print("nothing synced: fix the errors first", file=sys.stderr)
        return 1
    if args.dry_run:
        for tid in good:
            print(f"{tid}: valid")
        return 0
    target_stage(args)
    return sync(good, f"cli:{getpass.getuser()}")


def sync(templates: dict[str, Any], actor: str) -> int:
    """Write each template through the coupon service; print what happened to each."""
    from chalicelib.errors import NotFound, PerksError
    from chalicelib.services.coupons import coupons

    failed = 0
    for tid, t in templates.items():
        try:
            try:
                before: int | None = coupons.get_template(tid).version
            except NotFound:
                before = None
            after = coupons.put_template(tid, t, actor).version
        except PerksError as e:
            failed += 1
            print(f"{tid}: {e.message} {e.details}", file=sys.stderr)
            continue
        state = "created" if before is None else ("unchanged" if after == before else "updated")
        print(f"{tid}: {state} (version {after})")
    return 1 if failed else 0


def codes_cmd(args: argparse.Namespace) -> int:
    from chalicelib.errors import PerksError
    from chalicelib.services.coupons import codes as coupon_codes

    target_stage(args)
    try:
        req = coupon_codes.CodeBatchRequest.model_validate(
            {"count": args.count, **({"prefix": args.prefix} if args.prefix else {})})
        batch = coupon_codes.generate(args.template_id, req, f"cli:{getpass.getuser()}")
    except PerksError as e:
        print(f"error: {e.message} {e.details}", file=sys.stderr)
        return 1
    except ValueError as e:  # pydantic: count or prefix out of range
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"batch {batch.batch_id}: {batch.count} codes ({batch.csv_path})")
    if args.out:
        Path(args.out).write_text(coupon_codes.export_csv(args.template_id, batch.batch_id),
                                  encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def schema_cmd(args: argparse.Namespace) -> int:
    from chalicelib.cli._shared import generated_file

    return generated_file(args, SCHEMA_PATH, schema_text(), "perks coupons schema --write")

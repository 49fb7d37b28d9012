"""Helpers shared by CLI modules (the leading underscore keeps it out of command discovery)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path


def generated_file(args: argparse.Namespace, path: Path, text: str, regenerate: str) -> int:
    """`--write` the generated ``text`` to ``path``, `--check` that it is current, or print it."""
    if args.write:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
        return 0
    if args.check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            print(f"{path} is stale: run `{regenerate}`", file=sys.stderr)
            return 1
        print(f"{path} is current")
        return 0
    sys.stdout.write(text)
    return 0


def target_stage(args: argparse.Namespace) -> None:
    """Point the command at a stack: `--stage` of the subcommand, else the global one, else dev."""
    from chalicelib.cli import use_stage

    stage = getattr(args, "target_stage", None) or args.stage or "dev"
    use_stage("dev" if stage == "local" else stage)


def moment(text: str | None) -> datetime:
    """`--at` as an aware datetime (now when absent); a naive time is an error."""
    from chalicelib.services import clock

    if not text:
        return clock.now()
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise SystemExit("error: --at needs an offset, e.g. 2026-02-01T09:00:00+08:00")
    return at

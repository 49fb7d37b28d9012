"""Helpers shared by CLI modules (the leading underscore keeps it out of command discovery)."""

from __future__ import annotations

import argparse
import sys
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

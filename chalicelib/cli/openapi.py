"""`perks openapi [--write PATH | --check PATH]`: the API's OpenAPI 3.1 document."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "infra" / "openapi.json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("openapi", help="print, write or check the OpenAPI document")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", nargs="?", const=str(DEFAULT), default=None, metavar="PATH",
                      help="write the document (default infra/openapi.json)")
    mode.add_argument("--check", nargs="?", const=str(DEFAULT), default=None, metavar="PATH",
                      help="exit 1 if the committed document differs from the generated one")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chalicelib import openapi

    doc = openapi.document()
    try:
        openapi.validate(doc)
    except Exception as e:  # the validator raises its own error types
        print(f"error: the generated document is not valid OpenAPI 3.1: {e}", file=sys.stderr)
        return 2
    text = openapi.render(doc)
    operations = sum(len(ops) for ops in doc["paths"].values())
    if args.write:
        Path(args.write).write_text(text)
        print(f"wrote {args.write}: {operations} operations, "
              f"{len(doc['components']['schemas'])} schemas")
        return 0
    if args.check:
        path = Path(args.check)
        if not path.exists() or path.read_text() != text:
            print(f"{path} is stale: run `make openapi` and commit it", file=sys.stderr)
            return 1
        print(f"{path} is current ({operations} operations)")
        return 0
    sys.stdout.write(text)
    return 0

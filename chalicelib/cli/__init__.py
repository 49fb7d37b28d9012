"""`perks` command line. Each module in this package adds its subcommands via ``register``.

A module defines ``register(subparsers) -> None`` and sets ``func=`` defaults on its parsers;
``func(args) -> int`` returns the exit code (non-zero on errors).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from chalicelib.cli._shared import use_stage

__all__ = ["build_parser", "main", "use_stage"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perks", description="Perks command line")
    parser.add_argument("--stage", default=None,
                        help="stage from .chalice/config.json whose settings to use (e.g. dev)")
    from chalicelib.cli._shared import stack_options

    stack_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from chalicelib import bootstrap

    args = build_parser().parse_args(argv)
    bootstrap.reset()  # services wired afresh for this command's stage and stack
    if args.stage:
        use_stage(args.stage)
    try:
        return int(args.func(args) or 0)
    except Exception as e:
        # The stack went away mid-command: one line, not a botocore traceback.
        if type(e).__name__ not in ("EndpointConnectionError", "ConnectionClosedError"):
            raise
        print(f"error: the stack stopped answering ({e}); is `make run` still running?",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

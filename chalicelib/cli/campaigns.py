"""`perks campaigns validate|lint|preview|sync|schema`: campaigns as files, for marketers.

    perks campaigns validate [FILES]          exit 1 on any error
    perks campaigns lint [FILES]              exit 1 on errors or warnings
    perks campaigns preview FILE --at 2026-02-01T00:00:00+08:00 [--stage dev]
    perks campaigns sync campaigns/ [--prune] [--dry-run] [--stage dev]
    perks campaigns schema [--write | --check]
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.cli import campaign_files as files
from chalicelib.cli._shared import moment as _at
from chalicelib.cli._shared import stack_options
from chalicelib.cli._shared import target_stage as _stage

SCHEMA_PATH = files.CAMPAIGNS_DIR / "schema.json"
SEGMENT_SCHEMA_PATH = files.CAMPAIGNS_DIR / "segments" / "schema.json"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("campaigns", help="validate, lint, preview and sync campaign files")
    cmds = p.add_subparsers(dest="campaigns_command", required=True)
    v = cmds.add_parser("validate", help="check campaign files against the schema and rules")
    v.add_argument("files", nargs="*", help="files or directories (default: campaigns/)")
    v.set_defaults(func=validate_cmd)
    lt = cmds.add_parser("lint", help="validate, then warn about costly mistakes")
    lt.add_argument("files", nargs="*", help="files or directories (default: campaigns/)")
    lt.add_argument("--templates", default=None, help="coupon templates directory "
                    "(default: coupons/ next to the files)")
    lt.add_argument("--warn-only", action="store_true", help="exit 0 when only warnings")
    lt.set_defaults(func=lint_cmd)
    pv = cmds.add_parser("preview", help="audience, samples, next fires and cost on a stack")
    pv.add_argument("file")
    pv.add_argument("--at", default=None, help="ISO date-time to preview from (default: now)")
    pv.add_argument("--stage", dest="target_stage", default=None,
                    help="stack to read (dev = the local stack; 'local' is an alias)")
    pv.add_argument("--samples", type=int, default=10)
    pv.add_argument("--scan-limit", type=int, default=20_000,
                    help="read at most this many member profiles (then estimate)")
    pv.add_argument("--json", action="store_true", help="print the raw JSON")
    stack_options(pv)
    pv.set_defaults(func=preview_cmd)
    sy = cmds.add_parser("sync", help="upsert campaigns, coupon templates and the program")
    sy.add_argument("directory", nargs="?", default=str(files.CAMPAIGNS_DIR))
    sy.add_argument("--prune", action="store_true",
                    help="delete stored drafts / end stored campaigns that have no file")
    sy.add_argument("--dry-run", action="store_true", help="show what would change")
    sy.add_argument("--stage", dest="target_stage", default=None,
                    help="stack to write (dev = the local stack; 'local' is an alias)")
    stack_options(sy)
    sy.set_defaults(func=sync_cmd)
    sc = cmds.add_parser("schema", help="print, write or check campaigns/schema.json (and "
                         "campaigns/segments/schema.json)")
    mode = sc.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    sc.set_defaults(func=schema_cmd)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 120)


def _print_problems(console: Any, title: str, problems: list[dict[str, str]], style: str
                    ) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("path", style="cyan", no_wrap=True)
    table.add_column("problem", style=style)
    table.add_column("how to fix", style="dim")
    for p in problems:
        table.add_row(escape(p.get("path", "/")), escape(p.get("message", "")),
                      escape(p.get("hint", "")))
    console.print(table)


def _check_files(args: argparse.Namespace, with_lint: bool) -> tuple[list[files.FileResult],
                                                                       Any]:
    from rich.progress import track

    console = _console()
    paths = files.campaign_files(args.files)
    if not paths:
        console.print("[yellow]no campaign files found[/]")
    lookup = draws = None
    if with_lint:
        from chalicelib.domain.campaigns.lint import lint
        from chalicelib.services import clock

        tdir = Path(args.templates) if getattr(args, "templates", None) else \
            files.templates_dir(paths)
        templates = files.load_templates(tdir)
        lookup = templates.get
        draws = files.load_draws(tdir.parent / "draws", clock.now()).get
    results = []
    for path in track(paths, description="checking", console=console, transient=True,
                      disable=len(paths) < 20):
        r = files.read(path)
        if with_lint and r.campaign is not None:
            r.warnings = [*r.warnings, *lint(r.campaign, lookup, draws)]
        results.append(r)
    return results, console


def _report(results: list[files.FileResult], console: Any, with_lint: bool) -> tuple[int, int]:
    from rich.markup import escape

    errors = warnings = 0
    for r in results:
        name = str(r.path)
        if r.errors:
            errors += len(r.errors)
            console.print(f"[bold red]✗[/] {escape(name)}: {len(r.errors)} error(s)")
            _print_problems(console, "", r.errors, "red")
        elif with_lint and r.warnings:
            console.print(f"[bold yellow]![/] {escape(name)}: {len(r.warnings)} warning(s)")
        else:
            console.print(f"[bold green]✓[/] {escape(name)}")
        if with_lint and r.warnings:
            warnings += len(r.warnings)
            _print_problems(console, "", [{**w, "message": f"[{w['code']}] {w['message']}"}
                                          for w in r.warnings], "yellow")
    what = f"{len(results)} file(s): {errors} error(s)" + (
        f", {warnings} warning(s)" if with_lint else "")
    console.print(("[bold red]" if errors else "[bold yellow]" if warnings else "[bold green]")
                  + what + "[/]")
    return errors, warnings


def validate_cmd(args: argparse.Namespace) -> int:
    results, console = _check_files(args, with_lint=False)
    errors, _ = _report(results, console, with_lint=False)
    return 1 if errors or not results else 0


def lint_cmd(args: argparse.Namespace) -> int:
    results, console = _check_files(args, with_lint=True)
    errors, warnings = _report(results, console, with_lint=True)
    if errors or not results:
        return 1
    return 1 if warnings and not args.warn_only else 0




def preview_cmd(args: argparse.Namespace) -> int:
    console = _console()
    r = files.read(Path(args.file))
    if r.errors or r.campaign is None:
        _report([r], console, with_lint=False)
        return 1
    _stage(args)
    from chalicelib.services.campaigns import campaigns

    with console.status(f"reading up to {args.scan_limit:,} members from the stack..."):
        try:
            out = campaigns.preview(r.campaign, at=_at(args.at), samples=args.samples,
                                    scan_limit=args.scan_limit)
        except Exception as e:  # the CLI reports, it does not trace
            console.print(f"[red]preview failed: {e}[/] (is the stack running? `make run`)")
            return 2
    if args.json:
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False, default=str) + "\n")
        return 0
    from chalicelib.cli.campaigns_render import render_preview

    render_preview(console, out)
    return 0


def sync_cmd(args: argparse.Namespace) -> int:
    from chalicelib.cli.campaigns_sync import sync

    console = _console()
    results = [files.read(p) for p in files.campaign_files([args.directory])]
    bad = [r for r in results if r.errors or r.campaign is None]
    if bad:
        _report(bad, console, with_lint=False)
        console.print("[red]nothing synced: fix the errors first[/]")
        return 1
    _stage(args)
    who = f"cli:{getpass.getuser()}"
    return sync(console, Path(args.directory), results, who=who, prune=args.prune,
                dry_run=args.dry_run)


def schema_cmd(args: argparse.Namespace) -> int:
    from chalicelib.cli._shared import generated_file
    from chalicelib.domain.campaigns.schema import schema_text, segment_schema_text

    again = "perks campaigns schema --write"
    rc = generated_file(args, SCHEMA_PATH, schema_text(), again)
    if args.write or args.check:  # the segment files' schema is generated alongside
        rc |= generated_file(args, SEGMENT_SCHEMA_PATH, segment_schema_text(), again)
    return rc

"""`perks campaigns sync DIR [--prune]`: make the stack hold what the files say.

Order: the loyalty program, segments (``segments/*.json``, referenced ones first), coupon
templates (campaigns reference them), then campaigns (which pin their segments' versions).
Each is reported as created / updated / unchanged; ``--prune`` deletes stored draft
campaigns that have no file and ends the other ones (history is kept).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib.cli import campaign_files as files


def _program(directory: Path, who: str, dry_run: bool) -> str | None:
    path = files.program_file(directory)
    if path is None:
        return None
    from chalicelib.domain.loyalty.program import parse_program
    from chalicelib.services.loyalty import program as program_service

    program = parse_program(json.loads(path.read_text(encoding="utf-8")))
    live = program_service.get()
    # canonical forms on both sides: the file may spell defaults out or leave them out
    if live.version and program_service.parse_stored(live.program).document() \
            == program.document():
        return "unchanged"
    if not dry_run:
        program_service.publish(program, who)
    return "created" if not live.version else "updated"


def _template_writer(dry_run: bool) -> Callable[[str, dict[str, Any], str], str] | None:
    """Upsert one coupon template through the coupon service (None when it is absent); a
    dry run asks the service what the upsert would do instead."""
    try:
        from chalicelib.domain.coupons.template import parse_template
        from chalicelib.services.coupons import coupons as coupon_service
        from chalicelib.services.coupons import templates as coupon_templates
    except ImportError:
        return None

    def write(template_id: str, doc: dict[str, Any], who: str) -> str:
        template = parse_template(doc, template_id)
        result = coupon_templates.plan(template_id, template)
        if not dry_run and result != "unchanged":
            coupon_service.put_template(template_id, template, who)
        return result

    return write


def _segments(directory: Path, who: str, dry_run: bool,
              row: Callable[[str, str, str], None]) -> int:
    """Upsert ``directory/*.json`` segments (referenced ones first); the number that failed.
    A dry run reports what would change without storing."""
    from chalicelib.services.campaigns import segments

    failed = 0
    for f in files.load_segments(directory):
        slug = f.path.stem
        if f.errors:
            failed += 1
            row("segment", slug, "failed: " + "; ".join(
                f"{e.get('path')}: {e.get('message')}" for e in f.errors[:3]))
            continue
        try:
            if dry_run:
                before = segments.repo().record(slug)
                result = "created" if before is None else (
                    "unchanged" if before.get("doc") == f.segment.document() else "updated")
            else:
                result = segments.put(slug, f.segment, who)["result"]
        except Exception as e:  # report it and go on with the rest
            failed += 1
            result = f"failed: {getattr(e, 'message', e)}"
        row("segment", slug, result)
    return failed


def sync(console: Any, directory: Path, results: list[files.FileResult], *, who: str,
         prune: bool, dry_run: bool) -> int:
    from rich.progress import Progress
    from rich.table import Table

    from chalicelib.services.campaigns import campaigns

    table = Table(title="sync" + (" (dry run)" if dry_run else ""), title_justify="left")
    for col in ("kind", "id", "result"):
        table.add_column(col)
    counts: Counter[str] = Counter()
    failed = 0

    def row(kind: str, ident: str, result: str) -> None:
        counts[result] += 1
        style = {"created": "green", "updated": "cyan", "unchanged": "dim",
                 "deleted": "magenta", "ended": "magenta"}.get(result, "red")
        table.add_row(kind, ident, f"[{style}]{result}[/]")

    program = _program(directory, who, dry_run)
    if program:
        row("program", "program.json", program)
    failed += _segments(directory / "segments", who, dry_run, row)
    templates = files.load_templates(directory / "coupons")
    writer = _template_writer(dry_run)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("syncing", total=len(templates) + len(results))
        for tid, doc in templates.items():
            if writer is None:
                row("template", tid, "skipped (coupon service unavailable)")
            else:
                try:
                    row("template", tid, writer(tid, dict(doc), who))
                except Exception as e:  # report it and go on with the rest
                    failed += 1
                    row("template", tid, f"failed: {getattr(e, 'message', e)}")
            progress.advance(task)
        for r in results:
            c = r.campaign
            try:
                if dry_run:
                    before = campaigns.repo().current(c.id)
                    result = "created" if before is None else (
                        "unchanged" if before.get("doc") == c.document() else "updated")
                else:
                    result = campaigns.put(c.id, c, who)["result"]
            except Exception as e:  # report it and go on with the rest
                failed += 1
                result = f"failed: {getattr(e, 'message', e)}"
            row("campaign", c.id, result)
            progress.advance(task)
    if prune:
        keep = {r.campaign.id for r in results}
        cursor = None
        while True:
            page = campaigns.page(None, 100, cursor)
            for item in page["items"]:
                cid = item["campaign_id"]
                if cid in keep or item["status"] == "ended":
                    continue
                if item["status"] == "draft":
                    if not dry_run:
                        campaigns.delete(cid, who)
                    row("campaign", cid, "deleted")
                else:
                    if not dry_run:
                        from chalicelib.domain.campaigns.model import Status

                        campaigns.set_status(cid, Status.ended, who)
                    row("campaign", cid, "ended")
            cursor = page["next_cursor"]
            if not cursor:
                break
    console.print(table)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    console.print(("[red]" if failed else "[green]") + summary + "[/]")
    return 1 if failed else 0

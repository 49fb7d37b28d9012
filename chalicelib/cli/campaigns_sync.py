"""`perks campaigns sync DIR [--prune]`: make the stack hold what the files say.

Order: the loyalty program, segments (``segments/*.json``, referenced ones first), coupon
templates (campaigns reference them), then campaigns (which pin their segments' versions).
Each is reported as created / updated / unchanged; ``--prune`` deletes stored draft
campaigns that have no file and ends the other ones (history is kept).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.cli import campaign_files as files

if TYPE_CHECKING:  # rich loads with the command that prints
    from rich.console import Console
    from rich.table import Table


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


TemplateWriter = Callable[[str, dict[str, object], str], str]


def _template_writer(dry_run: bool) -> TemplateWriter | None:
    """Upsert one coupon template through the coupon service (None when it is absent); a
    dry run asks the service what the upsert would do instead."""
    try:
        from chalicelib.domain.coupons.template import parse_template
        from chalicelib.services.coupons import coupons as coupon_service
        from chalicelib.services.coupons import templates as coupon_templates
    except ImportError:
        return None

    def write(template_id: str, doc: dict[str, object], who: str) -> str:
        template = parse_template(doc, template_id)
        result = coupon_templates.plan(template_id, template)
        if not dry_run and result != "unchanged":
            coupon_service.put_template(template_id, template, who)
        return result

    return write


class _Report:
    """The sync table: one row per program, template and campaign, counted by result."""

    STYLES = {"created": "green", "updated": "cyan", "unchanged": "dim", "deleted": "magenta",
              "ended": "magenta"}

    def __init__(self, dry_run: bool) -> None:
        from rich.table import Table

        self.table: Table = Table(title="sync" + (" (dry run)" if dry_run else ""),
                                  title_justify="left")
        for col in ("kind", "id", "result"):
            self.table.add_column(col)
        self.counts: Counter[str] = Counter()
        self.failed = 0

    def row(self, kind: str, ident: str, result: str) -> None:
        self.counts[result] += 1
        self.table.add_row(kind, ident, f"[{self.STYLES.get(result, 'red')}]{result}[/]")

    def failure(self, kind: str, ident: str, e: Exception) -> None:
        self.failed += 1
        self.row(kind, ident, f"failed: {getattr(e, 'message', e)}")


def _sync_templates(report: _Report, templates: Mapping[str, Mapping[str, object]], who: str,
                    dry_run: bool, step: Callable[[], None]) -> None:
    writer = _template_writer(dry_run)
    for tid, doc in templates.items():
        if writer is None:
            report.row("template", tid, "skipped (coupon service unavailable)")
        else:
            try:
                report.row("template", tid, writer(tid, dict(doc), who))
            except Exception as e:  # report it and go on with the rest
                report.failure("template", tid, e)
        step()


def _sync_campaigns(report: _Report, results: list[files.FileResult], who: str,
                    dry_run: bool, step: Callable[[], None]) -> None:
    from chalicelib.services.campaigns import campaigns

    for r in results:
        c = r.campaign
        try:
            if dry_run:
                before = campaigns.repo().current(c.id)
                result = "created" if before is None else (
                    "unchanged" if before.get("doc") == c.document() else "updated")
            else:
                result = str(campaigns.put(c.id, c, who)["result"])
        except Exception as e:  # report it and go on with the rest
            report.failure("campaign", c.id, e)
        else:
            report.row("campaign", c.id, result)
        step()


def _prune(report: _Report, keep: set[str], who: str, dry_run: bool) -> None:
    """Delete stored drafts that have no file and end the other campaigns without one."""
    from chalicelib.domain.campaigns.model import Status
    from chalicelib.services.campaigns import campaigns

    cursor = None
    while True:
        page = campaigns.page(None, 100, cursor)
        for item in page["items"]:
            cid, status = str(item["campaign_id"]), item["status"]
            if cid in keep or status == "ended":
                continue
            if status == "draft":
                if not dry_run:
                    campaigns.delete(cid, who)
                report.row("campaign", cid, "deleted")
            else:
                if not dry_run:
                    campaigns.set_status(cid, Status.ended, who)
                report.row("campaign", cid, "ended")
        cursor = page["next_cursor"]
        if not cursor:
            break


def _segments(directory: Path, who: str, dry_run: bool, report: _Report) -> None:
    """Upsert ``directory/*.json`` segments (referenced ones first), counting failures in
    ``report``. A dry run reports what would change without storing."""
    from chalicelib.services.campaigns import segments

    for f in files.load_segments(directory):
        slug = f.path.stem
        if f.errors:
            report.failed += 1
            report.row("segment", slug, "failed: " + "; ".join(
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
            report.failure("segment", slug, e)
            continue
        report.row("segment", slug, result)


def sync(console: Console, directory: Path, results: list[files.FileResult], *, who: str,
         prune: bool, dry_run: bool) -> int:
    from rich.progress import Progress

    report = _Report(dry_run)
    program = _program(directory, who, dry_run)
    if program:
        report.row("program", "program.json", program)
    _segments(directory / "segments", who, dry_run, report)
    templates = files.load_templates(directory / "coupons")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("syncing", total=len(templates) + len(results))

        def step() -> None:
            progress.advance(task)

        _sync_templates(report, templates, who, dry_run, step)
        _sync_campaigns(report, results, who, dry_run, step)
    if prune:
        _prune(report, {r.campaign.id for r in results}, who, dry_run)
    console.print(report.table)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(report.counts.items()))
    console.print(("[red]" if report.failed else "[green]") + summary + "[/]")
    return 1 if report.failed else 0

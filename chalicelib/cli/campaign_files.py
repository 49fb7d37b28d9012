"""Campaign, coupon-template and program files on disk (the `perks campaigns` commands).

Layout: ``campaigns/*.json`` are campaigns (``schema.json`` and ``*.schema.json`` are schemas,
``program.json`` is the loyalty program), ``campaigns/coupons/*.json`` coupon templates
whose id is ``template_id`` or the file name, ``campaigns/draws/*.json`` lucky draws.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.domain.campaigns.lint import DrawFacts

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGNS_DIR = ROOT / "campaigns"
NOT_CAMPAIGNS = ("schema.json", "program.json")


@dataclass
class FileResult:
    path: Path
    data: Any = None
    campaign: Any = None
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)


def is_campaign_file(path: Path) -> bool:
    return path.suffix == ".json" and path.name not in NOT_CAMPAIGNS and not path.name.endswith(
        ".schema.json")


def campaign_files(paths: Iterable[str]) -> list[Path]:
    """Explicit files as given; directories expand to their campaign files (not recursive)."""
    out: list[Path] = []
    for p in [Path(x) for x in paths] or [CAMPAIGNS_DIR]:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and is_campaign_file(f)))
        else:
            out.append(p)
    return out


def read(path: Path) -> FileResult:
    """Parse and validate one campaign file; file-level rules included."""
    from chalicelib.domain.campaigns.validate import validate_campaign

    result = FileResult(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        result.errors.append({"path": "/", "message": f"cannot read the file: {e}", "hint": ""})
        return result
    try:
        result.data = json.loads(text)
    except ValueError as e:
        result.errors.append({"path": "/", "message": f"not valid JSON: {e}",
                              "hint": "check commas, quotes and brackets near that line"})
        return result
    result.campaign, result.errors = validate_campaign(result.data)
    if isinstance(result.data, dict):
        if next(iter(result.data), None) != "$schema":
            result.errors.append({"path": "/$schema", "message": "a campaign file starts with "
                                  "\"$schema\"", "hint": "make the first line "
                                  "\"$schema\": \"./schema.json\" so editors can help"})
        cid = result.data.get("id")
        if result.campaign is not None and path.stem != cid:
            result.warnings.append({"code": "file-name", "path": "/id", "message":
                                    f"the file is named {path.name} but the id is '{cid}'",
                                    "hint": f"rename the file to {cid}.json"})
    return result


def templates_dir(campaign_paths: Iterable[Path]) -> Path:
    for p in campaign_paths:
        candidate = p.resolve().parent / "coupons"
        if candidate.is_dir():
            return candidate
    return CAMPAIGNS_DIR / "coupons"


def load_templates(directory: Path) -> dict[str, Mapping[str, object]]:
    """Coupon templates by id from ``directory`` (unparseable files are skipped here;
    the coupon commands report them)."""
    out: dict[str, Mapping[str, object]] = {}
    if not directory.is_dir():
        return out
    for f in sorted(directory.glob("*.json")):
        if f.name.endswith("schema.json"):
            continue
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            out[str(doc.get("template_id") or f.stem)] = doc
    return out


def load_draws(directory: Path, now: datetime) -> dict[str, DrawFacts]:
    """Lucky draws by id from ``directory`` for lint (``closed`` as of ``now``); invalid
    files are skipped here, ``perks draws validate`` reports them."""
    from chalicelib.domain.campaigns.lint import DrawFacts
    from chalicelib.domain.engagement.draws import parse_draw
    from chalicelib.errors import ValidationFailed

    out: dict[str, DrawFacts] = {}
    if not directory.is_dir():
        return out
    for f in sorted(directory.glob("*.json")):
        if f.name.endswith("schema.json"):
            continue
        try:
            d = parse_draw(json.loads(f.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationFailed):
            continue
        out[d.id] = DrawFacts(d.id, d.window.closes_at, d.closed_at(now))
    return out


def program_file(directory: Path) -> Path | None:
    p = directory / "program.json"
    return p if p.is_file() else None


@dataclass
class SegmentFile:
    path: Path
    segment: Any = None
    errors: list[dict[str, str]] = field(default_factory=list)


def load_segments(directory: Path) -> list[SegmentFile]:
    """``directory/*.json`` (not schema.json) as segments, each file named ``<slug>.json``,
    ordered so that a segment comes after the segments it references."""
    from chalicelib.domain.campaigns.segments import parse_segment
    from chalicelib.errors import PerksError

    out: list[SegmentFile] = []
    if not directory.is_dir():
        return out
    for f in sorted(directory.glob("*.json")):
        if f.name.endswith("schema.json"):
            continue
        result = SegmentFile(f)
        try:
            result.segment = parse_segment(json.loads(f.read_text(encoding="utf-8")), f.stem)
        except PerksError as e:
            result.errors = list(getattr(e, "details", None) or [{"path": "/",
                                                                  "message": str(e)}])
        except (OSError, ValueError) as e:
            result.errors = [{"path": "/", "message": f"cannot read the file: {e}"}]
        out.append(result)
    return _dependency_order(out)


def _dependency_order(files: list[SegmentFile]) -> list[SegmentFile]:
    from chalicelib.domain.campaigns.segments import references

    by_slug = {f.path.stem: f for f in files}
    done: list[SegmentFile] = []
    seen: set[str] = set()

    def visit(slug: str) -> None:
        if slug in seen or slug not in by_slug:
            return
        seen.add(slug)  # a cycle stops here; the service reports it when storing
        f = by_slug[slug]
        for ref in sorted(references(f.segment.audience) if f.segment else ()):
            visit(ref)
        done.append(f)

    for slug in sorted(by_slug):
        visit(slug)
    return done

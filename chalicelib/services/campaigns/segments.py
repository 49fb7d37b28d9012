"""Segment use cases: store versions (audited), list, get, delete when unused, resolve the
segment references of an audience, size estimates and their weekly trend."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.campaigns.segments import SegmentRepository
from chalicelib.domain.campaigns import segments as seg
from chalicelib.domain.campaigns.diff import diff
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps


def repo() -> SegmentRepository:
    return deps().segments


def resolve_audience(tree: Any) -> Any:
    """``tree`` with every segment reference pinned (current version, nested ones too)."""
    if not seg.references(tree):
        return tree
    return seg.resolve(tree, repo().current, repo().slugs)


def put(slug: str, segment: seg.Segment, who: str) -> dict[str, Any]:
    """Store a new version (or nothing when unchanged); references are checked (unknown
    slugs, cycles) against the stored segments."""
    if segment.slug != slug:
        raise ValidationFailed("the segment slug does not match the URL", details=[
            {"path": "/slug", "message": f"must be '{slug}'",
             "hint": "slugs are fixed once created; copy the segment to rename it"}])
    seg.resolve(segment.audience, repo().current, repo().slugs, within=slug)
    before = repo().record(slug)
    doc = segment.document()
    if before is not None and before.get("doc") == doc:
        return {**before, "result": "unchanged"}
    version = (int(before["version"]) + 1) if before else 1
    changes = diff(before.get("doc") if before else {}, doc)
    out = repo().save(segment, version, who, clock.iso(), before, changes)
    metrics_add("SegmentSaved")
    return {**out, "doc": doc, "result": "updated" if before else "created"}


def get(slug: str, version: int | None = None) -> dict[str, Any]:
    """The live segment with its versions and size trend, or one past version."""
    item = repo().record(slug, version)
    if item is None:
        what = f"segment {slug}" + (f" version {version}" if version else "")
        raise NotFound(f"{what} not found")
    if version is None:
        item["versions"] = repo().versions(slug)
        item["sizes"] = repo().sizes(slug)
    return item


def page(limit: int, cursor: str | None) -> dict[str, Any]:
    items, nxt = repo().page(limit, cursor)
    return {"items": items, "next_cursor": nxt}


def users(slug: str) -> list[str]:
    """Campaigns and segments whose definition references ``slug`` (an admin-path read of
    both catalogs by key, page by page; no Scan)."""
    found: list[str] = []
    cursor: str | None = None
    while True:
        items, cursor = deps().campaigns.page(limit=100, cursor=cursor)
        found += [f"campaign:{i['campaign_id']}" for i in items
                  if slug in seg.pins((i.get("doc") or {}).get("audience"))
                  and i.get("status") != "ended"]
        if not cursor:
            break
    while True:
        recs, cursor = repo().page(100, cursor)
        found += [f"segment:{r['slug']}" for r in recs
                  if slug in seg.references((r.get("doc") or {}).get("audience"))]
        if not cursor:
            break
    return found


def delete(slug: str, who: str) -> None:
    """Delete a segment no campaign (other than ended ones) or segment references."""
    before = repo().record(slug)
    if before is None:
        raise NotFound(f"segment {slug} not found")
    used = users(slug)
    if used:
        raise Conflict(f"segment {slug} is in use", details=[
            {"path": "/", "message": f"referenced by {u}"} for u in used[:20]])
    repo().delete(slug, int(before["version"]), who, clock.iso())
    metrics_add("SegmentDeleted")


# --- size: an estimate now, and the weekly snapshots behind the trend --------------------

def estimate_size(slug: str) -> dict[str, Any]:
    """The segment's size now, estimated like a campaign preview: a uniform sample of at
    most ``SAMPLE_MEMBERS`` members from the bounded member-index read (no Scan), with its
    margin; plus the weekly trend the scheduled job stored."""
    current = repo().current(slug)
    if current is None:
        raise NotFound(f"segment {slug} not found")
    return {"slug": slug, "version": current.version, "at": clock.iso(),
            **_estimate(current), "trend": repo().sizes(slug)}


def _estimate(segment: seg.Segment) -> dict[str, Any]:
    from chalicelib.domain.campaigns.audience import compile_audience
    from chalicelib.domain.campaigns.profile import audience_profile
    from chalicelib.domain.campaigns.sampling import estimate
    from chalicelib.services.campaigns.preview import SAMPLE_MEMBERS, sample_members

    match = compile_audience(seg.resolve(segment.audience, repo().current, repo().slugs))
    today = clock.now().date()
    sampled, rate = sample_members(SAMPLE_MEMBERS)
    hits = sum(1 for p, lo in sampled if match(audience_profile(p, lo, today=today)))
    return dict(estimate(hits, len(sampled), rate))


def iso_week(at: Any) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def snapshot_sizes() -> dict[str, int]:
    """The scheduled job: this week's size estimate of every segment, one item each
    (SEGMENT#<slug> / SIZE#<week>; a rerun the same week overwrites it)."""
    week = iso_week(clock.now())
    done = failed = 0
    cursor: str | None = None
    while True:
        recs, cursor = repo().page(100, cursor)
        for r in recs:
            try:
                current = repo().current(str(r["slug"]))
                if current is None:
                    continue
                size = _estimate(current)
                repo().put_size(current.slug, week, {
                    "version": current.version, "at": clock.iso(),
                    **{k: size[k] for k in ("size", "margin", "exact") if k in size}})
                done += 1
            except Exception:  # one broken segment must not stop the others' trend
                failed += 1
        if not cursor:
            break
    metrics_add("SegmentSizesStored", done)
    return {"segments": done, "failed": failed}

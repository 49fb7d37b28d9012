"""Admin API for segments (marketer, admin): named, versioned audiences campaigns reference."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import documents as doc
from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.campaigns.segments import Segment, parse_segment
from chalicelib.domain.models import Out
from chalicelib.services.campaigns import segments

bp = Blueprint(__name__)
api = Api(bp)
MARKETING = (Role.marketer, Role.admin)


class SegmentBody(Segment):
    """A segment document; errors carry JSON paths and hints (like campaigns)."""

    @classmethod
    def model_validate_json(cls, json_data: Any, **_: Any) -> Segment:  # type: ignore[override]
        return doc.parse_json_body(json_data, parse_segment)


class SegmentRecord(Out):
    slug: str
    version: int
    doc: dict[str, Any]
    title_zh: str | None = None
    owner: str | None = None
    created_at: str | None = None
    created_by: str | None = None
    updated_at: str | None = None
    updated_by: str | None = None
    result: str | None = None
    versions: list[dict[str, Any]] | None = None
    sizes: list[dict[str, Any]] | None = None


class SegmentPage(Out):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class SegmentSize(Out):
    slug: str
    version: int | None = None
    at: str
    size: int
    exact: bool
    margin: int | None = None
    low: int | None = None
    high: int | None = None
    profiles_read: int | None = None
    trend: list[dict[str, Any]] = []


@api.route("PUT", "/admin/segments/{slug}", roles=MARKETING, body=SegmentBody,
           response=SegmentRecord, errors=(400, 409))
def put_segment(ctx: Ctx, slug: str, body: Segment) -> dict[str, Any]:
    """Create or update a segment: a new version, audited; unknown or cyclic segment
    references are 400 with a did-you-mean."""
    return segments.put(slug, body, ctx.sub)


@api.route("GET", "/admin/segments", roles=MARKETING, response=SegmentPage,
           query=doc.page_query(), errors=(400,))
def list_segments(ctx: Ctx) -> dict[str, Any]:
    """List segments by key (the segment catalog)."""
    return segments.page(*doc.page_args(ctx))


@api.route("GET", "/admin/segments/{slug}", roles=MARKETING, response=SegmentRecord,
           query=doc.version_query(),
           errors=(400, 404))
def get_segment(ctx: Ctx, slug: str) -> dict[str, Any]:
    """The live segment with its versions and weekly sizes, or one past version."""
    return segments.get(slug, doc.version_arg(ctx))


@api.route("POST", "/admin/segments/{slug}/size", roles=MARKETING, response=SegmentSize,
           errors=(404,))
def segment_size(ctx: Ctx, slug: str) -> dict[str, Any]:
    """Estimate the segment's size now (a bounded sample, as campaign previews do) with the
    weekly trend."""
    return segments.estimate_size(slug)


@api.route("DELETE", "/admin/segments/{slug}", roles=MARKETING, status=204,
           errors=(404, 409))
def delete_segment(ctx: Ctx, slug: str) -> None:
    """Delete a segment no campaign or segment references (409 lists who uses it)."""
    segments.delete(slug, ctx.sub)

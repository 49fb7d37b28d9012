"""Admin API for reviewing a campaign in the console: the background exact count of a
preview, the version history and rollback (marketer, admin)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.auth import Role
from chalicelib.api.campaigns import CampaignRecord
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.models import Out, Strict
from chalicelib.services.campaigns import campaigns
from chalicelib.services.campaigns import preview as campaign_preview

bp = Blueprint(__name__)
api = Api(bp)
MARKETING = (Role.marketer, Role.admin)


class PreviewJobOut(Out):
    campaign_id: str
    job_id: str
    status: str
    estimate: dict[str, Any]
    audience: dict[str, Any] | None = None
    created_at: str | None = None
    finished_at: str | None = None


class VersionList(Out):
    campaign_id: str
    current: int
    items: list[dict[str, Any]]


class Rollback(Strict):
    """Body of POST /admin/campaigns/{id}/rollback: the version whose definition comes back,
    and (optionally) the live version it is based on (409 if it moved meanwhile)."""

    version: Annotated[int, Field(ge=1, le=10**6)]
    expected_version: Annotated[int, Field(ge=1, le=10**6)] | None = None


@api.route("GET", "/admin/campaigns/{campaign_id}/preview/{job_id}", roles=MARKETING,
           response=PreviewJobOut, errors=(404,))
def preview_job(ctx: Ctx, campaign_id: str, job_id: str) -> Mapping[str, object]:
    """A preview's exact audience count: pending until the background count is done."""
    return campaign_preview.job_status(campaign_id, job_id)


@api.route("GET", "/admin/campaigns/{campaign_id}/versions", roles=MARKETING,
           response=VersionList, errors=(404,))
def list_versions(ctx: Ctx, campaign_id: str) -> Mapping[str, object]:
    """Every stored version, newest first (read one with GET ...?version=n)."""
    return campaigns.versions(campaign_id)


@api.route("POST", "/admin/campaigns/{campaign_id}/rollback", roles=MARKETING, body=Rollback,
           response=CampaignRecord, errors=(400, 404, 409))
def rollback(ctx: Ctx, campaign_id: str, body: Rollback) -> Mapping[str, object]:
    """Store a NEW version whose definition equals an old one (status unchanged; audited)."""
    return campaigns.rollback(campaign_id, body.version, ctx.sub, body.expected_version)

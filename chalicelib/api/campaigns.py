"""Admin API for campaigns (marketer, admin) and the marketer audit log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from chalice import Blueprint
from pydantic import AwareDatetime, Field

from chalicelib.api import documents as doc
from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.campaigns.model import Campaign, Status
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.domain.models import Out, Strict
from chalicelib.errors import ValidationFailed
from chalicelib.services.campaigns import campaigns

bp = Blueprint(__name__)
api = Api(bp)
MARKETING = (Role.marketer, Role.admin)


class CampaignBody(Campaign):
    """A campaign document; errors carry JSON paths and hints (see README)."""

    @classmethod
    def model_validate_json(cls, json_data: Any, **_: Any) -> Campaign:  # type: ignore[override]
        return parse_campaign(json_data)


class CampaignDraft(Campaign):
    """A campaign document as typed in the editor: checked, never stored (any JSON value)."""

    @classmethod
    def model_validate_json(cls, json_data: Any, **_: Any) -> Any:
        # The editor sends whatever the marketer typed; the service reports every problem
        # with its path and hint (a pydantic 400 here would stop at malformed JSON).
        return json_data


class ValidationReport(Out):
    valid: bool
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


class StatusChange(Strict):
    """Body of POST /admin/campaigns/{id}/status."""

    status: Status


class PreviewRequest(Strict):
    """Body of POST /admin/campaigns/{id}/preview; ``campaign`` previews an unsaved edit."""

    at: AwareDatetime | None = None
    samples: Annotated[int, Field(ge=0, le=50)] = 10
    scan_limit: Annotated[int, Field(ge=1, le=campaigns.MAX_SCAN_LIMIT)] = \
        campaigns.DEFAULT_SCAN_LIMIT
    campaign: dict[str, Any] | None = None


class CampaignRecord(Out):
    campaign_id: str
    version: int
    status: str
    name: str
    created_at: str | None = None
    created_by: str | None = None
    updated_at: str | None = None
    updated_by: str | None = None
    campaign: dict[str, Any]
    result: str | None = None
    warnings: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] | None = None


class CampaignPage(Out):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class AuditPage(Out):
    month: str
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class PreviewOut(Out):
    campaign_id: str
    at: str
    status: str
    audience: dict[str, Any]
    samples: list[dict[str, Any]]
    occurrences: dict[str, Any]
    timezones: list[dict[str, Any]] = []  # the audience sample's largest timezones (share)
    projection: dict[str, Any]
    warnings: list[dict[str, Any]]


@api.route("PUT", "/admin/campaigns/{campaign_id}", roles=MARKETING, body=CampaignBody,
           response=CampaignRecord, errors=(400, 409))
def put_campaign(ctx: Ctx, campaign_id: str, body: Campaign) -> Mapping[str, object]:
    """Create or update a campaign: a new version; history and audit are kept."""
    return campaigns.put(campaign_id, body, ctx.sub)


@api.route("GET", "/admin/campaigns", roles=MARKETING, response=CampaignPage,
           query={"status": {"schema": {"enum": [s.value for s in Status]},
                             "description": "only campaigns in this status (GSI2)"},
                  **doc.page_query(),
                  "activity": {"schema": {"enum": ["true", "false"]}, "description":
                               "add next_occurrence, budget_used and the 7-day sparkline"}},
           errors=(400,))
def list_campaigns(ctx: Ctx) -> Mapping[str, object]:
    """List campaigns by key (every campaign, or one status)."""
    return campaigns.page(ctx.query.get("status"), *doc.page_args(ctx),
                          ctx.query.get("activity") == "true")


@api.route("GET", "/admin/campaigns/{campaign_id}", roles=MARKETING, response=CampaignRecord,
           query=doc.version_query(),
           errors=(400, 404))
def get_campaign(ctx: Ctx, campaign_id: str) -> Mapping[str, object]:
    """The live campaign with its version list, or one past version."""
    return campaigns.get(campaign_id, doc.version_arg(ctx))


@api.route("POST", "/admin/campaigns/{campaign_id}/status", roles=MARKETING, body=StatusChange,
           response=CampaignRecord, errors=(400, 404, 409))
def change_status(ctx: Ctx, campaign_id: str, body: StatusChange) -> Mapping[str, object]:
    """Activate, pause or end a campaign (draft → active → paused/ended)."""
    return campaigns.set_status(campaign_id, body.status, ctx.sub)


@api.route("POST", "/admin/campaigns/{campaign_id}/validate", roles=MARKETING,
           body=CampaignDraft, response=ValidationReport, errors=(400,))
def validate_campaign(ctx: Ctx, campaign_id: str, body: Any) -> Mapping[str, object]:
    """Validate and lint a campaign without saving it: errors and warnings with JSON paths."""
    return campaigns.check(campaign_id, body)


@api.route("POST", "/admin/campaigns/{campaign_id}/preview", roles=MARKETING,
           body=PreviewRequest, response=PreviewOut, errors=(400, 404, 429))
def preview_campaign(ctx: Ctx, campaign_id: str, body: PreviewRequest) -> Mapping[str, object]:
    """Audience size, sample members, next fires and projected cost against the budget;
    429 (Retry-After) when the campaign already has 3 exact counts open."""
    kw: dict[str, Any] = {"at": body.at, "samples": body.samples, "scan_limit": body.scan_limit}
    if body.campaign is not None:
        c = parse_campaign(body.campaign)
        if c.id != campaign_id:
            raise ValidationFailed("the campaign id does not match the URL", details=[
                {"path": "/campaign/id", "message": f"must be '{campaign_id}'"}])
        return campaigns.preview(c, **kw)
    return campaigns.stored_preview(campaign_id, **kw)


@api.route("DELETE", "/admin/campaigns/{campaign_id}", roles=MARKETING, status=204,
           errors=(404, 409))
def delete_campaign(ctx: Ctx, campaign_id: str) -> None:
    """Delete a draft campaign and its history (other statuses: end it instead)."""
    campaigns.delete(campaign_id, ctx.sub)


@api.route("GET", "/admin/audit", roles=MARKETING, response=AuditPage,
           query={"month": {"schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
                            "description": "YYYY-MM (default: this month)"}, **doc.page_query(),
                  "entity_id": "only changes to this campaign"}, errors=(400,))
def audit_log(ctx: Ctx) -> Mapping[str, object]:
    """Who changed which campaign, when, and what changed (newest first)."""
    return campaigns.audit(ctx.query.get("month"), doc.query_int(ctx, "limit", 50, 1, 100) or 50,
                           ctx.query.get("cursor"), ctx.query.get("entity_id"))

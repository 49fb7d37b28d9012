"""Campaign results (marketer, admin): daily counters, variants, lift with its 95 %
interval and verdict, and the CSV export."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice import Blueprint, Response
from pydantic import Field

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.models import Out

bp = Blueprint(__name__)
api = Api(bp)
MARKETING = (Role.marketer, Role.admin)
RANGE = {"from": {"schema": {"type": "string", "format": "date"},
                  "description": "first day, campaign timezone (default: 29 days before to)"},
         "to": {"schema": {"type": "string", "format": "date"},
                "description": "last day, campaign timezone (default: today); <= 366 days"}}


class CampaignResults(Out):
    """Days are calendar days in the campaign's timezone; money in fen."""

    campaign_id: str
    name: str
    timezone: str
    holdout_percent: float
    from_: str = Field(alias="from")
    to: str
    days: list[dict[str, Any]]
    totals: dict[str, int]
    suppressed: dict[str, int]
    sent: dict[str, int]
    variants: list[dict[str, Any]]
    holdout: dict[str, Any]
    lift: dict[str, Any]
    budget_used: dict[str, int]


@api.route("GET", "/admin/campaigns/{campaign_id}/results", roles=MARKETING,
           response=CampaignResults, query=RANGE, errors=(400, 404))
def campaign_results(ctx: Ctx, campaign_id: str) -> Mapping[str, object]:
    """Per day and in total: targeted, delivered, suppressed by reason, sent per channel,
    coupons issued and redeemed, points, cost; per variant; lift over the holdout (95 % CI,
    verdict in zh and en). One key Query for the range, never a Scan."""
    from chalicelib.services.campaigns import results as svc

    return svc.results(campaign_id, ctx.query.get("from"), ctx.query.get("to"))


@api.route("GET", "/admin/campaigns/{campaign_id}/results/csv", roles=MARKETING,
           query=RANGE, errors=(400, 404), content_type="text/csv")
def campaign_results_csv(ctx: Ctx, campaign_id: str) -> Response:
    """The daily counters as a CSV download (counters only, no member data)."""
    from chalicelib.services.campaigns import results as svc

    name, text = svc.results_csv(campaign_id, ctx.query.get("from"), ctx.query.get("to"))
    return Response(body=text, status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"'})

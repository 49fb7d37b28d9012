"""Campaign results (marketer, admin): daily counters, variants, lift with its 95 %
interval and verdict, per-arm intervals and the sample-ratio-mismatch check, and the CSV
export."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

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


class ArmConversion(Out):
    """Converters / members with its 95 % Wilson score interval."""

    rate: float | None
    ci_low: float | None
    ci_high: float | None


class ArmRevenue(Out):
    """Attributed revenue per member in fen (whole fen, bounds rounded outwards) with its
    95 % normal-approximation interval; ``status``: ok, insufficient (under 2 members) or
    unavailable (orders credited before the spread counters: ``note_zh``/``note_en``)."""

    mean: int | None
    ci_low: int | None
    ci_high: int | None
    status: Literal["ok", "insufficient", "unavailable"]
    note_zh: str | None = None
    note_en: str | None = None


class ArmResult(Out):
    """One arm: a variant, the whole treated group (no variants) or the holdout. Members
    are assignments (intent to treat); ``vs_holdout`` (null for the holdout itself) holds
    ``conversion`` (lift in rate points, Newcombe interval, verdict) and
    ``revenue_per_member`` (difference in fen, Welch interval, verdict)."""

    arm: str
    kind: Literal["variant", "treated", "holdout"]
    members: int
    assigned: int
    converters: int
    orders: int
    revenue: int
    share: float | None
    expected_share: float | None
    conversion: ArmConversion
    revenue_per_member: ArmRevenue
    vs_holdout: dict[str, Any] | None


class SrmArm(Out):
    arm: str
    kind: Literal["variant", "treated", "holdout"]
    observed: int
    expected: float | None
    expected_share: float


class SrmCheck(Out):
    """Sample ratio mismatch: chi-square goodness of fit of the assigned counts against the
    configured split (variant weights and holdout share); ``flagged`` when p < 0.001.
    ``status``: ok, mismatch, insufficient, not_applicable, legacy or split_changed."""

    status: str
    flagged: bool
    chi2: float | None
    df: int | None
    p_value: float | None
    threshold: float
    arms: list[SrmArm]
    message_zh: str
    message_en: str


class CampaignResults(Out):
    """Days are calendar days in the campaign's timezone; money in fen. ``unsubscribed`` (in
    ``days``, ``totals`` and ``variants``): members who withdrew consent through one of the
    campaign's messages (one-click unsubscribe, SES complaint or permanent bounce), counted
    once, on the day of the withdrawal."""

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
    arms: list[ArmResult] = []
    srm: SrmCheck | None = None


@api.route("GET", "/admin/campaigns/{campaign_id}/results", roles=MARKETING,
           response=CampaignResults, query=RANGE, errors=(400, 404))
def campaign_results(ctx: Ctx, campaign_id: str) -> Mapping[str, object]:
    """Per day and in total: targeted, delivered, suppressed by reason, sent per channel,
    coupons issued and redeemed, points, cost, unsubscribes; per variant; lift over the
    holdout (95 % CI, verdict in zh and en); per arm conversion and revenue per member with
    95 % intervals and the difference to the holdout; the SRM check of the split. One key
    Query, never a Scan."""
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

"""Loyalty: points, history, tier and rewards (member); program and adjustments (admin)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.loyalty.program import Program
from chalicelib.domain.loyalty.views import (
    AdjustmentResult,
    HistoryPage,
    PointsAdjustment,
    PointsView,
    ProgramHistory,
    ProgramVersion,
    Redemption,
    RewardCatalog,
    TierView,
)
from chalicelib.errors import ValidationFailed
from chalicelib.services.loyalty import loyalty
from chalicelib.services.loyalty import program as programs

bp = Blueprint(__name__)
api = Api(bp)
MARKETING = (Role.marketer, Role.admin)
EVERYONE = (Role.member, Role.service, Role.marketer, Role.admin)


def _int(ctx: Ctx, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ValidationFailed(f"{name} must be an integer from {lo} to {hi}",
                               details=[{"path": f"/query/{name}", "message": f"{lo}-{hi}"}])
    return int(raw)


@api.route("GET", "/me/points", roles=(Role.member,), response=PointsView)
def my_points(ctx: Ctx) -> PointsView:
    """Available and pending points, lifetime earned, and the next expiries."""
    return loyalty.points(ctx.sub)


@api.route("GET", "/me/points/history", roles=(Role.member,), response=HistoryPage,
           query={"limit": "1-100 (20)", "cursor": "next_cursor of the previous page"},
           errors=(400,))
def my_points_history(ctx: Ctx) -> HistoryPage:
    """The points ledger, newest first."""
    return loyalty.history(ctx.sub, _int(ctx, "limit", 20, 1, 100) or 20,
                           ctx.query.get("cursor") or None)


@api.route("GET", "/me/tier", roles=(Role.member,), response=TierView)
def my_tier(ctx: Ctx) -> TierView:
    """Tier, review date, rolling-window totals, what the next tier needs, and benefits."""
    return loyalty.tier(ctx.sub)


@api.route("GET", "/rewards", roles=EVERYONE, response=RewardCatalog)
def list_rewards(ctx: Ctx) -> RewardCatalog:
    """The rewards catalogue with remaining stock."""
    return RewardCatalog(rewards=loyalty.rewards())


@api.route("POST", "/me/rewards/{reward_id}/redeem", roles=(Role.member,), response=Redemption,
           status=201, errors=(404, 409, 422))
def redeem_reward(ctx: Ctx, reward_id: str) -> Redemption:
    """Spend points on a reward: a coupon in the wallet, or a gift to fulfil."""
    return loyalty.redeem(ctx.sub, reward_id, ctx.request_key)


@api.route("GET", "/admin/program", roles=MARKETING, response=ProgramVersion,
           query={"version": "a published version (default: the live one)"}, errors=(400, 404))
def get_program(ctx: Ctx) -> ProgramVersion:
    """The live loyalty program, or a past version."""
    return programs.get(_int(ctx, "version", None, 1, 10**6))


@api.route("GET", "/admin/program/versions", roles=MARKETING, response=ProgramHistory)
def program_versions(ctx: Ctx) -> ProgramHistory:
    """Published program versions, newest first."""
    return ProgramHistory(versions=programs.history())


@api.route("PUT", "/admin/program", roles=MARKETING, body=Program, response=ProgramVersion,
           errors=(400, 409, 422))
def put_program(ctx: Ctx, body: Program) -> ProgramVersion:
    """Publish a new program version; it applies from now on, history is kept."""
    return programs.publish(body, ctx.sub)


@api.route("POST", "/admin/members/{member_id}/points", roles=(Role.admin,),
           body=PointsAdjustment, response=AdjustmentResult, status=201,
           errors=(400, 404, 409, 422))
def adjust_points(ctx: Ctx, member_id: str, body: PointsAdjustment) -> AdjustmentResult:
    """Goodwill or correction: credit or debit points, audited (who, when, why)."""
    return loyalty.adjust(member_id, body.delta, body.reason, ctx.sub, ctx.request_key)

"""Referrals (老带新): the member's code and referees, the service's sign-up, marketer stats."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.engagement.referral_views import (
    RefereeView,
    ReferralSignup,
    ReferralStats,
    ReferralView,
    SignupResult,
)
from chalicelib.errors import ValidationFailed
from chalicelib.services.engagement import referral_rewards, referrals

bp = Blueprint(__name__)
api = Api(bp)


@api.route("GET", "/me/referral", roles=(Role.member,), response=ReferralView, errors=(404,))
def my_referral(ctx: Ctx) -> ReferralView:
    """My referral code, share link and counts (the code is issued on first call)."""
    return referrals.my_referral(ctx.sub)


@api.route("GET", "/me/referrals", roles=(Role.member,), response=list[RefereeView],
           query={"limit": "1-100 (50)"}, errors=(400,))
def my_referees(ctx: Ctx) -> list[RefereeView]:
    """The members I referred: masked id and name, state, rejection reason."""
    return referrals.my_referees(ctx.sub, _limit(ctx))


@api.route("POST", "/referrals/signups", roles=(Role.service, Role.admin), body=ReferralSignup,
           response=SignupResult, errors=(400, 404, 409))
def referral_signup(ctx: Ctx, body: ReferralSignup) -> SignupResult:
    """A new member signed up with a referral code: counted, or rejected with a reason."""
    return referrals.signup(body, ctx.request_key)


@api.route("GET", "/admin/referrals/stats", roles=(Role.marketer, Role.admin),
           response=ReferralStats)
def referral_stats(ctx: Ctx) -> ReferralStats:
    """Invites, sign-ups, qualified, rejections by reason, cost per qualified referee."""
    return referral_rewards.stats()


def _limit(ctx: Ctx) -> int:
    raw = ctx.query.get("limit") or "50"
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise ValidationFailed("limit must be 1-100", details=[
            {"path": "/query/limit", "message": "an integer from 1 to 100"}])
    return int(raw)

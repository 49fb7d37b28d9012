"""Referral request bodies and responses (no referee PII: masked id and name only)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from chalicelib.domain.engagement.referrals import CODE_RE
from chalicelib.domain.members.model import MEMBER_ID_RE
from chalicelib.domain.models import Out, Strict


class ReferralSignup(Strict):
    """Body of POST /referrals/signups (service, admin): a new member signed up with a code."""

    member_id: Annotated[str, StringConstraints(pattern=MEMBER_ID_RE)]
    referral_code: Annotated[str, StringConstraints(pattern=CODE_RE)]
    device_token: Annotated[str, StringConstraints(min_length=8, max_length=4096)] | None = \
        Field(None, description="the push token of the device signing up (compared by its "
              "keyed hash with the referrer's devices; never stored)")


class SignupResult(Out):
    """The sign-up's outcome: ``signed_up`` (counted) or ``rejected`` with ``reason``."""

    referee_id: str
    referrer_id: str | None = None
    code: str | None = None
    state: str
    reason: str | None = None
    signed_up_at: str | None = None


class ReferralView(Out):
    """GET /me/referral: the member's code, share link and counts."""

    COUNTS: ClassVar[tuple[str, ...]] = ("signups", "qualified", "rewarded", "reversed",
                                         "rejected")
    code: str
    link: str | None = None
    enabled: bool = False
    signups: int = 0
    qualified: int = 0
    rewarded: int = 0
    reversed: int = 0
    rejected: int = 0


class RefereeView(Out):
    """One of the member's referees as they see it: masked, with the state and why."""

    referee: str = Field(validation_alias="referee_masked")
    name: str | None = Field(None, validation_alias="referee_name")
    state: str
    reason: str | None = None
    signed_up_at: str | None = None
    due_at: str | None = None
    rewarded_at: str | None = None
    reversed_at: str | None = None


class ReferralStats(Out):
    """GET /admin/referrals/stats: the funnel, rejections by reason, cost per qualified."""

    invites: int = 0
    signups: int = 0
    qualified: int = 0
    rewarded: int = 0
    reversed: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = {}
    cost_points: int = 0
    cost_coupon_minor: int = 0
    cost_per_qualified_points: int | None = None
    cost_per_qualified_coupon_minor: int | None = None

"""Referrals (老带新): the program's ``referrals`` section and the pure rules.

A member's referral code is short and unambiguous (no 0/O/1/I/L); a new member signs up
with it through the service API. The rules below decide, from facts the service read, whether
the sign-up counts or why not (a reason code), when its first order's refund window ends and
what the referral costs. No I/O and no clock: every instant is passed in.

States (every transition is a conditional write):

    signed_up → pending (first order placed; refund window running)
              → qualified (window passed, order not fully refunded) → rewarded
    pending   → reversed (the first order was fully refunded within the window)
    rejected (at sign-up, with a reason; terminal)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from chalicelib.domain.models import Strict

# Crockford-like: no 0/O, 1/I/L, no U (no accidental words); 8 characters ≈ 1.1e12 codes.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
CODE_RE = rf"^[{ALPHABET}{ALPHABET.lower()}]{{6,12}}$"  # case-insensitive input

TemplateId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]


class Reason(StrEnum):
    """Why a sign-up with a code does not count (stored with the rejection)."""

    DISABLED = "DISABLED"
    UNKNOWN_CODE = "UNKNOWN_CODE"
    SELF_REFERRAL = "SELF_REFERRAL"
    NOT_NEW_MEMBER = "NOT_NEW_MEMBER"
    REFERRER_CAP = "REFERRER_CAP"


class State(StrEnum):
    signed_up = "signed_up"
    pending = "pending"
    qualified = "qualified"
    rewarded = "rewarded"
    reversed = "reversed"
    rejected = "rejected"


# States a referral waits in on the due index (the job picks them up when due).
DUE_STATES = (State.pending, State.qualified)


class RewardSpec(Strict):
    """What one side gets: points, a coupon, or both (at least one)."""

    points: int = Field(0, ge=0, le=1_000_000, description="points credited now")
    coupon_template_id: TemplateId | None = Field(None, description="a coupon issued now")

    @model_validator(mode="after")
    def _something(self) -> RewardSpec:
        if not self.points and not self.coupon_template_id:
            raise ValueError("a reward needs points and/or coupon_template_id")
        return self


class Referrals(Strict):
    """campaigns/program.json ``referrals``: 老带新 rewards, window, cap and switch."""

    enabled: bool = Field(True, description="false: sign-ups with a code are rejected "
                          "(DISABLED); referrals already running still finish")
    share_url: Annotated[str, StringConstraints(pattern=r"^https://\S+$", max_length=200)] = \
        Field("https://m.perks.example/r/{code}",
              description="the share link; {code} is replaced by the member's code")
    referrer_reward: RewardSpec = Field(description="for the member who invited")
    referee_reward: RewardSpec = Field(description="for the new member")
    refund_window_days: int = Field(7, ge=0, le=90, description="days after the referee's "
                                    "first order before both rewards are given")
    monthly_cap: int = Field(20, ge=1, le=10_000, description="accepted sign-ups per "
                             "referrer per referrer-local calendar month")
    new_member_hours: int = Field(72, ge=1, le=24 * 30, description="a referee must have "
                                  "signed up this recently and have no orders")

    def link(self, code: str) -> str:
        return self.share_url.replace("{code}", code)


@dataclass(frozen=True)
class SignupFacts:
    """What the service read about both members for one sign-up (hashes, never phones)."""

    referee_id: str
    referrer_id: str | None          # None: the code is unknown
    referee_signup_at: datetime | None
    referee_orders: int
    referee_devices: frozenset[str] = frozenset()
    referrer_devices: frozenset[str] = frozenset()
    referee_phone_hash: str | None = None
    referrer_phone_hash: str | None = None
    referrer_month_count: int = 0


def check_signup(cfg: Referrals | None, f: SignupFacts, now: datetime) -> Reason | None:
    """The first rule a sign-up breaks, in a fixed order, or None when it counts."""
    if cfg is None or not cfg.enabled:
        return Reason.DISABLED
    if f.referrer_id is None:
        return Reason.UNKNOWN_CODE
    if is_self_referral(f):
        return Reason.SELF_REFERRAL
    if not is_new_member(cfg, f, now):
        return Reason.NOT_NEW_MEMBER
    if f.referrer_month_count >= cfg.monthly_cap:
        return Reason.REFERRER_CAP
    return None


def is_self_referral(f: SignupFacts) -> bool:
    """Same member, a shared device, or the same phone (by its keyed hash)."""
    if f.referrer_id == f.referee_id:
        return True
    if f.referee_devices & f.referrer_devices:
        return True
    return bool(f.referee_phone_hash and f.referee_phone_hash == f.referrer_phone_hash)


def is_new_member(cfg: Referrals, f: SignupFacts, now: datetime) -> bool:
    if f.referee_orders > 0 or f.referee_signup_at is None:
        return False
    return now - f.referee_signup_at <= timedelta(hours=cfg.new_member_hours)


def window_ends(cfg: Referrals, placed_at: datetime) -> datetime:
    """When the first order's refund window closes (both rewards are due then)."""
    return placed_at + timedelta(days=cfg.refund_window_days)


def code_from(randomness: bytes, length: int = CODE_LENGTH) -> str:
    """A code from random bytes (the service passes ``secrets.token_bytes``)."""
    if len(randomness) < length:
        raise ValueError("not enough randomness for a code")
    return "".join(ALPHABET[b % len(ALPHABET)] for b in randomness[:length])


def mask_id(member_id: str) -> str:
    """A referee as their referrer sees them: never the whole id."""
    if len(member_id) <= 4:
        return "*" * len(member_id)
    return f"{member_id[:2]}***{member_id[-2:]}"


def outcome_after_window(order_fully_refunded: bool) -> State:
    """What a pending referral becomes when its window has passed."""
    return State.reversed if order_fully_refunded else State.qualified


def cost_of(cfg_rewards: tuple[RewardSpec, RewardSpec], coupon_value: dict[str, int]
            ) -> tuple[int, int]:
    """(points, coupon face value in minor units) one qualified referral costs."""
    points = sum(r.points for r in cfg_rewards)
    coupons = sum(coupon_value.get(r.coupon_template_id, 0) for r in cfg_rewards
                  if r.coupon_template_id)
    return points, coupons

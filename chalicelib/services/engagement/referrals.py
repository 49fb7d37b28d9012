"""Referrals (老带新): codes, sign-ups with a code, the first order's window, rewards.

Sign-ups come from the service API (POST /referrals/signups, right after POST /members);
first orders and full refunds come from the table's stream (services/delivery/events.py);
the ``referrals-due`` schedule qualifies and rewards referrals whose window has passed. Every
step is a conditional transition of the referral record, so retries, redelivered events and
overlapping job runs give each side its reward exactly once (docs/referrals.md).
"""

from __future__ import annotations

import random
import secrets
import time
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.adapters.engagement.referrals import ReferralRepository
from chalicelib.adapters.guards import guard_put, replayed
from chalicelib.domain.engagement import referrals as rules
from chalicelib.domain.engagement.referral_views import (
    RefereeView,
    ReferralSignup,
    ReferralView,
    SignupResult,
)
from chalicelib.domain.engagement.referrals import Reason, Referrals, SignupFacts, State
from chalicelib.domain.loyalty import dates
from chalicelib.domain.members.model import mask_name
from chalicelib.errors import Conflict, NotFound
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps
from chalicelib.services.loyalty import program as programs

Item = dict[str, Any]
SIGNUP_ATTEMPTS = 30  # a burst on one code contends on its month counter: back off, retry


def repo() -> ReferralRepository:
    return deps().referrals


def config() -> Referrals | None:
    """The live program's ``referrals`` section (None: referrals are off)."""
    try:
        return programs.current()[1].referrals
    except NotFound:
        return None


# --- the member's own code -------------------------------------------------------------------
def ensure_code(member_id: str) -> Item:
    """The member's summary, issuing their code on first use (create-only code item)."""
    found = repo().summary(member_id)
    if found:
        return found
    deps().members.require(member_id)
    for _ in range(6):
        code = rules.code_from(secrets.token_bytes(rules.CODE_LENGTH))
        try:
            repo().create_code(member_id, code, clock.iso())
            metrics_add("ReferralCodeIssued")
            return {"member_id": member_id, "code": code}
        except TransactionCancelled as e:
            if e.failed_item("summary"):  # a concurrent first call issued it
                return repo().summary(member_id) or {"member_id": member_id, "code": code}
            if not (e.failed_item("code") or e.throttled):
                raise
    raise Conflict("could not issue a referral code; retry")


def my_referral(member_id: str) -> ReferralView:
    s = ensure_code(member_id)
    cfg = config()
    code = str(s["code"])
    return ReferralView(code=code, link=cfg.link(code) if cfg else None,
                        enabled=bool(cfg and cfg.enabled),
                        **{k: int(s.get(k, 0)) for k in ReferralView.COUNTS})


def my_referees(member_id: str, limit: int = 50) -> list[RefereeView]:
    """The member's referees, newest sign-up last-written first; masked, no PII."""
    return [RefereeView.model_validate(r) for r in repo().referees(member_id, limit)]


# --- sign-up with a code ---------------------------------------------------------------------
def signup(req: ReferralSignup, request_key: str | None = None) -> SignupResult:
    """Record a new member's sign-up with a code: counted, or rejected with its reason.

    A member has at most one referrer: a second sign-up answers the first outcome (a
    rejected one may be replaced by a later attempt)."""
    referee = req.member_id
    profile = deps().members.require(referee)
    existing = repo().pointer(referee)
    if existing and existing.get("state") != State.rejected:
        return SignupResult.model_validate(existing)
    cfg, now = config(), clock.now()
    code = req.referral_code.strip().upper()
    referrer = repo().code_owner(code) if cfg and cfg.enabled else None
    facts, month = _facts(referee, profile, referrer, req.device_token, now)
    record: Item = {"referrer_id": referrer, "referee_id": referee, "code": code,
                    "signed_up_at": dates.iso(now), "referee_masked": rules.mask_id(referee),
                    "referee_name": mask_name(profile.get("name"))}
    reason = rules.check_signup(cfg, facts, now)
    if reason is not None or cfg is None:
        return _reject(record, reason or Reason.DISABLED, request_key)
    record.update(state=State.signed_up.value,
                  terms=cfg.model_dump(mode="json", exclude={"share_url"}))
    return _accept(record, month, cfg.monthly_cap, request_key)


def _facts(referee: str, profile: Item, referrer: str | None, device_token: str | None,
           now: datetime) -> tuple[SignupFacts, str]:
    """What the abuse rules need: devices and phone hashes of both, the referee's orders,
    the referrer's accepted sign-ups this (referrer-local) month."""
    members = deps().members
    own = {d["device_id"] for d in members.devices(referee)}
    token_id = repo().device_id(device_token)
    if token_id:
        own.add(token_id)
    orders = deps().loyalty.state(referee, consistent=True).orders_count
    signed = profile.get("signup_at") or profile.get("created_at")
    base = dict(referee_id=referee, referee_signup_at=_parse(signed), referee_orders=orders,
                referee_devices=frozenset(own),
                referee_phone_hash=repo().phone_hash(profile.get("phone")))
    if referrer is None or referrer == referee:
        return SignupFacts(referrer_id=referrer, **base), ""  # type: ignore[arg-type]
    other = members.get(referrer) or {}
    tz = str(other.get("timezone") or "Asia/Shanghai")
    month = dates.local_date(now, tz).strftime("%Y-%m")
    return SignupFacts(
        referrer_id=referrer, referrer_devices=frozenset(
            d["device_id"] for d in members.devices(referrer)),
        referrer_phone_hash=repo().phone_hash(other.get("phone")),
        referrer_month_count=repo().cap_used(referrer, month), **base), month  # type: ignore[arg-type]


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _accept(record: Item, month: str, cap: int, request_key: str | None) -> SignupResult:
    """Commit a counted sign-up; past the cap (a concurrent burst) it becomes REFERRER_CAP."""
    result = SignupResult.model_validate(record)
    guard = guard_put(request_key, result.model_dump(mode="json")) if request_key else None
    for attempt in range(SIGNUP_ATTEMPTS):
        try:
            repo().transact_named(repo().accept_items(record, month, cap, guard))
            metrics_add("ReferralSignup")
            return result
        except TransactionCancelled as e:
            first = replayed(e, request_key)
            if first is not None:
                return SignupResult.model_validate(first)
            if e.failed_item("cap"):
                return _reject(record, Reason.REFERRER_CAP, request_key)
            if e.failed_item("pointer") or e.failed_item("referral"):
                return SignupResult.model_validate(repo().pointer(record["referee_id"]) or {})
            _backoff(e, attempt)
    raise Conflict("the sign-up could not be recorded; retry")


def _backoff(e: TransactionCancelled, attempt: int) -> None:
    if not e.throttled and "Unknown" not in e.reasons:
        raise e
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** min(attempt, 6))))


def _reject(record: Item, reason: Reason, request_key: str | None) -> SignupResult:
    rec = {**record, "state": State.rejected.value, "reason": reason.value}
    rec.pop("terms", None)
    result = SignupResult.model_validate(rec)
    guard = guard_put(request_key, result.model_dump(mode="json")) if request_key else None
    for attempt in range(SIGNUP_ATTEMPTS):
        try:
            repo().transact_named(repo().reject_items(rec, guard))
            metrics_add("ReferralRejected")
            return result
        except TransactionCancelled as e:
            first = replayed(e, request_key)
            if first is not None:
                return SignupResult.model_validate(first)
            if e.failed_item("pointer") or e.failed_item("referral"):
                return SignupResult.model_validate(repo().pointer(record["referee_id"]) or {})
            _backoff(e, attempt)
    raise Conflict("the sign-up could not be recorded; retry")

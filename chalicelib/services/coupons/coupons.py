"""Coupon templates, the coupon center, claims and the wallet; hooks for loyalty/campaigns.

A claim is one BatchGetItem (template, profile, loyalty, program when not cached) and one
TransactWriteItems: [stock shard -1 if stocked, claim counter < limit, new coupon, audience
check on LOYALTY when restricted]. A lost race on a shard retries on another shard; a shard
found empty makes the claim read every shard (consistent) before it may answer SOLD_OUT.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from chalicelib.adapters.coupons.repository import CouponRepository, Grant, Reads
from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.config import get_settings
from chalicelib.domain.coupons.eligibility import audience_problem
from chalicelib.domain.coupons.ranking import Tiers, for_member
from chalicelib.domain.coupons.rules import Rules, compile_template
from chalicelib.domain.coupons.template import CouponTemplate, TemplateView
from chalicelib.domain.coupons.validity import (
    claim_closed_message,
    claim_detail,
    claim_problem,
    claim_window,
)
from chalicelib.domain.models import Out
from chalicelib.errors import LimitReached, NotFound, SoldOut, Unavailable, Unprocessable
from chalicelib.observability import logger, metrics_add
from chalicelib.services import clock
from chalicelib.services.coupons.records import (
    CouponView,
    coupon_record,
    coupon_view,
    new_coupon_id,
    template_of,
    template_view,
)
from chalicelib.services.deps import deps

CLAIM_ATTEMPTS = 60


def repo() -> CouponRepository:
    return deps().coupons


# --- program and member facts -----------------------------------------------------------------

@dataclass(frozen=True)
class ProgramFacts:
    tz: ZoneInfo
    tier_order: tuple[str, ...]
    base_tier: str | None
    tier_names: Mapping[str, str] = field(default_factory=dict)


def want_program(reads: Reads) -> Any:
    """Add PROGRAM/CURRENT to a batch read unless the loyalty program is cached."""
    from chalicelib.services.loyalty import program as programs

    hit = programs.cached()
    if hit is None:
        reads.program()
    return hit


def program_facts(hit: Any, got: dict[str, Any]) -> ProgramFacts:
    """Timezone (program's, else ``default_timezone``) and tier order, base first."""
    from chalicelib.services.loyalty import program as programs

    version, program = hit or programs.remember(got.get("program"))
    tz = program.timezone if version else get_settings().default_timezone
    return ProgramFacts(ZoneInfo(tz), tuple(t.id for t in program.tiers), program.base.id,
                        {t.id: t.name for t in program.tiers})


def require_audience(t: CouponTemplate, hit: Any, got: dict[str, Any], profile: dict[str, Any],
                     path: str, message: str) -> tuple[ProgramFacts, Rules]:
    """422 at ``path`` when the member is outside the template's audience (tiers, new, tags);
    otherwise the program facts and compiled rules the caller goes on with."""
    facts = program_facts(hit, got)
    rules = compile_template(t)
    who = audience_problem(t.audience, rules, member_tier(got["loyalty"]), facts.tier_order,
                           orders_count(got["loyalty"]), set(profile.get("tags") or ()))
    if who:
        raise Unprocessable(message, details=[
            {**who[1], "path": path, "message": who[0], "reason": who[0]}])
    return facts, rules


def member_tier(loyalty: dict[str, Any] | None) -> str | None:
    return (loyalty or {}).get("tier") or None


def orders_count(loyalty: dict[str, Any] | None) -> int:
    return int((loyalty or {}).get("orders_count") or 0)


# --- templates --------------------------------------------------------------------------------

def put_template(template_id: str, t: CouponTemplate, actor: str) -> TemplateView:
    """Create or replace a template (a new version); stock changes move the shards."""
    from chalicelib.services.coupons import templates as coupon_templates

    return coupon_templates.put(template_id, t, actor)


def save_template(template_id: str, t: CouponTemplate, actor: str) -> tuple[TemplateView, bool]:
    """``put_template`` and whether it created the template."""
    from chalicelib.services.coupons import templates as coupon_templates

    return coupon_templates.save(template_id, t, actor)


def get_template(template_id: str) -> TemplateView:
    """A template with its live stock figures; 404 when unknown."""
    item = repo().template(template_id)
    if item is None:
        raise NotFound(f"coupon template {template_id} not found")
    shards = repo().stock(template_id) if item.get("stock") is not None else None
    return template_view(item, shards)


class Funnel(Out):
    """Coupons of a template that were claimed (center or code), reserved for an order and
    redeemed (the order confirmed), summed over the counter shards."""

    template_id: str
    claimed: int = 0
    reserved: int = 0
    redeemed: int = 0


def funnel(template_id: str) -> Funnel:
    """The claim → reserve → redeem funnel: one key Query on the counter shards, no Scan."""
    get_template(template_id)  # 404 for an unknown template
    return Funnel(template_id=template_id, **repo().funnel(template_id))


def list_templates() -> list[TemplateView]:
    """Every template (admin), without stock figures."""
    return [template_view(i) for i in sorted(repo().catalog(), key=lambda i: i["template_id"])]


def template_facts(template_id: str) -> dict[str, Any] | None:
    """Title, face value (fen), end of validity and ``days_after_claim`` (an issued coupon's
    own expiry is ``validity.use_until`` of these), for campaign message placeholders."""
    item = repo().template(template_id)
    if item is None:
        return None
    t = template_of(item)
    b = t.benefit.model_dump()
    value = b.get("amount") or b.get("value") or b.get("max_discount") or b.get(
        "max_amount") or 0
    return {"title": t.name, "value_minor": int(value),
            "expires_at": clock.iso(t.validity.ends_at),
            "days_after_claim": t.validity.days_after_claim, "benefit": b}


# --- coupon center, claims, wallet ---------------------------------------------------------------

class CenterEntry(Out):
    template_id: str
    name: str
    description: str
    benefit: dict[str, Any]
    scope: dict[str, Any]
    valid_from: str
    valid_until: str
    days_after_claim: int | None
    claim_ends_at: str
    remaining: int | None
    claimed: int
    per_member_claim: int | None
    rank: int = Field(default=1, description="1 = fits the member best (its category "
                      "habits, basket size against the threshold, tier); the list is in this "
                      "order")
    reason: str = Field(default="", description="why, in one phrase in the member's "
                        "language: 因为你常买咖啡, 满减门槛贴近你的平均客单, 金卡专享, ...")


class ClaimRequest(Out):
    template_id: str


def center(member_id: str) -> list[CenterEntry]:
    """Templates the member can claim right now, with the stock left, best fit first."""
    now = clock.now()
    candidates = []
    for item in repo().catalog():
        t = template_of(item)
        if t.status == "active" and t.claimable and claim_problem(t.validity, now) is None:
            candidates.append((item, t))
    reads = Reads().profile(member_id).loyalty(member_id)
    hit = want_program(reads)
    for item, t in candidates:
        tid = t.template_id or ""
        reads.claims(member_id, tid, f"claims:{tid}")
        if t.limits.stock is not None:
            for k in range(int(item.get("shards") or 1)):
                reads.stock_shard(tid, k, f"stock:{tid}:{k}")
    got = repo().fetch(reads, consistent=False)
    facts = program_facts(hit, got)
    out = []
    for item, t in candidates:
        entry = _center_entry(item, t, got, facts)
        if entry is not None:
            out.append((entry, t))
    return _by_fit(out, got, facts, now)


def _by_fit(found: list[tuple[CenterEntry, CouponTemplate]], got: dict[str, Any],
            facts: ProgramFacts, now: datetime) -> list[CenterEntry]:
    """The entries best fit first, each with its rank and reason (no further reads)."""
    entries = {e.template_id: e for e, _ in found}
    order = for_member([t for _, t in found], got["profile"], got["loyalty"],
                       Tiers(facts.tier_order, facts.tier_names), now, str(facts.tz))
    return [entries[r.template_id].model_copy(update={"rank": r.rank, "reason": r.reason})
            for r in order]


def _center_entry(item: dict[str, Any], t: CouponTemplate, got: dict[str, Any],
                  facts: ProgramFacts) -> CenterEntry | None:
    """The template's entry for this member (read in ``got``); None when the member is
    outside its audience, has claimed it as often as allowed or no stock is left."""
    tid = t.template_id or ""
    profile, loyalty = got["profile"] or {}, got["loyalty"]
    if audience_problem(t.audience, compile_template(t), member_tier(loyalty),
                        facts.tier_order, orders_count(loyalty), set(profile.get("tags") or ())):
        return None
    claimed = int((got[f"claims:{tid}"] or {}).get("claims", 0))
    if t.limits.per_member_claim is not None and claimed >= t.limits.per_member_claim:
        return None
    remaining = None
    if t.limits.stock is not None:
        remaining = sum(int((got[f"stock:{tid}:{k}"] or {}).get("remaining", 0))
                        for k in range(int(item.get("shards") or 1)))
        if remaining <= 0:
            return None
    v = t.validity
    return CenterEntry(
        template_id=tid, name=t.name, description=t.description,
        benefit=t.benefit.model_dump(mode="json"), scope=t.scope.model_dump(mode="json"),
        valid_from=clock.iso(v.starts_at), valid_until=clock.iso(v.ends_at),
        days_after_claim=v.days_after_claim, claim_ends_at=clock.iso(claim_window(v)[1]),
        remaining=remaining, claimed=claimed, per_member_claim=t.limits.per_member_claim)


def claim(member_id: str, template_id: str, request_key: str | None = None) -> CouponView:
    """Claim one coupon: stock, per-member limit, audience and window enforced atomically.

    With ``request_key`` (the caller's Idempotency-Key) the coupon id is derived from it, so
    a retry after an answer was lost finds the coupon the first attempt issued."""
    now = clock.now()
    reads = Reads().template(template_id).profile(member_id).loyalty(member_id)
    hit = want_program(reads)
    got = repo().fetch(reads)
    item = got["template"]
    if item is None:
        raise NotFound(f"coupon template {template_id} not found")
    profile = got["profile"]
    if profile is None or profile.get("erased"):
        raise NotFound(f"member {member_id} not found")
    t = template_of(item)
    if t.status != "active" or not t.claimable:
        raise Unprocessable("this coupon cannot be claimed", details=[
            {"path": "/template_id", "message": "NOT_CLAIMABLE", "reason": "NOT_CLAIMABLE"}])
    closed = claim_detail(t.validity, now, "/template_id")
    if closed:
        raise Unprocessable(claim_closed_message(closed, "claiming is not open"),
                            details=[closed])
    facts, rules = require_audience(t, hit, got, profile, "/template_id",
                                    "this coupon is for other members")
    coupon_id = keyed_coupon_id(member_id, template_id, request_key) if request_key \
        else new_coupon_id()
    record = coupon_record(member_id, coupon_id, t, item, now, "claim")
    g = grant(member_id, template_id, t, coupon_id, record, clock.iso(now), facts, rules)
    shards = int(item.get("shards") or 1) if t.limits.stock is not None else 0
    earlier = _claim_transaction(g, shards)
    if earlier is not None:  # this request already issued it
        return coupon_view(earlier, now)
    metrics_add("CouponClaimed")
    return coupon_view({**record, "coupon_id": coupon_id}, now)


def grant(member_id: str, template_id: str, t: CouponTemplate, coupon_id: str,
          record: dict[str, Any], at: str, facts: ProgramFacts, rules: Rules) -> Grant:
    """What issuing ``record`` writes: the claim counted against the template's per-member
    limit, the coupon, the audience re-checked on LOYALTY (tiers, new members)."""
    return Grant(member_id=member_id, template_id=template_id, coupon_id=coupon_id,
                 record=record, per_member_claim=t.limits.per_member_claim, at=at,
                 allowed_tiers=rules.allowed_tiers(facts.tier_order),
                 base_tier=facts.base_tier, new_members_only=t.audience.new_members_only)


def keyed_coupon_id(member_id: str, template_id: str, request_key: str) -> str:
    digest = hashlib.sha256(f"{member_id}|{template_id}|{request_key}".encode()).hexdigest()
    return f"k{digest[:23]}"


def _claim_transaction(g: Grant, shards: int) -> dict[str, Any] | None:
    """Run the claim, moving to another shard on a lost race or an empty shard. Returns the
    stored coupon when an earlier attempt of this same request already committed."""
    open_shards = list(range(shards))
    for attempt in range(CLAIM_ATTEMPTS):
        shard = random.choice(open_shards) if shards else None
        try:
            repo().claim(g, shard)
            return None
        except TransactionCancelled as e:
            mine = e.old("coupon") if e.failed_item("coupon") else None
            if mine and mine.get("coupon_id") == g.coupon_id:
                return mine
            _refuse(e)
            if shard is not None and e.failed_item("stock"):
                open_shards = [s.no for s in repo().stock(g.template_id) if s.remaining > 0]
                if not open_shards:
                    metrics_add("CouponSoldOut")
                    raise SoldOut("this coupon is sold out", details=[
                        {"path": "/template_id", "message": "no stock left"}]) from e
                continue
            # a concurrent transaction on the same item: back off, try another shard
            time.sleep(random.uniform(0, min(0.05, 0.002 * 2 ** min(attempt, 5))))
    raise Unavailable("too many concurrent claims; retry")


def _refuse(e: TransactionCancelled) -> None:
    """A claim the member may not make: the claim limit, or the audience (or a coupon id
    taken by another request)."""
    if e.failed_item("limit"):
        raise LimitReached("you already claimed this coupon as often as allowed",
                           details=[{"path": "/template_id",
                                     "message": "per-member claim limit reached"}]) from e
    if e.failed_names - {"stock"}:
        raise Unprocessable("this coupon is for other members", details=[
            {"path": "/template_id", "message": "AUDIENCE", "reason": "AUDIENCE"}]) from e


def wallet(member_id: str, status: str | None = None) -> list[CouponView]:
    """The member's coupons, newest first, optionally one status only."""
    now = clock.now()
    items = sorted((i for i in repo().wallet(member_id) if i.get("rules")),
                   key=lambda i: (i.get("claimed_at", ""), i["coupon_id"]), reverse=True)
    views = [coupon_view(i, now) for i in items]
    return [v for v in views if status is None or v.status == status]


# --- issuing for loyalty rewards, tier grants and campaigns --------------------------------------

def issue_items(*, member_id: str, template_id: str, coupon_id: str, source: str, ref: str,
                now: str) -> list[dict[str, Any]]:
    """TransactItems issuing one coupon (the caller's transaction writes it, exactly once:
    the coupon id is deterministic, the Put conditional). Template stock and claim limits
    are for the coupon center; rewards and campaigns have their own. A tier grant of a
    missing or inactive template is skipped (logged); a reward or campaign one is 422."""
    item = repo().template(template_id)
    at = datetime.fromisoformat(now)
    t = template_of(item) if item else None
    if t is None or t.status != "active" or at >= t.validity.ends_at:
        if source == "tier":
            logger().warning("tier coupon grant skipped", extra={"template_id": template_id})
            return []
        raise Unprocessable(f"coupon template {template_id} cannot be issued now", details=[
            {"path": "/template_id", "message": "missing, not active or ended"}])
    assert item is not None
    record = coupon_record(member_id, coupon_id, t, item, at, source, ref)
    return repo().issue_items(member_id, coupon_id, record)



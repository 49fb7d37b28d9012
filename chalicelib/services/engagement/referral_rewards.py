"""Referrals after sign-up: the first order starts the window, a full refund inside it
reverses, the due job qualifies and rewards both sides exactly once (docs/referrals.md)."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from chalicelib.adapters.dynamo import ConditionFailed, NamedItems, TransactionCancelled
from chalicelib.adapters.loyalty.writes import StaleWrite
from chalicelib.adapters.retries import with_retries
from chalicelib.domain.engagement import referrals as rules
from chalicelib.domain.engagement.referral_views import ReferralStats
from chalicelib.domain.engagement.referrals import Reason, Referrals, RewardSpec, State
from chalicelib.domain.loyalty import dates
from chalicelib.errors import PerksError
from chalicelib.observability import logger, metrics_add
from chalicelib.services import clock
from chalicelib.services.engagement.referrals import repo
from chalicelib.services.loyalty import hooks as loyalty_hooks
from chalicelib.services.loyalty import loyalty
from chalicelib.services.loyalty import orders as loyalty_orders
from chalicelib.services.loyalty import program as programs

Item = dict[str, Any]


def _record_of(referee: str) -> Item | None:
    ptr = repo().pointer(referee)
    if not ptr or ptr.get("state") == State.rejected or not ptr.get("referrer_id"):
        return None
    return repo().record(str(ptr["referrer_id"]), referee)


def _terms(rec: Item) -> Referrals:
    """The terms the referral was accepted under (later program edits do not change them)."""
    return Referrals.model_validate(rec["terms"], strict=False)


def on_first_order(member_id: str, order_id: str, placed_at: str) -> bool:
    """A referee's first order: signed_up → pending until its refund window ends."""
    rec = _record_of(member_id)
    if rec is None or rec.get("state") != State.signed_up:
        return False
    placed = datetime.fromisoformat(placed_at.replace("Z", "+00:00"))
    due = dates.iso(rules.window_ends(_terms(rec), placed))
    try:
        repo().start_window(str(rec["referrer_id"]), member_id, order_id, dates.iso(placed),
                            due)
    except ConditionFailed:
        return False  # a redelivered event: already started
    return True


def on_refund(member_id: str, order_id: str) -> bool:
    """A full refund of the referee's first order inside its window: pending → reversed."""
    rec = _record_of(member_id)
    if rec is None or rec.get("state") != State.pending or rec.get("order_id") != order_id:
        return False
    return _move(rec, State.pending, State.reversed, before=clock.iso())


def _move(rec: Item, from_: State, to: State, before: str | None = None) -> bool:
    try:
        repo().transact_named(repo().transition_items(
            str(rec["referrer_id"]), str(rec["referee_id"]), from_.value, to.value,
            clock.iso(), before=before, counts={to.value: 1}))
    except TransactionCancelled as e:
        if e.failed_item("referral"):
            return False  # moved on already (a retry, an overlapping run, window closed)
        raise
    metrics_add(f"Referral{to.value.title()}")
    return True


def run_due(limit: int = 200) -> dict[str, int]:
    """The scheduled job: every referral whose window has passed, qualified then rewarded
    (a key query per due shard, each shard a fair share of ``limit``, the first shard turning
    each run; a failed one stays due for the next run)."""
    out = {"due": 0, "qualified": 0, "reversed": 0, "rewarded": 0, "failed": 0}
    now = clock.now()
    first = int(now.timestamp() // 900)  # each 15-minute run starts at the next shard
    for rec in with_retries(lambda: repo().due(clock.iso(now), limit, first)):
        out["due"] += 1
        try:  # each step re-checks its state: a retry after an ambiguous commit is safe
            for step in with_retries(partial(advance, rec)):
                out[step] += 1
        except PerksError:
            out["failed"] += 1
            logger().exception("referral could not advance; it stays due")
    return out


def advance(rec: Item) -> list[str]:
    """Move one due referral as far as it goes now; the steps taken."""
    steps: list[str] = []
    if rec.get("state") == State.pending:
        order = loyalty_orders.get(str(rec["order_id"]))
        to = rules.outcome_after_window(bool(order.get("fully_refunded")))
        if _move(rec, State.pending, to):
            steps.append(to.value)
        rec = repo().record(str(rec["referrer_id"]), str(rec["referee_id"])) or rec
    if rec.get("state") == State.qualified and reward(rec):
        steps.append("rewarded")
    return steps


def reward(rec: Item) -> bool:
    """qualified → rewarded with both sides' points and coupons in one transaction."""
    terms = _terms(rec)
    _, program = programs.current()
    referrer, referee = str(rec["referrer_id"]), str(rec["referee_id"])
    specs = (("referrer", referrer, terms.referrer_reward),
             ("referee", referee, terms.referee_reward))
    cost_points, cost_coupons = rules.cost_of(
        (terms.referrer_reward, terms.referee_reward), _coupon_values(terms))

    def attempt() -> bool:
        now = clock.iso()
        named: NamedItems = repo().transition_items(
            referrer, referee, State.qualified.value, State.rewarded.value, now,
            counts={"rewarded": 1, "cost_points": cost_points,
                    "cost_coupon_minor": cost_coupons})
        for side, member, spec in specs:
            named += _reward_items(side, member, spec, program, referee, now)
        try:
            repo().transact_named(named, loyalty.token())
        except TransactionCancelled as e:
            if e.failed_item("referral"):
                return False  # rewarded already: exactly once
            if e.throttled or e.failed_prefixed("referrer:") or e.failed_prefixed("referee:"):
                raise StaleWrite(e) from e  # a points balance moved: read again
            raise
        return True

    done = loyalty.optimistic(attempt)
    if done:
        metrics_add("ReferralRewarded")
        metrics_add("PointsEarned", cost_points)
    return done


def _reward_items(side: str, member: str, spec: RewardSpec, program: Any, referee: str,
                  now: str) -> NamedItems:
    named: NamedItems = []
    if spec.points:
        _, _, items = loyalty.credit_items(
            member, program, spec.points, kind="earn", reason="referral",
            source=f"referral:{referee}", refs={"ref": f"referral:{referee}:{side}"})
        named += [(f"{side}:{n}", item) for n, item in items]
    if spec.coupon_template_id:
        _, coupon_items = loyalty_hooks.coupon_issue_items(
            member, spec.coupon_template_id, source="referral", ref=f"{referee}:{side}",
            now=now)
        named += loyalty.named(f"{side}_coupon", coupon_items)
    return named


def _coupon_values(terms: Referrals) -> dict[str, int]:
    from chalicelib.services.coupons import coupons

    out: dict[str, int] = {}
    for spec in (terms.referrer_reward, terms.referee_reward):
        tpl = spec.coupon_template_id
        if tpl and tpl not in out:
            facts = coupons.template_facts(tpl)
            out[tpl] = int((facts or {}).get("value_minor") or 0)
    return out


def stats() -> ReferralStats:
    """Invites (codes issued), sign-ups, qualified, rewarded, reversed, rejections by
    reason, and what each rewarded (qualified) referral cost."""
    t = repo().stats()
    rewarded = t.get("rewarded", 0)
    by_reason = {r.value: t[f"rejected_{r.value}"] for r in Reason
                 if t.get(f"rejected_{r.value}")}
    return ReferralStats(
        **{k: t.get(k, 0) for k in ("invites", "signups", "qualified", "rewarded", "reversed",
                                    "rejected", "cost_points", "cost_coupon_minor")},
        rejected_by_reason=by_reason,
        cost_per_qualified_points=t.get("cost_points", 0) // rewarded if rewarded else None,
        cost_per_qualified_coupon_minor=(t.get("cost_coupon_minor", 0) // rewarded
                                         if rewarded else None))


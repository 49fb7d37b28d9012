"""Member loyalty use cases: points, history, tier, rewards, adjustments and awards."""

from __future__ import annotations

import random
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.adapters.guards import guard_put, replayed
from chalicelib.adapters.loyalty.repository import LoyaltyRepository
from chalicelib.adapters.loyalty.writes import StaleWrite
from chalicelib.domain.loyalty import dates, tiers
from chalicelib.domain.loyalty.program import Program, Reward, RewardKind
from chalicelib.domain.loyalty.state import LoyaltyState
from chalicelib.domain.loyalty.views import (
    AdjustmentResult,
    Expiring,
    HistoryPage,
    LedgerEntry,
    PointsView,
    Redemption,
    RewardView,
    TierView,
)
from chalicelib.domain.loyalty.wallet import Lot, Take, balance, earn_split, plan_spend
from chalicelib.errors import (
    Conflict,
    InsufficientFunds,
    LimitReached,
    NotFound,
    SoldOut,
    Unprocessable,
)
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps
from chalicelib.services.loyalty import gift_items
from chalicelib.services.loyalty import hooks as loyalty_hooks
from chalicelib.services.loyalty import program as programs

T = TypeVar("T")
ATTEMPTS = 60
Item = dict[str, Any]
Named = list[tuple[str, Item]]
# Items a caller adds to a credit or debit: named (the name comes back in
# TransactionCancelled.failed_names), or bare (named ``extra:<i>``).
Extra = Sequence[Item | tuple[str, Item]]


def repo() -> LoyaltyRepository:
    return deps().loyalty


def optimistic[T](attempt: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run ``attempt`` (which re-reads) until it commits; back off on StaleWrite."""
    for i in range(attempts):
        try:
            return attempt()
        except StaleWrite:
            if i == attempts - 1:
                raise
            time.sleep(random.uniform(0, min(0.2, 0.01 * 2 ** min(i, 5))))
    raise AssertionError("unreachable")


def token() -> str:
    """ClientRequestToken for one attempt: an SDK retry of that request cannot apply twice.

    Fresh per attempt on purpose: a token reused with other parameters inside DynamoDB's
    10-minute window fails with IdempotentParameterMismatch (each attempt has new ids).
    """
    return uuid.uuid4().hex


def today_and_now(program: Program, now: datetime) -> tuple[str, str]:
    return dates.local_date(now, program.timezone).isoformat(), dates.iso(now)


def new_lot(program: Program, now: datetime, points: int, available_on: str, source: str
            ) -> tuple[Lot, str]:
    """A lot for ``points`` earned now, and the local date it expires on."""
    expires, day = dates.expiry(now, program.timezone, program.points.expiry_months)
    lot = Lot(f"l{secrets.token_hex(8)}", points, points, dates.iso(expires), available_on,
              source)
    return lot, day.isoformat()


def entry(kind: str, points: int, reason: str, at: str, **refs: Any) -> dict[str, Any]:
    return {"entry_id": f"e{secrets.token_hex(8)}", "kind": kind, "points": points,
            "reason": reason, "created_at": at, **{k: v for k, v in refs.items() if v is not None}}


def named(prefix: str, items: Sequence[Item]) -> Named:
    """Another capability's items for one of our transactions, as ``<prefix>:<n>``."""
    return [(f"{prefix}:{n}", item) for n, item in enumerate(items)]


def named_extra(extra: Extra) -> Named:
    return [x if isinstance(x, tuple) else (f"extra:{i}", x) for i, x in enumerate(extra)]


# --- reads ------------------------------------------------------------------------------
def points(member_id: str) -> PointsView:
    """Available, pending, lifetime earned and the next expiries: ≤ 2 read requests."""
    hit = programs.cached()
    state, lots = repo().member_points(member_id)
    _, program = hit or programs.current()
    today, now = today_and_now(program, clock.now())
    b = balance(lots, state.debt, today, now)
    return PointsView(member_id=member_id, available=b.available, pending=b.pending,
                      lifetime_earned=state.lifetime_earned,
                      expiring=[Expiring(points=p, expires_at=e) for e, p in b.expiring])


def history(member_id: str, limit: int, cursor: str | None) -> HistoryPage:
    """Ledger entries newest first, ``limit`` per page, with an opaque cursor."""
    items, nxt = repo().history(member_id, limit, cursor)
    return HistoryPage(entries=[LedgerEntry.model_validate(i) for i in items], next_cursor=nxt)


def tier(member_id: str) -> TierView:
    """Tier, review date, window totals and what the next tier needs."""
    _, program = programs.current()
    state = repo().state(member_id, consistent=False)
    now = clock.now()
    spend, orders = tiers.totals(state.window, now, program.timezone)
    idx = program.tier_index(state.tier)
    t = program.tiers[idx]
    nxt = tiers.progress(program, idx, spend, orders)
    return TierView(member_id=member_id, tier=t.id, tier_name=t.name, since=state.tier_since,
                    review_at=state.review_at if idx > 0 else None, qualifying_spend=spend,
                    qualifying_orders=orders, next_tier=nxt.next_tier,
                    spend_to_next=nxt.spend_to_next, orders_to_next=nxt.orders_to_next,
                    benefits=t.benefits.model_dump(mode="json"))


def rewards() -> list[RewardView]:
    """The rewards catalogue with remaining stock."""
    _, program = programs.current()
    counts = programs.repo().redeemed([r.id for r in program.rewards if r.stock is not None])
    out = []
    for r in program.rewards:
        data = r.model_dump(mode="json")
        if r.stock is not None:
            data["remaining"] = max(0, r.stock - counts.get(r.id, 0))
        out.append(RewardView.model_validate(data))
    return out


# --- writes -----------------------------------------------------------------------------
def redeem(member_id: str, reward_id: str, request_key: str | None = None) -> Redemption:
    """Spend points on a reward and issue it (coupon or gift record) in one transaction.

    With a ``request_key`` (a keyed request), a guard item commits with the redemption, so a
    retry after an ambiguous commit returns the first redemption instead of redeeming again.
    """
    _, program = programs.current()
    reward = program.reward(reward_id)
    if reward is None:
        raise NotFound(f"reward {reward_id} does not exist")
    now = clock.now()
    if not reward.open_at(now):
        raise Unprocessable("this reward is not available now")
    # The member's stock counter shard; when it is full, another with room (never oversold).
    shards = [repo().reward_home_shard(member_id)]
    return optimistic(lambda: _redeem_once(member_id, program, reward, now, shards,
                                           request_key))


def _redeem_once(member_id: str, program: Program, reward: Reward, now: datetime,
                 shards: list[int], request_key: str | None) -> Redemption:
    """One read-decide-write of a redemption (``shards[-1]``: the counter shard to use)."""
    today, now_iso = today_and_now(program, now)
    state, lots = repo().member_points(member_id, consistent=True)
    used = _redeemable(program, reward, state)
    takes = plan_spend(lots, state.debt, reward.cost_points, today, now_iso)
    new = replace(state, points=state.points - reward.cost_points,
                  lifetime_spent=state.lifetime_spent + reward.cost_points,
                  rewards={**state.rewards, reward.id: used + 1})
    rid = f"r{secrets.token_hex(8)}"
    coupon_id: str | None = None
    issued: list[Item] = []
    if reward.kind == RewardKind.coupon:
        assert reward.coupon_template_id
        coupon_id, issued = loyalty_hooks.coupon_issue_items(
            member_id, reward.coupon_template_id, source="reward", ref=rid, now=now_iso)
    record = {"redemption_id": rid, "reward_id": reward.id, "kind": reward.kind.value,
              "points_spent": reward.cost_points, "coupon_id": coupon_id,
              "gift_sku": reward.gift_sku, "created_at": now_iso,
              "status": "issued" if coupon_id else "to_fulfil"}
    spent = entry("spend", -reward.cost_points, f"reward {reward.id}", now_iso,
                  reward_id=reward.id, redemption_id=rid, lots=takes_summary(takes))
    extra = named("reward_coupon", issued)
    if reward.kind == RewardKind.gift:  # the gift to send, in the same transaction
        extra += gift_items.reward_gift_items(member_id, reward, rid, now_iso, shards[-1])
    if request_key:
        extra.append(("request", guard_put(request_key, record)))
    try:
        repo().redeem(new, state.version, program.base.id, takes, spent, record,
                      reward_id=reward.id, stock=reward.stock, shard=shards[-1], extra=extra,
                      token=token())
    except TransactionCancelled as e:
        first = replayed(e, request_key)
        if first is not None:
            return Redemption.model_validate({**first, "available": points(member_id).available})
        if e.failed_item("stock"):
            room = [k for k in programs.repo().reward_room(reward.id, reward.stock)
                    if k not in shards]
            if not room:
                raise SoldOut(f"reward {reward.id} is out of stock") from e
            shards.append(room[0])
            raise StaleWrite(e) from e  # again, on a shard with room
        raise Conflict("the reward could not be issued; retry") from e
    after = balance([_after(lt, takes) for lt in lots], new.debt, today, now_iso)
    metrics_add("RewardRedeemed")
    metrics_add("PointsSpent", reward.cost_points)
    return Redemption.model_validate({**record, "available": after.available})


def _redeemable(program: Program, reward: Reward, state: LoyaltyState) -> int:
    """How often the member redeemed ``reward`` so far; 422/409 when they may not now."""
    if reward.min_tier and program.tier_index(state.tier) < program.tier_index(
            reward.min_tier):
        raise Unprocessable(f"this reward needs tier {reward.min_tier} or above")
    used = state.rewards.get(reward.id, 0)
    if reward.per_member_limit is not None and used >= reward.per_member_limit:
        raise LimitReached(f"you have redeemed this reward {used} time(s), the limit")
    return used


def takes_summary(takes: Sequence[Take]) -> list[dict[str, Any]]:
    """What a ledger entry records of the lots it took from."""
    return [{"lot_id": t.lot.lot_id, "points": t.points} for t in takes]


def _after(lot: Lot, takes: Sequence[Take]) -> Lot:
    taken = sum(t.points for t in takes if t.lot.lot_id == lot.lot_id)
    return replace(lot, remaining=lot.remaining - taken)


def credit(member_id: str, program: Program, points_: int, *, kind: str, reason: str,
           source: str, extra: Extra = (), refs: dict[str, Any] | None = None,
           ) -> tuple[dict[str, Any], LoyaltyState]:
    """Add available points now (a new lot, repaying debt first): adjustments and awards.

    ``extra`` items ride in the same transaction (an audit record, a campaign's
    exactly-once send record), named; a failed condition in them raises TransactionCancelled.
    """
    def attempt() -> tuple[dict[str, Any], LoyaltyState]:
        e, new, named = credit_items(member_id, program, points_, kind=kind, reason=reason,
                                     source=source, refs=refs)
        repo().transact_named([*named, *named_extra(extra)], token(), guarded={"loyalty"})
        return e, new

    return optimistic(attempt)


def credit_items(member_id: str, program: Program, points_: int, *, kind: str, reason: str,
                 source: str, refs: dict[str, Any] | None = None,
                 reward_back: str | None = None,
                 ) -> tuple[dict[str, Any], LoyaltyState, list[tuple[str, dict[str, Any]]]]:
    """(ledger entry, new state, named items) crediting ``points_`` now, from a fresh read:
    ``loyalty`` (conditional on the version read: when it fails, read again), ``ledger``
    and ``lot`` (absent when everything repays debt). ``reward_back``: a redemption of that
    reward is undone, so it no longer counts towards the reward's per-member limit."""
    now = clock.now()
    today, now_iso = today_and_now(program, now)
    state, _ = repo().member_points(member_id, consistent=True)
    kept, repaid = earn_split(points_, state.debt)
    lot, expiry_day = new_lot(program, now, kept, today, source)
    rewards = state.rewards
    if reward_back and rewards.get(reward_back, 0) > 0:
        rewards = {**rewards, reward_back: rewards[reward_back] - 1}
    new = replace(state, points=state.points + points_, debt=state.debt - repaid,
                  tier=state.tier or program.base.id, rewards=rewards,
                  lifetime_earned=state.lifetime_earned + (points_ if kind == "earn" else 0))
    e = entry(kind, points_, reason, now_iso, lots=[{"lot_id": lot.lot_id, "points": kept}]
              if kept else [], debt_repaid=repaid or None, **(refs or {}))
    named = repo().credit_items(new, state.version, program.base.id, e,
                                lot=lot if kept else None, expiry_date=expiry_day, now=now_iso)
    return e, new, named


def debit(member_id: str, program: Program, points_: int, *, reason: str,
          extra: Extra = (), refs: dict[str, Any] | None = None,
          ) -> tuple[dict[str, Any], LoyaltyState]:
    """Take available points (earliest-expiring first); 409 when there are not enough."""
    def attempt() -> tuple[dict[str, Any], LoyaltyState]:
        today, now_iso = today_and_now(program, clock.now())
        state, lots = repo().member_points(member_id, consistent=True)
        takes = plan_spend(lots, state.debt, points_, today, now_iso)
        new = replace(state, points=state.points - points_)
        e = entry("adjust", -points_, reason, now_iso, lots=takes_summary(takes),
                  **(refs or {}))
        repo().spend(new, state.version, program.base.id, takes, e, extra=named_extra(extra),
                     token=token())
        return e, new

    return optimistic(attempt)


def adjust(member_id: str, delta: int, reason: str, actor: str,
           request_key: str | None = None) -> AdjustmentResult:
    """Goodwill or correction by an admin: a ledger entry plus an audit record, atomically.

    With a ``request_key``, a guard item commits with the entry: a retry of the same keyed
    request after an ambiguous commit returns the first adjustment instead of applying twice.
    """
    if delta == 0:
        raise Unprocessable("delta must not be zero",
                            details=[{"path": "/delta", "message": "non-zero"}])
    if not repo().member_live(member_id):
        raise NotFound(f"member {member_id} not found")
    _, program = programs.current()
    at = clock.iso()
    refs: dict[str, Any] = {"actor": actor}
    extra: Named = [("audit", repo().points_audit_item(at, actor, member_id, "adjust",
                                                       delta=delta, reason=reason))]
    if request_key:  # a deterministic entry id, known to the guard before the commit
        refs["entry_id"] = f"e{request_key[:16]}"
        extra.append(("request", guard_put(request_key, {"entry_id": refs["entry_id"],
                                                         "audited_at": at})))
    try:
        if delta > 0:
            e, _ = credit(member_id, program, delta, kind="adjust", reason=reason,
                          source="adjust", extra=extra, refs=refs)
        else:
            e, _ = debit(member_id, program, -delta, reason=reason, extra=extra, refs=refs)
    except TransactionCancelled as err:
        first = replayed(err, request_key)
        if first is None:
            raise
        return AdjustmentResult(member_id=member_id, entry_id=first["entry_id"], delta=delta,
                                available=points(member_id).available,
                                audited_at=first["audited_at"], actor=actor)
    metrics_add("PointsAdjusted")
    return AdjustmentResult(member_id=member_id, entry_id=e["entry_id"], delta=delta,
                            available=points(member_id).available, audited_at=at, actor=actor)



def award(member_id: str, points_: int, *, reason: str, campaign_id: str | None = None,
          ref: str | None = None, extra: Extra = ()) -> str:
    """Award points for an activity or campaign (for the campaign/delivery workers).

    Put your exactly-once record (e.g. the send record, ``attribute_not_exists``) in
    ``extra``: it commits with the points or not at all; a duplicate raises
    TransactionCancelled with your item's condition failed. Give the items as
    ``(name, item)`` pairs to find them by name (``e.failed_item(name)``, ``e.old(name)``);
    bare items are named ``extra:<i>`` and sit from index 2 of the transaction (see
    ``credit``). Returns the ledger entry id.
    """
    if points_ <= 0:
        raise ValueError("points must be positive")
    _, program = programs.current()
    e, _ = credit(member_id, program, points_, kind="earn", reason=reason,
                  source=f"campaign:{campaign_id}" if campaign_id else "award", extra=extra,
                  refs={"campaign_id": campaign_id, "ref": ref})
    metrics_add("PointsEarned", points_)
    return str(e["entry_id"])


def award_items(member_id: str, points_: int, *, reason: str, campaign_id: str,
                ref: str) -> list[tuple[str, dict[str, Any]]]:
    """A campaign's points award as named items for the caller's own transaction (the
    delivery decision): ``loyalty`` carries the version check of a fresh read (when it fails,
    call again for items built on a new read), ``ledger`` and ``lot``. NotFound when no
    program is published."""
    if points_ <= 0:
        raise ValueError("points must be positive")
    _, program = programs.current()
    _, _, named = credit_items(member_id, program, points_, kind="earn", reason=reason,
                               source=f"campaign:{campaign_id}",
                               refs={"campaign_id": campaign_id, "ref": ref})
    return named


def exchange_items(member_id: str, program: Program, spend: int, earn: int, *,
                   reason: str, earn_reason: str, source: str,
                   refs: dict[str, Any] | None = None,
                   ) -> tuple[LoyaltyState, list[tuple[str, dict[str, Any]]]]:
    """Spend ``spend`` points (earliest-expiring first; 409 when short) and credit ``earn``
    now, from one fresh read, as named items for the caller's own transaction: ``loyalty``
    (conditional on the version read), ``lot:<id>``, ``ledger``, ``ledger:earn``, ``lot``.
    A failure of ``loyalty`` or a ``lot:`` item means: call again for items on a new read.
    Returns the state read (its timezone, for member-local dates) and the items."""
    now = clock.now()
    today, now_iso = today_and_now(program, now)
    state, takes = _read_to_spend(member_id, spend, today, now_iso)
    kept, repaid = earn_split(earn, state.debt)
    lot, expiry_day = new_lot(program, now, kept, today, source)
    new = replace(state, points=state.points - spend + earn, debt=state.debt - repaid,
                  tier=state.tier or program.base.id,
                  lifetime_spent=state.lifetime_spent + spend,
                  lifetime_earned=state.lifetime_earned + earn)
    spent = entry("spend", -spend, reason, now_iso, lots=takes_summary(takes),
                  **(refs or {})) if spend else None
    earned = entry("earn", earn, earn_reason, now_iso,
                   lots=[{"lot_id": lot.lot_id, "points": kept}] if kept else [],
                   debt_repaid=repaid or None, **(refs or {})) if earn else None
    named = repo().exchange_items(new, state.version, program.base.id, takes, spent, earned,
                                  lot=lot if kept else None, expiry_date=expiry_day,
                                  now=now_iso)
    return state, named


TORN_READS = 3  # reads of a member's points before a shortfall is believed


def _read_to_spend(member_id: str, spend: int, today: str, now_iso: str
                   ) -> tuple[LoyaltyState, tuple[Take, ...]]:
    """The member's points and the lots ``spend`` takes, from one consistent Query. A Query
    is not isolated from a transaction committing in the same partition (read-committed per
    item), so it can catch the LOYALTY item and the lots mid-change: when the lots read
    cannot pay but the balance read with them says they can, read again (a few times)
    before answering 409 — a member who can afford an entry is never refused by a torn read."""
    for attempt in range(TORN_READS):
        state, lots = repo().member_points(member_id, consistent=True)
        if not spend:
            return state, ()
        try:
            return state, plan_spend(lots, state.debt, spend, today, now_iso)
        except InsufficientFunds:
            if state.points < spend or attempt == TORN_READS - 1:
                raise
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
    raise AssertionError("unreachable")


def live_program() -> Program:
    """The published program (NotFound when none is): for callers that build items."""
    return programs.current()[1]

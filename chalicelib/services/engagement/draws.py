"""Lucky-draw use cases: store versions (audited), the public view with its commitment,
entries (points, prize, stock, budget and limits in ONE transaction), stats, the reveal and
the verifier (docs/draws.md)."""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.adapters.engagement.draws import DrawRepository
from chalicelib.domain.campaigns.diff import diff
from chalicelib.domain.engagement import draws as dom
from chalicelib.domain.loyalty.dates import local_date
from chalicelib.errors import Conflict, LimitReached, NotFound, SoldOut, Unprocessable
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps
from chalicelib.services.loyalty import gift_items, loyalty
from chalicelib.services.loyalty import hooks as loyalty_hooks

ATTEMPTS = 60
Item = dict[str, Any]
Named = list[tuple[str, Item]]
RETRY_ON = {"loyalty", "pool", "grant"}  # read-then-written: read again and decide again


def repo() -> DrawRepository:
    return deps().draws


def _live(draw_id: str) -> tuple[dom.Draw, Item]:
    found = repo().current(draw_id)
    if found is None:
        raise NotFound(f"draw {draw_id} not found")
    return found


# --- admin: definitions ------------------------------------------------------------------
def put(draw_id: str, draw: dom.Draw, who: str) -> Item:
    """Store a new version (or nothing when unchanged). The first version creates the
    secret seed and publishes its commitment; once the draw has opened its prizes, odds,
    stock, budget, entry cost and opening time are frozen (409)."""
    if draw.id != draw_id:
        raise Unprocessable("the draw id does not match the URL", details=[
            {"path": "/id", "message": f"must be '{draw_id}'"}])
    found = repo().current(draw_id)
    before, rec = (found if found else (None, None))
    doc = draw.document()
    if rec is not None and rec.get("doc") == doc:
        return {**rec, "result": "unchanged"}
    now = clock.now()
    seed = None
    if before is None or rec is None:
        seed = secrets.token_hex(32)
        commitment = dom.commitment(seed)
    else:
        commitment = str(rec["commitment"])
        if before.closed_at(now) and draw.window != before.window:
            raise Conflict("the draw has closed and its seed is public: its window is fixed",
                           details=[{"path": "/window", "message": "fixed once the draw "
                                     "closed", "reason": "DRAW_CLOSED"}])
        frozen = dom.frozen_changes(before, draw) if now >= before.window.opens_at else []
        if frozen:
            raise Conflict("the draw has opened: its prizes, odds, stock, budget, entry cost "
                           "and opening time are fixed", details=[
                               {"path": p, "message": "fixed once the draw opened",
                                "reason": "DRAW_OPENED"} for p in frozen])
    pools = dom.initial_pools(draw) if before is None or now < before.window.opens_at else None
    version = int(rec["version"]) + 1 if rec else 1
    out = repo().save(draw, version, who, clock.iso(now), rec,
                      diff(rec.get("doc") if rec else {}, doc), seed=seed,
                      commitment=commitment, pools=pools)
    metrics_add("DrawSaved")
    return {**out, "doc": doc, "result": "updated" if rec else "created"}


def get(draw_id: str, version: int | None = None) -> Item:
    item = repo().record(draw_id, version)
    if item is None:
        raise NotFound(f"draw {draw_id}" + (f" version {version}" if version else "") +
                       " not found")
    if version is None:
        item["versions"] = repo().versions(draw_id)
    return item


def page(limit: int, cursor: str | None) -> Item:
    items, nxt = repo().page(limit, cursor)
    return {"items": items, "next_cursor": nxt}


def public(draw_id: str) -> Item:
    """What anyone may see: the draw, its odds and stock, the commitment, and the seed once
    the draw has closed."""
    draw, rec = _live(draw_id)
    now = clock.now()
    status = "open" if draw.open_at(now) else ("closed" if draw.closed_at(now) else
                                                 "scheduled")
    left = {p["id"]: p["stock_left"] for p in
            dom.stats(draw, repo().pools(draw_id, int(rec["shards"])))["prizes"]}
    prizes = [{**p.model_dump(mode="json", exclude_none=True), "stock_left": left[p.id]}
              for p in draw.prizes]
    out: Item = {"draw_id": draw.id, "version": rec["version"], "status": status,
                 "name": draw.name.model_dump(exclude_none=True),
                 "window": draw.window.model_dump(mode="json"),
                 "entry": draw.entry.model_dump(mode="json"),
                 "limits": draw.limits.model_dump(mode="json"), "prizes": prizes,
                 "commitment": rec["commitment"], "commitment_algorithm": "sha256(seed bytes)"}
    if status == "closed":
        out["seed"] = repo().seed(draw_id)
        out["revealed_at"] = rec.get("revealed_at") or draw.window.closes_at.isoformat()
    return out


def reveal(draw_id: str, who: str) -> Item:
    """Record the reveal (audited) and return the seed; 409 before the draw closes."""
    draw, rec = _live(draw_id)
    if not draw.closed_at(clock.now()):
        raise Conflict("the seed is revealed only after the draw closes", details=[
            {"path": "/", "message": f"closes at {draw.window.closes_at.isoformat()}",
             "reason": "DRAW_NOT_CLOSED"}])
    if not rec.get("revealed_at"):
        repo().reveal(draw_id, int(rec["version"]), who, clock.iso())
        metrics_add("DrawRevealed")
    return public(draw_id)


def stats(draw_id: str) -> Item:
    draw, rec = _live(draw_id)
    return {"draw_id": draw_id, **dom.stats(draw, repo().pools(draw_id, int(rec["shards"])))}


def verify(draw_id: str) -> Item:
    """Recompute every outcome from the revealed seed and the entry log (after close)."""
    draw, rec = _live(draw_id)
    if not draw.closed_at(clock.now()):
        raise Conflict("a draw can be verified once it has closed and its seed is public",
                       details=[{"path": "/", "message": "not closed yet",
                                 "reason": "DRAW_NOT_CLOSED"}])
    seed = repo().seed(draw_id) or ""
    return dom.verify(draw, seed, str(rec["commitment"]), repo().log(draw_id))


# --- members: entries ----------------------------------------------------------------------
class _Again(Exception):
    """A read-then-written item changed: read again and decide again."""


@dataclass
class _Attempt:
    member_id: str
    draw: dom.Draw
    rec: Item
    seed: str
    entry_id: str
    now: datetime


def enter(member_id: str, draw_id: str, request_key: str | None = None) -> Item:
    """One entry: its cost (a granted entry, else points), its outcome, the prize, the
    stock and budget taken and the member's limits, in one transaction. A retry of the same
    keyed request returns the first entry."""
    draw, rec = _live(draw_id)
    now = clock.now()
    if not draw.open_at(now):
        closed = draw.closed_at(now)
        raise Unprocessable("the draw has closed" if closed else "the draw has not opened",
                            details=[{"path": "/", "message": "outside the draw window",
                                      "reason": "DRAW_CLOSED" if closed else "DRAW_NOT_OPEN"}])
    entry_id = f"d{request_key[:24]}" if request_key else f"d{secrets.token_hex(12)}"
    seed = repo().seed(draw_id)
    if seed is None:
        raise Conflict("the draw has no seed; save it again")
    attempt = _Attempt(member_id, draw, rec, seed, entry_id, now)
    for i in range(ATTEMPTS):
        try:
            return _enter_once(attempt)
        except _Again:
            time.sleep(random.uniform(0, min(0.2, 0.01 * 2 ** min(i, 5))))
    raise Conflict("the draw is busy; retry")


def _enter_once(a: _Attempt) -> Item:
    draw = a.draw
    pools = repo().pools(draw.id, int(a.rec["shards"]))
    granted, used = repo().grants(a.member_id, draw.id)
    use_grant = used < granted
    if not use_grant and draw.entry.cost_points is None:
        raise Unprocessable("no draw entries left: this draw is entered with entries a "
                            "campaign grants", details=[{"path": "/", "message": "no entries",
                                                         "reason": "DRAW_NO_ENTRIES"}])
    res = dom.outcome(draw, a.seed, a.entry_id, lambda p: any(x.pays(p) for x in pools))
    prize = draw.prize(res.prize_id) if res.prize_id else None
    if prize is None:
        raise SoldOut(f"every prize of draw {draw.id} is gone")
    pool = dom.paying_pool(pools, prize, dom.home_shard(a.entry_id, len(pools)))
    assert pool is not None
    entry, named, tz = _prize_items(a, prize, 0 if use_grant else draw.entry.cost_points or 0)
    entry.update(set_aside=list(res.set_aside), pool=pool.shard, paid_with="grant"
                 if use_grant else "points")
    day = local_date(a.now, tz or draw.timezone).isoformat()
    gift = _gift(a, prize) if prize.kind == dom.PrizeKind.gift else None
    if gift is not None:
        named += _fulfilment(a, prize, str(gift["redemption_id"]))
    named = [*repo().entry_items(draw, entry, prize=prize, pool=pool.shard, day=day,
                                 use_grant=use_grant, gift=gift), *named]
    try:
        repo().transact(named)
    except TransactionCancelled as e:
        return _cancelled(a, e)
    metrics_add("DrawEntered")
    return entry


def _prize_items(a: _Attempt, prize: dom.Prize, cost: int) -> tuple[Item, Named, str | None]:
    """The entry record, the points/coupon items and the member's timezone."""
    now_iso = clock.iso(a.now)
    entry: Item = {"entry_id": a.entry_id, "draw_id": a.draw.id, "member_id": a.member_id,
                   "draw_version": a.rec["version"], "prize_id": prize.id,
                   "kind": prize.kind.value, "cost_points": cost, "created_at": now_iso}
    named: Named = []
    earn = prize.amount or 0
    tz: str | None = None
    if cost or earn:
        state, named = loyalty.exchange_items(
            a.member_id, loyalty.live_program(), cost, earn,
            reason=f"draw {a.draw.id} entry {a.entry_id}",
            earn_reason=f"draw {a.draw.id} entry {a.entry_id} prize {prize.id}",
            source=f"draw:{a.draw.id}", refs={"draw_id": a.draw.id, "ref": a.entry_id})
        tz = state.timezone
        entry["points_won"] = earn or None
    else:
        tz = deps().loyalty.state(a.member_id, consistent=False).timezone
    if prize.kind == dom.PrizeKind.coupon:
        assert prize.template_id
        coupon_id, items = loyalty_hooks.coupon_issue_items(
            a.member_id, prize.template_id, source="draw", ref=a.entry_id, now=now_iso)
        entry["coupon_id"] = coupon_id
        named += loyalty.named("coupon", items)
    return {k: v for k, v in entry.items() if v is not None}, named, tz


def _gift(a: _Attempt, prize: dom.Prize) -> Item:
    """The gift's fulfilment record (a loyalty redemption with status ``to_fulfil``)."""
    return {"redemption_id": f"g{a.entry_id[1:]}", "reward_id": f"draw:{a.draw.id}:{prize.id}",
            "kind": "gift", "points_spent": 0, "gift_sku": prize.sku, "status": "to_fulfil",
            "source": "draw", "draw_id": a.draw.id, "entry_id": a.entry_id,
            "created_at": clock.iso(a.now)}


def _fulfilment(a: _Attempt, prize: dom.Prize, gift_id: str) -> Named:
    """The won gift in the operators' fulfilment queue and the member's gifts (same id as
    its redemption record; nothing to refund: the entry's points bought a chance)."""
    assert prize.sku
    _, items = gift_items.create_fulfilment_items(
        a.member_id, prize.sku, source="draw", source_ref=a.entry_id,
        created_at=clock.iso(a.now), name=prize.name.zh if prize.name else "",
        fulfilment_id=gift_id)
    return items


def _cancelled(a: _Attempt, e: TransactionCancelled) -> Item:
    if e.failed_item("entry"):
        first = e.old("entry") or repo().entry(a.member_id, a.draw.id, a.entry_id)
        if first is not None:
            return {k: v for k, v in first.items() if k not in ("PK", "SK", "GSI1PK",
                                                               "GSI1SK", "entity")}
    if e.failed_item("limit_total"):
        raise LimitReached(f"you have used all {a.draw.limits.total} entries of this draw",
                           details=[{"path": "/", "message": "total entries used",
                                     "reason": "DRAW_LIMIT_TOTAL"}]) from e
    if e.failed_item("limit_day"):
        raise LimitReached(f"you have used today's {a.draw.limits.per_day} entries",
                           details=[{"path": "/", "message": "today's entries used",
                                     "reason": "DRAW_LIMIT_DAY"}]) from e
    if e.throttled or e.failed_names & RETRY_ON or e.failed_prefixed("lot:"):
        raise _Again() from e
    if e.failed_prefixed("coupon:"):
        raise Conflict("the coupon prize could not be issued; retry") from e
    raise Conflict("the entry could not be recorded; retry") from e


def my_entries(member_id: str, draw_id: str, limit: int = 100) -> Item:
    """The member's entries of a draw, newest first, with entries granted and left."""
    draw, _ = _live(draw_id)
    items = sorted(repo().member_entries(member_id, draw_id, limit),
                   key=lambda i: str(i.get("created_at")), reverse=True)
    granted, used = repo().grants(member_id, draw_id)
    return {"draw_id": draw.id, "entries": items, "granted": granted,
            "granted_left": max(0, granted - used)}


# --- campaigns: granted entries --------------------------------------------------------------
def grant_items(member_id: str, draw_id: str, count: int, ref: str) -> Named:
    """Named items granting ``count`` entries, for a caller's transaction (a campaign's
    send): ``grant_ref`` is create-only, so one cause grants once."""
    _live(draw_id)
    return repo().grant_items(member_id, draw_id, count, ref, clock.iso())


def campaign_grant_items(member_id: str, draw_id: str, count: int, ref: str, now: str
                         ) -> Named:
    """``grant_items`` for campaign delivery, which has already looked the draw up (its
    effects cache ``definition``): no read per member."""
    return repo().grant_items(member_id, draw_id, count, ref, now)


def definition(draw_id: str) -> dom.Draw | None:
    """The live draw, or None (campaign lint, delivery's draw_entries effect)."""
    found = repo().current(draw_id)
    return found[0] if found else None


def grant(member_id: str, draw_id: str, count: int, ref: str) -> bool:
    """Grant entries once per ``ref``; False when that ref had already granted."""
    try:
        repo().transact(grant_items(member_id, draw_id, count, ref))
    except TransactionCancelled as e:
        if e.failed_item("grant_ref"):
            return False
        raise
    metrics_add("DrawEntriesGranted", count)
    return True


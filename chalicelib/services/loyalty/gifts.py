"""Gift fulfilment (issue 14): the operators' queue, status moves, the member's gifts and
the partner webhook's sweeper.

Every move is one transaction: the gift's Put conditional on the version and status read,
the audit entry, the partner webhook owed (``gift.to_fulfil``/``gift.cancelled``) and, for a
cancellation, the points back through the loyalty service's ``credit_items`` (LOYALTY at the
version read, a ledger entry, a lot) plus one unit back on the reward's stock counter. A
cancellation can therefore return the points only once: a second one finds the gift
cancelled (409 ``FULFILMENT_STATUS``), a concurrent one loses the condition.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.adapters.guards import guard_put, replayed
from chalicelib.adapters.loyalty.gifts import GiftRepository, Hook
from chalicelib.adapters.loyalty.writes import StaleWrite
from chalicelib.domain.loyalty.fulfilment import (
    Action,
    Fulfilment,
    FulfilmentPage,
    FulfilmentView,
    MemberGift,
    MemberGifts,
    Status,
    admin_view,
    member_view,
    moved,
    partner_payload,
)
from chalicelib.errors import Conflict, NotFound
from chalicelib.observability import logger, metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps
from chalicelib.services.loyalty import gift_items, loyalty
from chalicelib.services.loyalty import program as programs

Named = list[tuple[str, dict[str, Any]]]
HOOK_BACKOFF = timedelta(minutes=1)
HOOK_BACKOFF_CAP = timedelta(hours=2)
HOOK_MAX_TRIES = 8  # 0, +1, +2, +4 … +64 minutes, then dead-lettered
SWEEP_LIMIT = 100   # per shard per run


def repo() -> GiftRepository:
    return deps().gifts


# --- reads ------------------------------------------------------------------------------
def get(fulfilment_id: str) -> FulfilmentView:
    f = repo().get(fulfilment_id)
    if f is None:
        raise NotFound(f"fulfilment {fulfilment_id} does not exist")
    return admin_view(f)


def queue(status: Status, limit: int, cursor: str | None) -> FulfilmentPage:
    """Gifts in ``status``, newest first (the sharded status index; never a Scan)."""
    found, nxt = repo().page(status.value, limit, cursor)
    return FulfilmentPage(items=[admin_view(f) for f in found], next_cursor=nxt)


def my_gifts(member_id: str, limit: int, cursor: str | None) -> MemberGifts:
    """The member's gifts, newest first, with carrier and tracking once shipped."""
    found, nxt = repo().member_page(member_id, limit, cursor)
    return MemberGifts(gifts=[MemberGift.model_validate(member_view(f)) for f in found
                              if f.member_id == member_id], next_cursor=nxt)


# --- operator moves ---------------------------------------------------------------------
def ship(fulfilment_id: str, carrier: str, tracking_number: str, actor: str,
         request_key: str | None = None) -> FulfilmentView:
    """to_fulfil → shipped, with the carrier and tracking number."""
    return _move(fulfilment_id, Action.ship, actor, request_key,
                 {"carrier": carrier, "tracking_number": tracking_number})


def deliver(fulfilment_id: str, actor: str, note: str | None = None,
            request_key: str | None = None) -> FulfilmentView:
    """shipped → delivered."""
    return _move(fulfilment_id, Action.deliver, actor, request_key, {"note": note})


def cancel(fulfilment_id: str, reason: str, actor: str, request_key: str | None = None
           ) -> FulfilmentView:
    """to_fulfil | shipped → cancelled: the points back (exactly once) and the stock unit."""
    return _move(fulfilment_id, Action.cancel, actor, request_key, {"reason": reason})


def _move(fulfilment_id: str, action: Action, actor: str, request_key: str | None,
          details: dict[str, Any]) -> FulfilmentView:
    def attempt() -> FulfilmentView:
        before = repo().get(fulfilment_id)
        if before is None:
            raise NotFound(f"fulfilment {fulfilment_id} does not exist")
        at = clock.iso()
        try:
            after = moved(before, action, at, actor, **details)
        except Conflict:
            if request_key and repo().request_result(request_key) is not None:
                return admin_view(before)  # this keyed request already made the move
            raise
        named = _move_items(before, after, action, at, actor, details)
        if request_key:
            named.append(("request", guard_put(request_key, {"fulfilment_id": fulfilment_id,
                                                             "version": after.version})))
        try:
            deps().loyalty.transact_named(named, loyalty.token(),
                                          guarded={"fulfilment", "loyalty"})
        except (StaleWrite, TransactionCancelled) as e:
            cancelled = e.cancelled if isinstance(e, StaleWrite) else e
            if cancelled is not None and replayed(cancelled, request_key) is not None:
                return get(fulfilment_id)
            raise
        metrics_add(f"Gift{after.status.value.title().replace('_', '')}")
        return admin_view(after)

    return loyalty.optimistic(attempt)


def _move_items(before: Fulfilment, after: Fulfilment, action: Action, at: str, actor: str,
                details: dict[str, Any]) -> Named:
    fid = before.fulfilment_id
    audit = {k: v for k, v in details.items() if v is not None}
    named: Named = [("fulfilment", repo().move_item(before, after)),
                    ("audit", repo().audit_item(at, actor, fid, action.value,
                                                status_from=before.status.value,
                                                status_to=after.status.value, **audit))]
    if action is Action.cancel:
        named += _returns(before)
    return named + gift_items.hook_items(fid, after.status, at)


def _returns(f: Fulfilment) -> Named:
    """What a cancellation gives back: the points (loyalty's named ``loyalty``/``ledger``/
    ``lot`` items, from a fresh read), the redemption's count towards the reward's
    per-member limit and one unit of a stocked reward."""
    named: Named = []
    if f.refund_points > 0:
        _, program = programs.current()
        _, _, named = loyalty.credit_items(
            f.member_id, program, f.refund_points, kind="return",
            reason=f"gift {f.fulfilment_id} cancelled", source=f"gift:{f.fulfilment_id}",
            refs={"fulfilment_id": f.fulfilment_id, "reward_id": f.reward_id},
            reward_back=f.reward_id if f.source == "reward" else None)
    if f.reward_id and f.stock_shard is not None:
        named.append(("stock", repo().stock_return_item(f.reward_id, f.stock_shard)))
    return named


# --- the partner webhook ------------------------------------------------------------------
def hook_retry_at(tries: int, now: datetime) -> str:
    """When a webhook tried ``tries`` times may be tried again (exponential backoff)."""
    return clock.iso(now + min(HOOK_BACKOFF_CAP, HOOK_BACKOFF * 2 ** max(0, tries - 1)))


def sweep_webhooks(now: datetime | None = None) -> dict[str, int]:
    """Send every partner webhook whose time has come (scheduled each minute): claim it
    (tries + 1, next retry time), POST it signed with its stable delivery id, finish it.
    A crash between the POST and the finish re-sends the same delivery id (the partner
    drops it); after HOOK_MAX_TRIES tries it is dead-lettered."""
    now = now or clock.now()
    report: Counter[str] = Counter()
    for hook in repo().hooks_due(clock.iso(now), SWEEP_LIMIT):
        report["due"] += 1
        if not repo().hook_claim(hook, hook_retry_at(hook.tries + 1, now)):
            report["skipped"] += 1  # another sweeper has it
            continue
        report[_try(replace(hook, tries=hook.tries + 1))] += 1
    if report["due"]:
        logger().info("gift webhooks swept", extra=dict(report))
    return dict(report)


def _try(hook: Hook) -> str:
    gift = repo().get(hook.fulfilment_id)
    if gift is None:
        return _finish(hook, "failed", "gone")
    body = partner_payload(gift, hook.event, hook.delivery_id)
    sent = deps().gift_partner.send(hook.event, body, hook.delivery_id)
    if sent.ok:
        return _finish(hook, "sent", None)
    if not sent.retry:
        return _finish(hook, "failed", sent.detail)
    if hook.tries >= HOOK_MAX_TRIES:
        return _finish(hook, "dead", sent.detail)
    logger().warning("gift webhook failed; retried later",
                     extra={"event": hook.event, "tries": hook.tries, "error": sent.detail})
    metrics_add("GiftWebhookRetry")
    return "retrying"


def _finish(hook: Hook, state: str, detail: str | None) -> str:
    if repo().hook_finish(hook, state, detail):
        metrics_add({"sent": "GiftWebhookSent", "dead": "GiftWebhookDeadLettered"}.get(
            state, "GiftWebhookFailed"))
        return state
    return "skipped"

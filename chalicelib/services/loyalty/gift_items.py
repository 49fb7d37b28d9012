"""Gifts to fulfil, as items for another use case's own transaction (issue 14).

A reward of kind ``gift`` (``loyalty.redeem``) and a lucky-draw prize that is a gift both
create their fulfilment record here, inside the transaction that spends the points or
records the entry, so the gift exists exactly when the points are gone::

    gift, items = create_fulfilment_items(member_id, "MUG-2026", source="draw",
                                          source_ref=entry_id, created_at=now_iso,
                                          name="新年马克杯", refund_points=0)
    write_named(client, [*my_items, *items])     # or transact_named

The id is derived from ``(source, source_ref)``: a retry of the same entry collides on the
create-only Put (``e.failed_item("fulfilment")``) instead of creating a second gift. When the
partner webhook is configured, ``fulfilment_hook`` (the ``gift.to_fulfil`` event owed to the
partner) rides along. No import of the loyalty service: loyalty imports this module.
"""

from __future__ import annotations

import hashlib
from typing import Any

from chalicelib.domain.loyalty.fulfilment import PARTNER_EVENTS, Fulfilment, Status
from chalicelib.domain.loyalty.program import Reward
from chalicelib.services.deps import deps

Named = list[tuple[str, dict[str, Any]]]


def fulfilment_id_for(source: str, source_ref: str) -> str:
    """The deterministic id of the gift a (source, ref) creates."""
    return "g" + hashlib.sha256(f"{source}|{source_ref}".encode()).hexdigest()[:19]


def delivery_id(fulfilment_id: str, event: str) -> str:
    """The partner's idempotency key of one event of one gift (stable across retries)."""
    return f"{fulfilment_id}:{event}"


def hook_items(fulfilment_id: str, status: Status, at: str, name: str = "fulfilment_hook"
               ) -> Named:
    """The partner webhook owed for a gift reaching ``status`` (none when the partner is
    not configured or the status is not an event the partner hears of)."""
    event = PARTNER_EVENTS.get(status)
    if event is None or not deps().gift_partner.configured:
        return []
    return [(name, deps().gifts.hook_item(fulfilment_id, event,
                                          delivery_id(fulfilment_id, event), at, at))]


def create_fulfilment_items(member_id: str, sku: str, *, source: str, source_ref: str,
                            created_at: str, name: str = "", quantity: int = 1,
                            refund_points: int = 0, reward_id: str | None = None,
                            stock_shard: int | None = None, prefix: str = "fulfilment",
                            fulfilment_id: str | None = None) -> tuple[Fulfilment, Named]:
    """A new ``to_fulfil`` gift and its named items: ``<prefix>`` (create-only) and, when
    the partner is configured, ``<prefix>_hook``. ``refund_points``: what a cancellation
    gives back; ``reward_id``/``stock_shard``: the stock counter it gives a unit back to."""
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    fid = fulfilment_id or fulfilment_id_for(source, source_ref)
    gift = Fulfilment(fulfilment_id=fid, member_id=member_id, sku=sku, source=source,
                      source_ref=source_ref, created_at=created_at, name=name,
                      quantity=quantity, refund_points=refund_points, reward_id=reward_id,
                      stock_shard=stock_shard,
                      history=({"status": Status.to_fulfil.value, "at": created_at,
                                "by": source},))
    items: Named = [(prefix, deps().gifts.create_item(gift))]
    return gift, items + hook_items(fid, Status.to_fulfil, created_at, f"{prefix}_hook")


def reward_gift_items(member_id: str, reward: Reward, redemption_id: str, now_iso: str,
                      shard: int) -> Named:
    """A gift reward's fulfilment (its id is the redemption id): a cancellation returns
    the points it cost and, for a stocked reward, the unit on the counter shard it took."""
    assert reward.gift_sku
    stocked = reward.stock is not None
    _, items = create_fulfilment_items(
        member_id, reward.gift_sku, source="reward", source_ref=redemption_id,
        created_at=now_iso, name=reward.name, refund_points=reward.cost_points,
        reward_id=reward.id, stock_shard=shard if stocked else None,
        fulfilment_id=redemption_id)
    return items

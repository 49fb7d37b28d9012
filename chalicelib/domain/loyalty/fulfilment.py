"""Gift fulfilment (issue 14): the life of a physical gift after it was won or redeemed.

A gift starts ``to_fulfil`` (a reward of kind ``gift``, a lucky-draw prize); operators mark it
``shipped`` (carrier and tracking number), then ``delivered``, or ``cancelled`` before
delivery (the points it cost go back to the member, once). Pure rules: which moves are
allowed, what the member and the partner see; no I/O and no clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from chalicelib.domain.models import OneLine, Out, Strict, length
from chalicelib.errors import Conflict


class Status(StrEnum):
    to_fulfil = "to_fulfil"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"


class Action(StrEnum):
    ship = "ship"
    deliver = "deliver"
    cancel = "cancel"


# action → (the statuses it may start from, the status it leads to)
MOVES: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.ship: (frozenset({Status.to_fulfil}), Status.shipped),
    Action.deliver: (frozenset({Status.shipped}), Status.delivered),
    Action.cancel: (frozenset({Status.to_fulfil, Status.shipped}), Status.cancelled),
}
REASON = "FULFILMENT_STATUS"  # details[].reason of a refused move (409)
# The partner hears of these moves (webhook events); the others are ours.
PARTNER_EVENTS: dict[Status, str] = {Status.to_fulfil: "gift.to_fulfil",
                                     Status.cancelled: "gift.cancelled"}


def allowed_from(action: Action) -> frozenset[Status]:
    return MOVES[action][0]


def next_status(current: Status | str, action: Action) -> Status:
    """Where ``action`` takes a gift that is ``current``; Conflict (reason
    FULFILMENT_STATUS) when that move is not allowed."""
    sources, target = MOVES[action]
    now = Status(current)
    if now not in sources:
        raise Conflict(f"a gift that is {now.value} cannot be marked {target.value}",
                       details=[{"path": "/status", "reason": REASON, "status": now.value,
                                 "action": action.value,
                                 "allowed_from": sorted(s.value for s in sources)}])
    return target


@dataclass(frozen=True)
class Fulfilment:
    """One gift to send to one member. ``source``: ``reward`` or ``draw`` (or another
    capability's name); ``source_ref``: its redemption or entry id. ``refund_points``: what a
    cancellation returns (the points the gift cost); ``reward_id``/``stock_shard``: the
    reward counter a cancellation gives one unit back to (stocked rewards only)."""

    fulfilment_id: str
    member_id: str
    sku: str
    source: str
    source_ref: str
    created_at: str
    status: Status = Status.to_fulfil
    name: str = ""
    quantity: int = 1
    refund_points: int = 0
    reward_id: str | None = None
    stock_shard: int | None = None
    version: int = 1
    updated_at: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: str | None = None
    delivered_at: str | None = None
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    points_returned: int = 0
    history: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def fields(self) -> dict[str, Any]:
        """Every attribute as stored (None left out)."""
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out["status"] = self.status.value
        out["history"] = list(self.history)
        return out

    @classmethod
    def from_fields(cls, data: dict[str, Any]) -> Fulfilment:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        for k in ("quantity", "refund_points", "version", "points_returned"):
            if k in known:
                known[k] = int(known[k])
        if known.get("stock_shard") is not None:
            known["stock_shard"] = int(known["stock_shard"])
        known["status"] = Status(known.get("status", "to_fulfil"))
        known["history"] = tuple(known.get("history") or ())
        return cls(**known)


def moved(f: Fulfilment, action: Action, at: str, actor: str, **details: Any) -> Fulfilment:
    """``f`` after ``action`` by ``actor`` at ``at`` (details: carrier, tracking_number,
    reason); Conflict when the move is not allowed from ``f.status``."""
    from dataclasses import replace

    target = next_status(f.status, action)
    step = {"status": target.value, "at": at, "by": actor,
            **{k: v for k, v in details.items() if v is not None}}
    changes: dict[str, Any] = {"status": target, "version": f.version + 1, "updated_at": at,
                               "history": (*f.history, step)}
    if action is Action.ship:
        changes |= {"carrier": details.get("carrier"),
                    "tracking_number": details.get("tracking_number"), "shipped_at": at}
    elif action is Action.deliver:
        changes["delivered_at"] = at
    else:
        changes |= {"cancelled_at": at, "cancel_reason": details.get("reason"),
                    "points_returned": f.refund_points}
    return replace(f, **changes)


def partner_payload(f: Fulfilment, event: str, delivery_id: str) -> bytes:
    """The JSON a fulfilment partner receives (compact, UTF-8, keys sorted: what is signed).
    No contact data: the partner looks the shipping address up with the member id."""
    body = {"event": event, "delivery_id": delivery_id, "fulfilment_id": f.fulfilment_id,
            "member_id": f.member_id, "sku": f.sku, "name": f.name, "quantity": f.quantity,
            "status": f.status.value, "created_at": f.created_at, "source": f.source,
            "source_ref": f.source_ref}
    if f.status is Status.cancelled:
        body["cancel_reason"] = f.cancel_reason
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True).encode()


def member_view(f: Fulfilment) -> dict[str, Any]:
    """What the member sees of a gift: carrier and tracking only once it shipped."""
    out = {"fulfilment_id": f.fulfilment_id, "sku": f.sku, "name": f.name,
           "quantity": f.quantity, "status": f.status.value, "source": f.source,
           "created_at": f.created_at, "updated_at": f.updated_at or f.created_at}
    if f.status in (Status.shipped, Status.delivered):
        out |= {"carrier": f.carrier, "tracking_number": f.tracking_number,
                "shipped_at": f.shipped_at}
    if f.status is Status.delivered:
        out["delivered_at"] = f.delivered_at
    if f.status is Status.cancelled:
        out |= {"cancelled_at": f.cancelled_at, "points_returned": f.points_returned}
    return out


# --- request and response bodies ---------------------------------------------------------
Carrier = Annotated[str, length(1, 40), OneLine]
Tracking = Annotated[str, length(3, 64), Field(pattern=r"^[A-Za-z0-9-]+$")]


class ShipBody(Strict):
    """Body of POST /admin/fulfilments/{id}/ship."""

    carrier: Carrier = Field(description="顺丰 / SF Express, 京东物流, EMS …")
    tracking_number: Tracking


class CancelBody(Strict):
    """Body of POST /admin/fulfilments/{id}/cancel."""

    reason: Annotated[str, length(3, 200), OneLine]


class DeliverBody(Strict):
    """Body of POST /admin/fulfilments/{id}/deliver (may be empty)."""

    note: Annotated[str, length(0, 200), OneLine] | None = None


class FulfilmentView(Out):
    fulfilment_id: str
    member_id: str
    sku: str
    name: str = ""
    quantity: int = 1
    status: str
    source: str
    source_ref: str
    created_at: str
    updated_at: str | None = None
    refund_points: int = 0
    reward_id: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: str | None = None
    delivered_at: str | None = None
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    points_returned: int = 0
    version: int = 1
    history: list[dict[str, Any]] = []


class FulfilmentPage(Out):
    items: list[FulfilmentView]
    next_cursor: str | None = None


class MemberGift(Out):
    fulfilment_id: str
    sku: str
    name: str = ""
    quantity: int = 1
    status: str
    source: str
    created_at: str
    updated_at: str
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: str | None = None
    delivered_at: str | None = None
    cancelled_at: str | None = None
    points_returned: int | None = None


class MemberGifts(Out):
    gifts: list[MemberGift]
    next_cursor: str | None = None


def admin_view(f: Fulfilment) -> FulfilmentView:
    data = f.fields()
    data.pop("stock_shard", None)
    return FulfilmentView.model_validate(data)

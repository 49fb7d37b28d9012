"""Loyalty records as stored: orders, refunds, redemptions, and what reads hand back.

The services describe a change with domain objects (``NewOrder``, ``OrderPlan``, results);
these builders turn them into items, keys and bookkeeping included, and turn stored items
back into values the services use without knowing the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.adapters import keys
from chalicelib.domain.loyalty import dates
from chalicelib.domain.loyalty.orders import IN_FACTS, NewOrder, OrderPlan
from chalicelib.domain.loyalty.state import LoyaltyState
from chalicelib.domain.loyalty.views import OrderResult

Item = dict[str, Any]
# Bookkeeping an order item carries besides its fields (never shown as the order).
ORDER_BOOKKEEPING = ("PK", "SK", "fingerprint", "result", "entity", "version")


@dataclass(frozen=True)
class Recorded:
    """A stored order or refund, as replaying its request needs it."""

    fingerprint: str | None
    result: dict[str, Any]
    created_at: str = ""


@dataclass(frozen=True)
class StoredOrder:
    """An order as recorded: its fields (no keys, no bookkeeping), version and refunds."""

    fields: dict[str, Any]
    version: int
    recorded: Recorded
    refunds: dict[str, Recorded]  # by refund id


@dataclass(frozen=True)
class OrderReads:
    """What recording an order reads first, in one request."""

    member_live: bool  # the profile exists and is not erased
    timezone: str | None  # the member's (profile)
    state: LoyaltyState
    recorded: Recorded | None  # the order, when this order id was recorded before
    program: Item | None  # PROGRAM/CURRENT, when asked for
    birthday: Item | None = None  # the profile's birthday facts (the birthday perk reads it)


BIRTHDAY_FACTS = ("birthday", "birthday_set_by", "birthday_set_at", "timezone")


def recorded(item: Item) -> Recorded:
    return Recorded(item.get("fingerprint"), dict(item["result"]), item.get("created_at", ""))


def stored_order(order: Item, refunds: list[Item]) -> StoredOrder:
    return StoredOrder(fields={k: v for k, v in order.items() if k not in ORDER_BOOKKEEPING},
                       version=int(order["version"]), recorded=recorded(order),
                       refunds={str(r["refund_id"]): recorded(r) for r in refunds})


def order_record(req: NewOrder, plan: OrderPlan, result: OrderResult, *, program_version: int,
                 fingerprint: str, lot_id: str | None, now: str) -> Item:
    """The ORDER item: what was bought and earned, the tier move, and the first result."""
    gross = plan.earned.gross
    return {
        **keys.order(req.order_id), "entity": "order", "version": 1, "order_id": req.order_id,
        "member_id": req.member_id, "currency": req.currency,
        "placed_at": dates.iso(req.placed_at), "recorded_at": now, "store_id": req.store_id,
        "channel": req.channel, "payment_method": req.payment_method,
        "reservation_id": req.reservation_id, "gross": gross,
        "discount_total": req.discount_total, "shipping_fee": req.shipping_fee,
        "total": gross - req.discount_total + req.shipping_fee,
        "qualifying_spend": plan.earned.qualifying, "points": plan.points, "lot_id": lot_id,
        "month": plan.month, "first_order": plan.first_order,
        "tier_before": result.tier.before, "tier_after": result.tier.after,
        "tier_change": result.tier.change, "program_version": program_version,
        "fingerprint": fingerprint, "refunded_value": 0, "reversed_points": 0,
        "fully_refunded": False, IN_FACTS: True,  # counted in the member's facts
        "lines": [{"sku": ln.sku, "category": ln.category, "quantity": ln.quantity,
                   "unit_price": ln.unit_price, "gross": ln.gross, "discount": ln.discount,
                   "qualifying": ln.qualifying, "points": ln.points, "refunded_qty": 0,
                   "refunded_value": 0, "reversed_points": 0} for ln in plan.earned.lines],
        "result": result.model_dump(mode="json"),
    }


def refund_record(order_id: str, refund_id: str, member_id: str, *, fingerprint: str,
                  result: dict[str, Any], now: str) -> Item:
    return {**keys.order_refund(order_id, refund_id), "entity": "refund",
            "order_id": order_id, "refund_id": refund_id, "member_id": member_id,
            "created_at": now, "fingerprint": fingerprint, "result": result}


def redemption_record(member_id: str, redemption: dict[str, Any]) -> Item:
    return {**keys.member_redemption(member_id, redemption["created_at"],
                                     redemption["redemption_id"]),
            "entity": "redemption", "member_id": member_id, **redemption}


def wallet_coupon_record(member_id: str, coupon_id: str, template_id: str, source: str,
                         ref: str, now: str) -> Item:
    """Fallback wallet entry, for the coupons service to take over (validity is applied
    from the template when the coupon is first read or used)."""
    return {**keys.loyalty_issued_coupon(member_id, coupon_id), "entity": "coupon",
            "coupon_id": coupon_id, "member_id": member_id, "template_id": template_id,
            "status": "available", "source": source, "source_ref": ref, "claimed_at": now,
            "issued_by": "loyalty"}

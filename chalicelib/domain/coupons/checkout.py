"""Checkout requests and the reservation record (one per order id)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, SupportsInt

from pydantic import Field, StringConstraints

from chalicelib.domain.coupons.cart import Cart
from chalicelib.domain.coupons.quote import Stack
from chalicelib.domain.members.model import MEMBER_ID_RE
from chalicelib.domain.models import Strict

OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
MemberId = Annotated[str, StringConstraints(pattern=MEMBER_ID_RE)]
CouponId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MAX_CHOSEN = 20
TTL_AFTER_HOLD = 7 * 24 * 3600


class QuoteRequest(Strict):
    """Body of POST /checkout/quote (``member_id`` for the service role only)."""

    member_id: MemberId | None = None
    cart: Cart
    coupon_ids: list[CouponId] | None = Field(default=None, max_length=MAX_CHOSEN)


class ReservationRequest(Strict):
    """Body of POST /checkout/reservations (``member_id`` for the service role only)."""

    order_id: OrderId
    member_id: MemberId | None = None
    coupon_ids: list[CouponId] = Field(min_length=1, max_length=MAX_CHOSEN)
    cart: Cart


class ReservationView(Stack):
    """A reservation: the discount breakdown it holds and its state."""

    reservation_id: str
    order_id: str
    member_id: str
    status: str  # held | expired | confirmed | released
    subtotal: int
    shipping_fee: int
    expires_at: str
    created_at: str
    confirmed_at: str | None = None
    released_at: str | None = None


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


# --- reading stored items (plain JSON values from the adapter) ---------------------------

def _int(value: object) -> int:
    """``int(value)`` of a stored number (TypeError for anything int() refuses)."""
    if isinstance(value, (str, SupportsInt)):
        return int(value)
    raise TypeError(f"not a number: {value!r}")


def _rows(value: object) -> list[Mapping[str, object]]:
    """A stored list of JSON objects."""
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


def _restore_on_refund(coupon: Mapping[str, object]) -> bool:
    rules = coupon["rules"]
    return bool(rules.get("restore_on_refund", True)) if isinstance(rules, Mapping) else True


def reservation_record(req: ReservationRequest, member_id: str, best: Stack,
                       coupons: Mapping[str, Mapping[str, object]], now: datetime,
                       hold_until: int, version: int) -> dict[str, object]:
    """The stored reservation (keys added by the adapter); coupons carry what a refund needs."""
    shares = []
    for share in best.coupons:
        item = coupons[share.coupon_id]
        shares.append({**share.model_dump(mode="json"), "valid_until": item["valid_until"],
                       "restore_on_refund": _restore_on_refund(item)})
    return {
        "entity": "reservation", "order_id": req.order_id, "reservation_id": req.order_id,
        "member_id": member_id, "status": "held", "version": version,
        "coupon_ids": best.coupon_ids, "coupons": shares, "discount": best.discount,
        "shipping_discount": best.shipping_discount, "total": best.total,
        "subtotal": sum(i.unit_price * i.quantity for i in req.cart.items),
        "shipping_fee": req.cart.shipping_fee,
        "gifts": [g.model_dump(mode="json") for g in best.gifts],
        "lines": [ln.model_dump(mode="json") for ln in best.lines],
        # the cart as reserved: the order that confirms it must repeat it (order_mismatches)
        # (category too: it decides coupon scope and earning multipliers)
        "items": [{"sku": i.sku, "category": i.category, "quantity": i.quantity,
                   "unit_price": i.unit_price} for i in req.cart.items],
        "hold_until": hold_until,
        "expires_at": _iso(datetime.fromtimestamp(hold_until, UTC)),
        "created_at": _iso(now), "ttl_epoch": hold_until + TTL_AFTER_HOLD,
    }


def reservation_view(record: Mapping[str, object], now: datetime) -> ReservationView:
    status = record["status"]
    if status == "held" and _int(record["hold_until"]) <= now.timestamp():
        status = "expired"
    return ReservationView.model_validate(dict(
        reservation_id=record.get("reservation_id", record["order_id"]),
        order_id=record["order_id"], member_id=record["member_id"], status=status,
        coupon_ids=record["coupon_ids"], discount=record["discount"],
        shipping_discount=record["shipping_discount"], gifts=record.get("gifts", []),
        total=record["total"], lines=record.get("lines", []),
        coupons=[{k: v for k, v in c.items() if k not in ("valid_until", "restore_on_refund")}
                 for c in _rows(record.get("coupons", []))],
        subtotal=record["subtotal"], shipping_fee=record["shipping_fee"],
        expires_at=record["expires_at"], created_at=record["created_at"],
        confirmed_at=record.get("confirmed_at"), released_at=record.get("released_at")))


# --- the order that confirms a reservation -----------------------------------------------

MISMATCH = "RESERVATION_MISMATCH"


@dataclass(frozen=True)
class OrderTerms:
    """What an order (POST /orders) says, as far as its reservation is concerned."""

    order_id: str
    member_id: str
    lines: Sequence[tuple[str, int, int]]  # (sku, quantity, unit_price) in order
    discount_total: int
    shipping_fee: int
    categories: Sequence[str | None] | None = None  # per line; None: not compared


Mismatch = dict[str, object]  # {path, message, reason, reserved, order}


def _diff(path: str, reserved: object, ordered: object) -> Mismatch:
    return {"path": path, "message": f"reserved {reserved!r}, the order has {ordered!r}",
            "reason": MISMATCH, "reserved": reserved, "order": ordered}


def order_mismatches(res: Mapping[str, object], order: OrderTerms) -> list[Mismatch]:
    """Every way ``order`` differs from the reservation it confirms (empty: it matches).

    The order must be the reserved order, for the reserved member, with the reserved lines
    in the reserved sequence (sku, category, quantity, unit price; reservations stored before
    categories were kept compare the rest), the reserved item discount and the
    shipping fee left after the reserved shipping discount. Another member's or order's
    reservation reports only that, never that cart's contents."""
    owner = [_diff(path, res[attr], mine) for path, attr, mine in (
        ("/order_id", "order_id", order.order_id), ("/member_id", "member_id", order.member_id))
        if res[attr] != mine]
    if owner:
        return owner
    if "items" in res:
        out = _item_mismatches(_rows(res["items"]), order)
    else:  # reserved before carts were kept: skus and the subtotal
        out = _sku_mismatches(res, order)
    if _int(res["discount"]) != order.discount_total:
        out.append(_diff("/discount_total", _int(res["discount"]), order.discount_total))
    shipping = _int(res["shipping_fee"]) - _int(res["shipping_discount"])
    if shipping != order.shipping_fee:
        out.append(_diff("/shipping_fee", shipping, order.shipping_fee))
    return out


def _sku_mismatches(res: Mapping[str, object], order: OrderTerms) -> list[Mismatch]:
    out: list[Mismatch] = []
    skus = [ln["sku"] for ln in _rows(res["lines"])]
    if skus != [sku for sku, _, _ in order.lines]:
        out.append(_diff("/items", skus, [sku for sku, _, _ in order.lines]))
    gross = sum(q * p for _, q, p in order.lines)
    if _int(res["subtotal"]) != gross:
        out.append(_diff("/items", _int(res["subtotal"]), gross))
    return out


def _item_mismatches(items: list[Mapping[str, object]], order: OrderTerms) -> list[Mismatch]:
    out: list[Mismatch] = []
    reserved = [(i["sku"], _int(i["quantity"]), _int(i["unit_price"])) for i in items]
    if len(reserved) != len(order.lines):
        out.append(_diff("/items", len(reserved), len(order.lines)))
    for n, (want, got) in enumerate(zip(reserved, order.lines, strict=False)):
        for field, a, b in zip(("sku", "quantity", "unit_price"), want, got, strict=True):
            if a != b:
                out.append(_diff(f"/items/{n}/{field}", a, b))
    if order.categories is not None:
        for n, (item, got_cat) in enumerate(zip(items, order.categories, strict=False)):
            if "category" in item and item["category"] != got_cat:
                out.append(_diff(f"/items/{n}/category", item["category"], got_cat))
    return out


def reserved_line_discounts(res: Mapping[str, object]) -> list[int]:
    """The reservation's item discount per cart line (fen; sums to its ``discount``)."""
    out = [_int(ln["discount"]) for ln in _rows(res["lines"])]
    if sum(out) != _int(res["discount"]):
        raise ValueError("the reservation's line discounts do not sum to its discount")
    return out

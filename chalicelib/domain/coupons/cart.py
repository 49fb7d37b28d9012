"""The cart a quote or reservation is about, and the lines the arithmetic works on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AwareDatetime, Field

from chalicelib.domain.coupons.template import (
    Category,
    Channel,
    Fen,
    PaymentMethod,
    Sku,
    StoreId,
)
from chalicelib.domain.models import Strict

MAX_LINES = 200


class CartItem(Strict):
    sku: Sku
    category: Category
    quantity: Annotated[int, Field(ge=1, le=10_000)]
    unit_price: Annotated[int, Field(ge=0, le=10**9)]


class Cart(Strict):
    """Prices in fen. ``at`` (what-if time) is honoured by quotes only."""

    items: list[CartItem] = Field(min_length=1, max_length=MAX_LINES)
    shipping_fee: Fen = 0
    channel: Channel = "app"
    store_id: StoreId | None = None
    payment_method: PaymentMethod | None = None
    at: AwareDatetime | None = None


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    category: str
    amount: int  # unit_price x quantity, fen


def lines_of(cart: Cart) -> list[Line]:
    return [Line(i.sku, i.category, i.unit_price * i.quantity) for i in cart.items]

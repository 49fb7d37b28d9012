"""Refunds: which part of an order comes back, and how many points that reverses. Pure.

An order's lines carry what they earned (``qualifying``, ``points``) and what has been
refunded so far (``refunded_qty``, ``refunded_value``, ``reversed_points``). A refund names
items by SKU and quantity, or an amount of qualifying spend; reversals use a cumulative
floor per line, so partial refunds never reverse more than was earned and the last one
reverses exactly what is left.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, NotRequired, TypedDict

from pydantic import Field, model_validator

from chalicelib.domain.loyalty.earning import allocate, cumulative_share
from chalicelib.domain.loyalty.orders import RefId, Sku
from chalicelib.domain.models import Strict
from chalicelib.errors import Unprocessable


class RefundItem(Strict):
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=100_000)]


class NewRefund(Strict):
    """Body of POST /orders/{order_id}/refunds: items, or an amount (minor units)."""

    refund_id: RefId
    items: list[RefundItem] | None = Field(None, min_length=1, max_length=200)
    amount: int | None = Field(None, ge=1, le=10**12,
                               description="qualifying spend refunded, minor units")

    @model_validator(mode="after")
    def _one_of(self) -> NewRefund:
        if (self.items is None) == (self.amount is None):
            raise ValueError("give either items or amount")
        return self

    def fingerprint(self) -> str:
        raw = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()


class OrderLine(TypedDict):
    """A line of a stored order (other stored fields ride along unchanged)."""

    sku: str
    quantity: int
    qualifying: int  # spend it counted towards the tier, minor units
    points: int  # points it earned
    refunded_qty: NotRequired[int]
    refunded_value: NotRequired[int]
    reversed_points: NotRequired[int]


@dataclass(frozen=True)
class RefundPlan:
    lines: list[OrderLine]  # the order's lines after this refund
    refunded: list[dict[str, object]]  # per touched line: sku, quantity, value, points
    value: int  # qualifying spend refunded by this refund
    points: int  # points this refund reverses
    fully_refunded: bool


def _fully(lines: list[OrderLine]) -> bool:
    qualifying = sum(int(ln["qualifying"]) for ln in lines)
    if qualifying > 0:
        return sum(int(ln.get("refunded_value", 0)) for ln in lines) >= qualifying
    return all(int(ln.get("refunded_qty", 0)) >= int(ln["quantity"]) for ln in lines)


def plan_refund(lines: list[OrderLine], req: NewRefund) -> RefundPlan:
    """Apply a refund to the order's lines; 422 with JSON paths when it exceeds the order."""
    if _fully(lines):
        raise Unprocessable("the order is already fully refunded",
                            details=[{"path": "/", "message": "nothing left to refund"}])
    new: list[OrderLine] = [{**ln, "refunded_qty": int(ln.get("refunded_qty", 0)),
                             "refunded_value": int(ln.get("refunded_value", 0)),
                             "reversed_points": int(ln.get("reversed_points", 0))}
                            for ln in lines]
    if req.items is not None:
        qty_now = _quantities(new, req.items)
        value_now = [0] * len(new)
        for j, ln in enumerate(new):
            if qty_now[j]:
                target = cumulative_share(int(ln["qualifying"]), ln["refunded_qty"] + qty_now[j],
                                          int(ln["quantity"]))
                value_now[j] = max(0, target - ln["refunded_value"])
    else:
        assert req.amount is not None
        qty_now = [0] * len(new)
        room = [int(ln["qualifying"]) - ln["refunded_value"] for ln in new]
        if req.amount > sum(room):
            raise Unprocessable("refund exceeds what is left of the order", details=[
                {"path": "/amount", "message": f"at most {sum(room)} can be refunded"}])
        value_now = allocate(req.amount, room)
    refunded, points = _apply(new, qty_now, value_now)
    return RefundPlan(new, refunded, sum(value_now), points, _fully(new))


def _quantities(lines: list[OrderLine], items: list[RefundItem]) -> list[int]:
    """Units refunded now per line: each item's quantity from its SKU's lines, in order."""
    qty_now = [0] * len(lines)
    for i, item in enumerate(items):
        idxs = [j for j, ln in enumerate(lines) if ln["sku"] == item.sku]
        if not idxs:
            raise Unprocessable("a refunded SKU is not on the order", details=[
                {"path": f"/items/{i}/sku", "message": "not on this order"}])
        left = item.quantity
        for j in idxs:
            room = int(lines[j]["quantity"]) - lines[j]["refunded_qty"] - qty_now[j]
            n = min(room, left)
            qty_now[j] += n
            left -= n
        if left:
            refundable = item.quantity - left
            raise Unprocessable("refund exceeds the quantity left on the order", details=[
                {"path": f"/items/{i}/quantity",
                 "message": f"at most {refundable} more can be refunded"}])
    return qty_now


def _apply(lines: list[OrderLine], qty_now: list[int], value_now: list[int]
           ) -> tuple[list[dict[str, object]], int]:
    """Add this refund to ``lines`` (in place): what each touched line gives back, and the
    points reversed in all."""
    refunded: list[dict[str, object]] = []
    points_total = 0
    for j, ln in enumerate(lines):
        if not (qty_now[j] or value_now[j]):
            continue
        ln["refunded_qty"] += qty_now[j]
        ln["refunded_value"] += value_now[j]
        target = cumulative_share(int(ln["points"]), ln["refunded_value"], int(ln["qualifying"]))
        if int(ln["qualifying"]) == 0:
            target = int(ln["points"]) if ln["refunded_qty"] >= int(ln["quantity"]) else 0
        pts = max(0, target - ln["reversed_points"])
        ln["reversed_points"] += pts
        points_total += pts
        refunded.append({"sku": ln["sku"], "quantity": qty_now[j], "value": value_now[j],
                         "points": pts})
    return refunded, points_total

"""Money and points arithmetic for orders and refunds. Pure, integer minor units.

Rounding rules (also in docs/loyalty.md):
- ``discount_total`` is allocated across lines in proportion to their gross amounts by the
  largest-remainder method, so line discounts sum exactly to the total. An order that
  confirms a checkout reservation takes the reservation's per-line discounts instead.
- Qualifying spend = line gross - allocated discount; shipping never qualifies.
- Points per line are computed exactly (fractions), summed, and the order total is floored
  once, then capped by ``max_points_per_order``. The integer total is apportioned back to
  the lines by largest remainder so that refunds can reverse exactly what each line earned.
- Refunds use a cumulative floor: after a refund, a line's reversed points are
  ``floor(line_points x refunded_value / line_qualifying)``; the last refund of a line
  therefore reverses exactly what remains, never more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import floor

from chalicelib.domain.loyalty.program import Program


def allocate(total: int, weights: Sequence[int | Fraction]) -> list[int]:
    """Split ``total`` in proportion to ``weights``: floors, then the largest remainders
    (ties to the earlier line) get one more. Sums exactly to ``total``."""
    n = len(weights)
    wsum = sum(weights)
    if total == 0 or n == 0 or wsum == 0:
        return [0] * n
    exact = [Fraction(total) * Fraction(w) / Fraction(wsum) for w in weights]
    out = [floor(e) for e in exact]
    short = total - sum(out)
    for i in sorted(range(n), key=lambda i: (-(exact[i] - out[i]), i))[:short]:
        out[i] += 1
    return out


@dataclass(frozen=True)
class Line:
    """An order line as the earning rules see it."""

    sku: str
    category: str | None
    quantity: int
    unit_price: int

    @property
    def gross(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class PricedLine:
    sku: str
    category: str | None
    quantity: int
    unit_price: int
    gross: int
    discount: int
    qualifying: int
    points: int


@dataclass(frozen=True)
class Earned:
    lines: tuple[PricedLine, ...]
    gross: int
    discount: int
    qualifying: int
    points: int
    uncapped_points: int

    @property
    def capped(self) -> bool:
        return self.points < self.uncapped_points


def _mult(value: float | Decimal | Fraction | int) -> Fraction:
    """A multiplier as the exact decimal it was written as: Fraction(str(1.15)) is 23/20,
    where Fraction(1.15) would be the binary float 1.149999…"""
    return value if isinstance(value, Fraction) else Fraction(str(value))


def scale_points(points: int | Fraction, multiplier: float | Decimal | Fraction | int) -> int:
    """``points`` x ``multiplier`` under the one rounding rule for points: computed exactly,
    floored once (as ``earn`` floors an order's total). 100 x 1.15 = 115, never 114."""
    return floor(Fraction(points) * _mult(multiplier))


def earn(program: Program, lines: Sequence[Line], discount_total: int, tier_multiplier: float,
         bonus_multiplier: float | Decimal = 1.0, line_discounts: Sequence[int] | None = None,
         ) -> Earned:
    """Qualifying spend and points of an order (see the module docstring for rounding).

    ``line_discounts`` (a checkout reservation's own allocation) replace the proportional
    split, so each line earns on what was paid for it."""
    gross = [ln.gross for ln in lines]
    if discount_total > sum(gross):
        raise ValueError("discount_total exceeds the items' total")
    if line_discounts is None:
        discounts = allocate(discount_total, gross)
    else:
        discounts = list(line_discounts)
        if len(discounts) != len(gross) or sum(discounts) != discount_total or any(
                not 0 <= d <= g for d, g in zip(discounts, gross, strict=True)):
            raise ValueError("line discounts must fit the lines and sum to discount_total")
    qualifying = [g - d for g, d in zip(gross, discounts, strict=True)]
    rate = _mult(program.earning.points_per_unit) / program.unit
    common = rate * _mult(tier_multiplier) * _mult(bonus_multiplier)
    cats = program.earning.category_multipliers
    exact = [Fraction(q) * common * _mult(cats.get(ln.category or "", 1.0))
             for q, ln in zip(qualifying, lines, strict=True)]
    uncapped = floor(sum(exact, Fraction(0)))
    cap = program.earning.max_points_per_order
    total = min(uncapped, cap) if cap is not None else uncapped
    points = allocate(total, exact)
    priced = tuple(
        PricedLine(ln.sku, ln.category, ln.quantity, ln.unit_price, g, d, q, p)
        for ln, g, d, q, p in zip(lines, gross, discounts, qualifying, points, strict=True))
    return Earned(priced, sum(gross), discount_total, sum(qualifying), total, uncapped)


def cumulative_share(whole: int, part: int, of: int) -> int:
    """floor(whole x part / of): the share of ``whole`` that ``part`` of ``of`` carries."""
    if of <= 0:
        return whole if part > 0 else 0
    return (whole * min(part, of)) // of

"""The discount arithmetic of a stack of coupons: exact, sequential, documented order.

Evaluation order (applied the same way to quotes, reservations and the brute-force tests):

1. Each coupon qualifies on its own, on the *pre-discount* subtotal of its eligible items
   (min spend, 满X, 每满X) — see eligibility.py.
2. Amount-off coupons (fixed, no_threshold, threshold 满减, stepped 每满减), narrowest first
   (ascending eligible subtotal, then coupon id). Each takes ``min(nominal, what is left of
   its eligible items)``, rounded down to the fen, and reduces those items in proportion to
   what is left of each.
3. Percent-off coupons ("percent after threshold"), narrowest first: ``percent_off`` % of
   what is left of the eligible items, rounded down to the fen, capped by ``max_discount``;
   it reduces those items in proportion too.
4. Free shipping: up to ``max_amount`` of what is left of the shipping fee.
5. Gifts: added at zero price.

What is "left" of each item is tracked exactly (rational, never rounded); only each coupon's
total is a whole number of fen. Lines that share the same set of candidate coupons form an
*atom* and are tracked together — exact proportional arithmetic gives the same result as
line by line. At the end the exact line shares are rounded by largest remainder
(allocation.py): line discounts sum exactly to the discount and no line goes below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

from chalicelib.domain.coupons.allocation import round_shares
from chalicelib.domain.coupons.cart import Line
from chalicelib.domain.coupons.eligibility import WalletCoupon
from chalicelib.domain.coupons.rules import AMOUNT, GIFT, PERCENT, SHIPPING


@dataclass(frozen=True, slots=True)
class Prepared:
    """A coupon that passed eligibility, ready for the arithmetic against one cart."""

    coupon: WalletCoupon
    phase: int
    atoms: tuple[int, ...]
    atom_set: frozenset[int]
    eligible: int
    nominal: int
    standalone: int  # its discount (items or shipping) if it were alone
    gift_value: int
    order: tuple[int, int, str]
    expires: float  # valid_until as a timestamp (ranking)

    @property
    def coupon_id(self) -> str:
        return self.coupon.coupon_id

    @property
    def template_id(self) -> str:
        return self.coupon.template_id


@dataclass(frozen=True, slots=True)
class State:
    nums: tuple[int, ...]  # what is left of each atom is nums[a] / den
    den: int
    fee_left: int


class Space:
    """The cart reduced to atoms for a list of ``(coupon, line mask, eligible subtotal)``."""

    def __init__(self, lines: list[Line], shipping_fee: int,
                 coupons: list[tuple[WalletCoupon, int, int]]) -> None:
        self.lines = lines
        self.shipping_fee = shipping_fee
        self.subtotal = sum(ln.amount for ln in lines)
        # Split the cart into atoms, one coupon mask at a time: (lines, covering coupons).
        parts: list[tuple[int, int]] = [((1 << len(lines)) - 1, 0)] if lines else []
        for k, (_, mask, _) in enumerate(coupons):
            split: list[tuple[int, int]] = []
            for members, cover in parts:
                inside = members & mask
                if inside:
                    split.append((inside, cover | 1 << k))
                if inside != members:
                    split.append((members & ~mask, cover))
            parts = split
        self.line_atom: list[int] = [0] * len(lines)
        self.atom_amounts: list[int] = []
        covering: list[list[int]] = [[] for _ in coupons]
        for a, (members, cover) in enumerate(parts):
            total = 0
            for i, ln in enumerate(lines):
                if members >> i & 1:
                    self.line_atom[i] = a
                    total += ln.amount
            self.atom_amounts.append(total)
            k = 0
            while cover:
                if cover & 1:
                    covering[k].append(a)
                cover >>= 1
                k += 1
        self.prepared = sorted((self._prepare(c, tuple(covering[k]), e)
                                for k, (c, _, e) in enumerate(coupons)), key=lambda p: p.order)

    def _prepare(self, c: WalletCoupon, atoms: tuple[int, ...], eligible: int) -> Prepared:
        r = c.rules
        phase = r.phase
        nominal = r.nominal(eligible) if phase == AMOUNT else 0
        if phase == AMOUNT:
            alone = min(nominal, eligible)
        elif phase == PERCENT:
            alone = eligible * r.percent_off // 100
            alone = alone if r.max_discount is None else min(alone, r.max_discount)
        elif phase == SHIPPING:
            alone = self.shipping_fee if r.max_discount is None else min(
                self.shipping_fee, r.max_discount)
        else:
            alone = 0
        gift = r.gift_value * r.gift_quantity if phase == GIFT else 0
        key = eligible if phase in (AMOUNT, PERCENT) else 0
        return Prepared(c, phase, atoms, frozenset(atoms), eligible, nominal, alone, gift,
                        (phase, key, c.coupon_id), c.valid_until.timestamp())

    def start(self) -> State:
        return State(tuple(self.atom_amounts), 1, self.shipping_fee)

    def line_discounts(self, state: State, discount: int) -> list[int]:
        """Exact per-line shares of the item discount, rounded by largest remainder."""
        nums: list[int] = []
        dens: list[int] = []
        den = state.den
        for ln, a in zip(self.lines, self.line_atom, strict=True):
            whole = self.atom_amounts[a]
            off = whole * den - state.nums[a]  # the atom's exact discount is off / den
            if off and ln.amount:
                nums.append(off * ln.amount)
                dens.append(den * whole)
            else:
                nums.append(0)
                dens.append(1)
        return round_shares(nums, dens, discount)


def apply(state: State, p: Prepared) -> tuple[State, int, int]:
    """Apply one more coupon (in canonical order): (new state, item take, shipping take)."""
    phase = p.phase
    if phase == SHIPPING:
        cap = p.coupon.rules.max_discount
        take = state.fee_left if cap is None else min(state.fee_left, cap)
        return State(state.nums, state.den, state.fee_left - take), 0, take
    if phase == GIFT:
        return state, 0, 0
    nums, den = state.nums, state.den
    left = 0
    for a in p.atoms:
        left += nums[a]
    if phase == AMOUNT:
        take = min(p.nominal, left // den)
    else:
        r = p.coupon.rules
        take = left * r.percent_off // (100 * den)
        if r.max_discount is not None and take > r.max_discount:
            take = r.max_discount
    if take <= 0:
        return state, 0, 0
    keep = left - take * den  # covered atoms shrink by keep/left, the rest stay
    covered = p.atom_set
    new = [n * keep if a in covered else n * left for a, n in enumerate(nums)]
    new_den = den * left
    g = gcd(new_den, *new)
    if g > 1:
        new = [n // g for n in new]
        new_den //= g
    return State(tuple(new), new_den, state.fee_left), take, 0


@dataclass(frozen=True)
class Outcome:
    """A stack evaluated: per-coupon takes (canonical order) and the final state."""

    stack: tuple[Prepared, ...]
    takes: tuple[int, ...]
    ship_takes: tuple[int, ...]
    state: State

    @property
    def discount(self) -> int:
        return sum(self.takes)

    @property
    def shipping_discount(self) -> int:
        return sum(self.ship_takes)

    @property
    def gift_value(self) -> int:
        return sum(p.gift_value for p in self.stack)

    @property
    def valid(self) -> bool:
        """Every coupon contributes something (a discount, shipping or a gift)."""
        return all(t or s or p.phase == GIFT
                   for p, t, s in zip(self.stack, self.takes, self.ship_takes, strict=True))

    def key(self) -> tuple[int, int, int, tuple[float, ...], tuple[str, ...]]:
        """Ranking, smaller is better: most discount, most gift value, fewest coupons,
        soonest-expiring coupons, then coupon ids (a total order, so results are stable)."""
        return (-(self.discount + self.shipping_discount), -self.gift_value, len(self.stack),
                tuple(sorted(p.expires for p in self.stack)),
                tuple(sorted(p.coupon_id for p in self.stack)))


def evaluate(space: Space, stack: list[Prepared]) -> Outcome:
    """Evaluate a stack in canonical order."""
    ordered = sorted(stack, key=lambda p: p.order)
    state = space.start()
    takes, ships = [], []
    for p in ordered:
        state, t, s = apply(state, p)
        takes.append(t)
        ships.append(s)
    return Outcome(tuple(ordered), tuple(takes), tuple(ships), state)

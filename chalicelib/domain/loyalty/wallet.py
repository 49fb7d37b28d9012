"""Points lots and the plans that earn, spend, reverse and expire them. Pure.

Every earning is a lot with ``expires_at`` (an instant) and ``available_on`` (the local date
its return window ends; before that its points are *pending*). A member's state is the open
lots plus ``debt`` (points owed after a refund reversed points already spent, under the
``allow_negative`` policy). Invariants, checked by a hypothesis state machine:

    points (= available + pending + not-yet-swept expired) == sum(ledger)
                                                          == sum(lot remainders) - debt
    debt > 0  ⇒  no open, unexpired lot       (reversals drain lots before creating debt,
                                               and every earning repays debt first)
    a spend never takes more than is available, so ``available`` never drops below zero
    through a spend.

Balances are computed lazily from the lots: a lot past ``expires_at`` no longer counts
even before the expiry job has swept it, and pending points vest by date, with no job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from chalicelib.domain.loyalty.program import RefundPolicy
from chalicelib.errors import InsufficientFunds


@dataclass(frozen=True)
class Lot:
    lot_id: str
    points: int  # credited when the lot was created
    remaining: int
    expires_at: str  # ISO instant (UTC, Z)
    available_on: str  # local date (YYYY-MM-DD) from which the points are available
    source: str = ""

    def vested(self, today: str) -> bool:
        return self.available_on <= today

    def expired(self, now: str) -> bool:
        return self.expires_at <= now

    @property
    def order(self) -> tuple[str, str]:
        return self.expires_at, self.lot_id


@dataclass(frozen=True)
class Take:
    """``points`` taken from ``lot`` (whose remainder was ``lot.remaining`` when read)."""

    lot: Lot
    points: int

    @property
    def after(self) -> int:
        return self.lot.remaining - self.points


@dataclass(frozen=True)
class Balance:
    available: int
    pending: int
    expiring: tuple[tuple[str, int], ...]  # (expires_at, points) for the next expiry dates


def live(lots: Iterable[Lot], now: str) -> list[Lot]:
    """Open lots that still count, earliest-expiring first."""
    return sorted((lt for lt in lots if lt.remaining > 0 and not lt.expired(now)),
                  key=lambda lt: lt.order)


def balance(lots: Iterable[Lot], debt: int, today: str, now: str, horizon: int = 3) -> Balance:
    """Available (vested - debt), pending, and points expiring on the next ``horizon`` dates."""
    open_lots = live(lots, now)
    vested = sum(lt.remaining for lt in open_lots if lt.vested(today))
    pending = sum(lt.remaining for lt in open_lots if not lt.vested(today))
    by_date: dict[str, int] = {}
    for lt in open_lots:
        by_date[lt.expires_at] = by_date.get(lt.expires_at, 0) + lt.remaining
    expiring = tuple(sorted(by_date.items())[:horizon])
    return Balance(vested - debt, pending, expiring)


def earn_split(points: int, debt: int) -> tuple[int, int]:
    """(points kept in the new lot, debt repaid): earnings repay debt first."""
    repaid = min(points, max(0, debt))
    return points - repaid, repaid


def _take(ordered: Iterable[Lot], amount: int) -> tuple[list[Take], int]:
    takes: list[Take] = []
    left = amount
    for lt in ordered:
        if left <= 0:
            break
        n = min(left, lt.remaining)
        if n > 0:
            takes.append(Take(lt, n))
            left -= n
    return takes, left


def plan_spend(lots: Iterable[Lot], debt: int, amount: int, today: str, now: str
               ) -> tuple[Take, ...]:
    """Take ``amount`` from vested lots, earliest-expiring first; never below zero."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    spendable = [lt for lt in live(lots, now) if lt.vested(today)]
    available = sum(lt.remaining for lt in spendable) - debt
    if available < amount:
        raise InsufficientFunds(
            f"{amount} points needed, {max(available, 0)} available",
            details=[{"path": "/points", "message": f"short by {amount - max(available, 0)}"}])
    takes, left = _take(spendable, amount)
    assert left == 0
    return tuple(takes)


@dataclass(frozen=True)
class Reversal:
    takes: tuple[Take, ...]
    debt_added: int
    written_off: int  # points the policy lets the member keep (reverse_remaining)

    @property
    def reversed(self) -> int:
        """Points removed from the balance (what the ledger records)."""
        return sum(t.points for t in self.takes) + self.debt_added


def plan_reverse(lots: Iterable[Lot], amount: int, own_lot_id: str | None,
                 policy: RefundPolicy, today: str, now: str) -> Reversal:
    """Reverse ``amount`` points of a refunded order.

    The order's own lot goes first. ``reverse_remaining`` stops there (what was already
    spent is written off). ``allow_negative`` goes on to the member's other vested lots,
    then pending lots, earliest-expiring first, and books any rest as debt that later
    earnings repay.
    """
    if amount <= 0:
        return Reversal((), 0, 0)
    open_lots = live(lots, now)
    own = [lt for lt in open_lots if lt.lot_id == own_lot_id]
    takes, left = _take(own, amount)
    if policy == RefundPolicy.reverse_remaining:
        return Reversal(tuple(takes), 0, left)
    others = [lt for lt in open_lots if lt.lot_id != own_lot_id]
    more, left = _take([lt for lt in others if lt.vested(today)]
                       + [lt for lt in others if not lt.vested(today)], left)
    return Reversal(tuple(takes + more), left, 0)


def plan_expire(lots: Iterable[Lot], now: str) -> tuple[Take, ...]:
    """Whatever remains of lots past their expiry instant."""
    return tuple(Take(lt, lt.remaining) for lt in sorted(lots, key=lambda lt: lt.order)
                 if lt.remaining > 0 and lt.expired(now))


@dataclass
class Wallet:
    """In-memory twin of a member's points (lots, debt, ledger) built on the plans above.

    The DynamoDB services apply the same plans to items; tests drive this twin with random
    sequences to check the invariants.
    """

    lots: dict[str, Lot] = field(default_factory=dict)
    debt: int = 0
    points: int = 0
    ledger: list[tuple[str, int]] = field(default_factory=list)

    def _apply(self, takes: Iterable[Take]) -> None:
        for t in takes:
            cur = self.lots[t.lot.lot_id]
            assert cur.remaining == t.lot.remaining, "plan made on a stale lot"
            if t.after == 0:
                del self.lots[cur.lot_id]
            else:
                self.lots[cur.lot_id] = replace(cur, remaining=t.after)

    def _book(self, kind: str, delta: int) -> None:
        self.ledger.append((kind, delta))
        self.points += delta

    def earn(self, lot_id: str, points: int, expires_at: str, available_on: str,
             kind: str = "earn") -> int:
        kept, repaid = earn_split(points, self.debt)
        self.debt -= repaid
        if kept:
            self.lots[lot_id] = Lot(lot_id, points, kept, expires_at, available_on)
        self._book(kind, points)
        return kept

    def spend(self, amount: int, today: str, now: str, kind: str = "spend") -> None:
        takes = plan_spend(self.lots.values(), self.debt, amount, today, now)
        self._apply(takes)
        self._book(kind, -amount)

    def reverse(self, amount: int, own_lot_id: str | None, policy: RefundPolicy, today: str,
                now: str) -> Reversal:
        r = plan_reverse(self.lots.values(), amount, own_lot_id, policy, today, now)
        self._apply(r.takes)
        self.debt += r.debt_added
        self._book("reverse", -r.reversed)
        return r

    def expire(self, now: str) -> int:
        takes = plan_expire(self.lots.values(), now)
        self._apply(takes)
        n = sum(t.points for t in takes)
        if n:
            self._book("expire", -n)
        return n

    def balance(self, today: str, now: str) -> Balance:
        return balance(self.lots.values(), self.debt, today, now)

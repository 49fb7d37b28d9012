"""Random sequences of earn/spend/refund/expire/adjust keep the points books balanced.

available + pending (+ expired, not yet swept) == sum(ledger) == sum(open lot remainders) - debt;
a spend never takes the balance below zero; debt only exists when no live lot is left.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from chalicelib.domain.loyalty.dates import iso
from chalicelib.domain.loyalty.program import RefundPolicy
from chalicelib.domain.loyalty.wallet import Wallet, live
from chalicelib.errors import InsufficientFunds

START = datetime(2026, 1, 1, tzinfo=UTC)


class PointsBooks(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.w = Wallet()
        self.t = START
        self.n = 0
        self.orders: dict[str, dict[str, int | str]] = {}

    @property
    def now(self) -> str:
        return iso(self.t)

    @property
    def today(self) -> str:
        return self.t.date().isoformat()

    def _lot(self, days: int, pending: int) -> tuple[str, str, str]:
        self.n += 1
        return (f"l{self.n:04d}", iso(self.t + timedelta(days=days)),
                (self.t.date() + timedelta(days=pending)).isoformat())

    @rule(points=st.integers(0, 500), days=st.integers(1, 60), pending=st.integers(0, 5))
    def earn(self, points: int, days: int, pending: int) -> None:
        lot_id, expires, available_on = self._lot(days, pending)
        self.w.earn(lot_id, points, expires, available_on)
        self.orders[f"o{self.n}"] = {"lot": lot_id, "points": points, "reversed": 0}

    @rule(amount=st.integers(1, 700))
    def spend(self, amount: int) -> None:
        before = self.w.balance(self.today, self.now).available
        try:
            self.w.spend(amount, self.today, self.now)
        except InsufficientFunds:
            assert before < amount
            assert self.w.balance(self.today, self.now).available == before
            return
        assert before >= amount
        assert self.w.balance(self.today, self.now).available == before - amount >= 0

    @rule(data=st.data(), policy=st.sampled_from(list(RefundPolicy)))
    def refund(self, data: st.DataObject, policy: RefundPolicy) -> None:
        open_orders = [o for o, v in self.orders.items() if v["reversed"] < v["points"]]
        if not open_orders:
            return
        oid = data.draw(st.sampled_from(sorted(open_orders)))
        o = self.orders[oid]
        amount = data.draw(st.integers(1, int(o["points"]) - int(o["reversed"])))
        before = self.w.points
        r = self.w.reverse(amount, str(o["lot"]), policy, self.today, self.now)
        o["reversed"] = int(o["reversed"]) + amount
        assert r.reversed + r.written_off == amount
        assert self.w.points == before - r.reversed
        if policy == RefundPolicy.reverse_remaining:
            assert r.debt_added == 0

    @rule(days=st.integers(0, 20))
    def expire(self, days: int) -> None:
        self.t += timedelta(days=days)
        self.w.expire(self.now)
        assert not [lt for lt in self.w.lots.values() if lt.expired(self.now)]

    @rule(delta=st.integers(-300, 300).filter(bool))
    def adjust(self, delta: int) -> None:
        if delta > 0:
            lot_id, expires, _ = self._lot(30, 0)
            self.w.earn(lot_id, delta, expires, self.today, kind="adjust")
            return
        with contextlib.suppress(InsufficientFunds):
            self.w.spend(-delta, self.today, self.now, kind="adjust")

    @invariant()
    def books_balance(self) -> None:
        ledger = sum(d for _, d in self.w.ledger)
        lots = sum(lt.remaining for lt in self.w.lots.values())
        assert self.w.points == ledger == lots - self.w.debt
        b = self.w.balance(self.today, self.now)
        expired = sum(lt.remaining for lt in self.w.lots.values() if lt.expired(self.now))
        assert b.available + b.pending + expired == ledger

    @invariant()
    def debt_only_when_no_live_lot_remains(self) -> None:
        assert self.w.debt >= 0
        if self.w.debt:
            assert not live(self.w.lots.values(), self.now)

    @invariant()
    def lots_are_never_empty_or_overdrawn(self) -> None:
        assert all(0 < lt.remaining <= lt.points for lt in self.w.lots.values())


PointsBooks.TestCase.settings = settings(max_examples=150, stateful_step_count=40,
                                         deadline=None)
test_points_books_stay_balanced = PointsBooks.TestCase

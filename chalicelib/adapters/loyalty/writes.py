"""Loyalty's transactions: one TransactWriteItems per use case, every item named.

A service hands in domain values (the state after the change, the lots to take from, the
ledger entry, the order and its plan); these methods build the items, keys included, and
commit them together. Names: ``loyalty`` (the LOYALTY item), ``ledger``, ``lot`` (a new
lot), ``lot:<lot id>`` (a lot taken from), ``order``, ``refund``, ``stock``,
``redemption``; the expiry job, several members to a transaction, adds ``:<member id>``.
Items a caller adds (coupons, an audit entry, a request guard, a campaign's send record)
ride under the names it gives them.

A failed condition on a guarded item (the LOYALTY version or a lot remainder read earlier,
or an item the caller says it read), a transaction conflict or throttling raises
StaleWrite: read again and retry. Any other cancellation raises TransactionCancelled, whose
``failed_names`` say which items failed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

from chalicelib.adapters.audit_log import audit_item
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    TransactionCancelled,
    write_named,
)
from chalicelib.adapters.loyalty import items as li
from chalicelib.adapters.loyalty.records import (
    StoredOrder,
    order_record,
    redemption_record,
    refund_record,
    wallet_coupon_record,
)
from chalicelib.domain.loyalty.orders import NewOrder, OrderPlan
from chalicelib.domain.loyalty.refunds import RefundPlan
from chalicelib.domain.loyalty.state import LoyaltyState
from chalicelib.domain.loyalty.views import OrderResult
from chalicelib.domain.loyalty.wallet import Lot, Take
from chalicelib.errors import Conflict

Item = dict[str, Any]
Extra = Sequence[tuple[str, Item]]  # a caller's own named items


class Expiry(NamedTuple):
    """One member's expiry: what remains of the expired lots, and its ledger entry."""

    member_id: str
    takes: Sequence[Take]
    entry: Item

    @property
    def points(self) -> int:
        return sum(t.points for t in self.takes)


class StaleWrite(Conflict):
    """A guarded item changed between read and write: re-read and try again."""

    def __init__(self, cancelled: TransactionCancelled | None = None) -> None:
        super().__init__("the member's points changed concurrently; retry")
        self.cancelled = cancelled


def lot_name(take: Take, member_id: str | None = None) -> str:
    return f"lot:{take.lot.lot_id}" + (f":{member_id}" if member_id else "")


class LoyaltyWrites(TableRepository):
    """The write half of LoyaltyRepository (reads: adapters/loyalty/repository.py)."""

    def transact_named(self, named: NamedItems, token: str | None = None,
                       guarded: Collection[str] = frozenset()) -> None:
        """One TransactWriteItems of named items; a failed ``guarded`` item, a transaction
        conflict or throttling raises StaleWrite (read again and retry)."""
        from botocore.exceptions import ClientError

        try:
            write_named(self.table.meta.client, named, token)
        except TransactionCancelled as e:
            if e.throttled or e.failed_names & set(guarded):
                raise StaleWrite(e) from e
            raise
        except ClientError as e:  # same token, different request: a concurrent twin
            if e.response.get("Error", {}).get("Code") == "IdempotentParameterMismatchException":
                raise StaleWrite() from e
            raise

    # --- points -------------------------------------------------------------------------
    def credit(self, new: LoyaltyState, read_version: int, base_tier: str, entry: Item, *,
               lot: Lot | None, expiry_date: str, now: str, extra: Extra = (),
               token: str | None = None) -> None:
        """Points in: LOYALTY at ``read_version`` → ``new``, the ledger entry, a new lot,
        with the caller's named ``extra`` items in the same transaction."""
        named = [*self.credit_items(new, read_version, base_tier, entry, lot=lot,
                                    expiry_date=expiry_date, now=now), *extra]
        self.transact_named(named, token, guarded={"loyalty"})

    def credit_items(self, new: LoyaltyState, read_version: int, base_tier: str, entry: Item,
                     *, lot: Lot | None, expiry_date: str, now: str) -> NamedItems:
        """The named items of a credit, for a caller's own transaction: ``loyalty``
        (conditional on ``read_version``: when it fails, read again), ``ledger`` and ``lot``
        (absent when everything repays debt)."""
        member = new.member_id
        named: NamedItems = [("loyalty", li.loyalty_write(new, read_version, base_tier)),
                             ("ledger", li.ledger_put(member, entry))]
        if lot is not None:
            named.append(("lot", li.lot_put(member, lot, expiry_date, now)))
        return named

    def spend(self, new: LoyaltyState, read_version: int, base_tier: str,
              takes: Sequence[Take], entry: Item, *, extra: Extra = (),
              token: str | None = None) -> None:
        """Points out of the lots read: [loyalty, lot:<id>…, ledger, *extra]."""
        named = [*self._taking(new, read_version, base_tier, takes),
                 ("ledger", li.ledger_put(new.member_id, entry)), *extra]
        self.transact_named(named, token, guarded=_taken(named))

    def redeem(self, new: LoyaltyState, read_version: int, base_tier: str,
               takes: Sequence[Take], entry: Item, redemption: Item, *, reward_id: str,
               stock: int | None, shard: int, extra: Extra = (),
               token: str | None = None) -> None:
        """A reward: the spend, one count on the ``stock`` counter shard (fails when the
        shard's share is gone) and the ``redemption`` record."""
        named = [*self._taking(new, read_version, base_tier, takes),
                 ("ledger", li.ledger_put(new.member_id, entry)),
                 ("stock", li.reward_stock_take(reward_id, stock, shard)),
                 ("redemption", li.put(redemption_record(new.member_id, redemption))), *extra]
        self.transact_named(named, token, guarded=_taken(named))

    def save_state(self, new: LoyaltyState, read_version: int, base_tier: str, *,
                   extra: Extra = (), guarded: Collection[str] = (),
                   token: str | None = None) -> None:
        """LOYALTY alone (a tier review), with the caller's items (tier coupons, perks);
        ``guarded`` names the caller's items it read (a failure: read again)."""
        named = [("loyalty", li.loyalty_write(new, read_version, base_tier)), *extra]
        self.transact_named(named, token, guarded={"loyalty", *guarded})

    def expire(self, expiries: Sequence[Expiry], token: str | None = None,
               guard_lots: bool = False) -> None:
        """Expire lots of one or more members: per member ``lot:<id>:<member>`` takes, a
        commutative ``loyalty:<member>`` ADD (no read, no version) and ``ledger:<member>``.
        ``guard_lots``: a lot changed since it was read raises StaleWrite."""
        named: NamedItems = []
        for x in expiries:
            member, n = x.member_id, x.points
            named += [(lot_name(t, member), li.lot_take(member, t)) for t in x.takes]
            named += [(f"loyalty:{member}",
                       li.loyalty_add(member, {"points": -n, "lifetime_expired": n})),
                      (f"ledger:{member}", li.ledger_put(member, x.entry))]
        lots = {n for n, _ in named if n.startswith("lot:")}
        self.transact_named(named, token, guarded=lots if guard_lots else ())

    def exchange_items(self, new: LoyaltyState, read_version: int, base_tier: str,
                       takes: Sequence[Take], spent: Item | None, earned: Item | None, *,
                       lot: Lot | None, expiry_date: str, now: str) -> NamedItems:
        """Points out and in, in one caller's transaction (a lucky-draw entry paid with
        points that wins points): ``loyalty`` at ``read_version`` → ``new``, ``lot:<id>``
        takes, ``ledger`` (the spend), ``ledger:earn`` and the new ``lot``. A failure of
        ``loyalty`` or a ``lot:`` item means: read again."""
        member = new.member_id
        named: NamedItems = [*self._taking(new, read_version, base_tier, takes)]
        if spent is not None:
            named.append(("ledger", li.ledger_put(member, spent)))
        if earned is not None:
            named.append(("ledger:earn", li.ledger_put(member, earned)))
        if lot is not None:
            named.append(("lot", li.lot_put(member, lot, expiry_date, now)))
        return named

    # --- orders -------------------------------------------------------------------------
    def record_order(self, req: NewOrder, plan: OrderPlan, result: OrderResult, *,
                     read_version: int, base_tier: str, program_version: int,
                     fingerprint: str, lot: Lot | None, entry: Item | None, now: str,
                     extra: Extra = (), guarded: Collection[str] = (),
                     token: str | None = None) -> None:
        """The ``order`` record (create-only: a replay fails it), LOYALTY → ``plan.state``,
        the ``ledger`` entry and the new ``lot``, with the caller's items (a reservation's
        confirmation, tier coupons); ``guarded`` names the caller's items it read."""
        member = req.member_id
        named: NamedItems = [
            ("order", li.put(order_record(req, plan, result, program_version=program_version,
                                          fingerprint=fingerprint,
                                          lot_id=lot.lot_id if lot else None, now=now))),
            ("loyalty", li.loyalty_write(plan.state, read_version, base_tier))]
        if entry is not None:
            named.append(("ledger", li.ledger_put(member, entry)))
        if lot is not None:
            named.append(("lot", li.lot_put(member, lot, plan.expiry_date, now)))
        self.transact_named([*named, *extra], token, guarded={"loyalty", *guarded})

    def record_refund(self, order: StoredOrder, refund_id: str, plan: RefundPlan,
                      new: LoyaltyState, *, read_version: int, base_tier: str,
                      takes: Sequence[Take], entry: Item | None, fingerprint: str,
                      result: Item, now: str, extra: Extra = (),
                      token: str | None = None) -> None:
        """The ``refund`` record (create-only: a replay fails it), the ``order``'s lines
        and totals at the version read, LOYALTY, the lots taken, the ``ledger`` entry."""
        order_id, member = str(order.fields["order_id"]), new.member_id
        totals = {"lines": plan.lines, "fully_refunded": plan.fully_refunded,
                  "refunded_value": int(order.fields.get("refunded_value", 0)) + plan.value,
                  "reversed_points": int(order.fields.get("reversed_points", 0)) + plan.points}
        named: NamedItems = [
            ("refund", li.put(refund_record(order_id, refund_id, member,
                                            fingerprint=fingerprint, result=result, now=now))),
            ("order", li.order_update(order_id, order.version, totals)),
            *self._taking(new, read_version, base_tier, takes)]
        guarded = {n for n, _ in named} - {"refund"}
        if entry is not None:
            named.append(("ledger", li.ledger_put(member, entry)))
        self.transact_named([*named, *extra], token, guarded=guarded)

    # --- items other capabilities' transactions carry -----------------------------------
    def wallet_coupon_item(self, member_id: str, coupon_id: str, template_id: str, *,
                           source: str, ref: str, now: str) -> Item:
        """The fallback wallet coupon's create-only Put (no coupons service wired)."""
        return li.put(wallet_coupon_record(member_id, coupon_id, template_id, source, ref, now))

    def points_audit_item(self, at: str, actor: str, member_id: str, action: str,
                          **details: Any) -> Item:
        """A create-only Put of the audit entry of a points change."""
        return li.put(audit_item(at, actor, "points", member_id, action, **details))

    @staticmethod
    def _taking(new: LoyaltyState, read_version: int, base_tier: str, takes: Sequence[Take]
                ) -> NamedItems:
        return [("loyalty", li.loyalty_write(new, read_version, base_tier)),
                *((lot_name(t), li.lot_take(new.member_id, t)) for t in takes)]


def _taken(named: NamedItems) -> set[str]:
    """LOYALTY and the lots, read before the write: a lost race on them is StaleWrite."""
    return {n for n, _ in named if n == "loyalty" or n.startswith("lot:")}

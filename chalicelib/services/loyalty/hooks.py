"""Where loyalty meets coupons: extension points returning extra TransactItems.

Loyalty writes orders, refunds and reward redemptions in ONE TransactWriteItems each. When
a coupon must change in the same step, these functions supply the extra items:

- ``coupon_issue_items``: a reward of kind ``coupon`` and the coupon templates granted on
  entering a tier. Uses the coupons service's ``issue_items`` when bootstrap wires it
  (``deps().coupon_hooks``); otherwise writes a minimal wallet coupon (the loyalty
  repository's ``wallet_coupon_item``).
- ``reservation_for_order``: ``POST /orders`` with ``reservation_id`` must match that
  checkout reservation (member, lines, discount; 409 listing the differences), earns on the
  reservation's per-line discounts and confirms it in the order's transaction
  (``coupons.order_confirmation`` when present; nothing otherwise).
- ``refund_restore_items``: a refund that makes the order fully refunded restores coupons
  whose template allows it (``coupons.restore_items`` when present; nothing otherwise).

Contract for the coupons functions: keyword arguments as below, return a list of
TransactItems in the resource (plain-value) form, read whatever they need themselves, and
make every item conditional so a replay cannot double-apply. A failed condition in these
items cancels the loyalty transaction; loyalty reports it as 409.
"""

from __future__ import annotations

import hashlib
from typing import Any

from chalicelib.services.deps import CouponHooks, deps

Item = dict[str, Any]


def _coupons() -> CouponHooks:
    return deps().coupon_hooks


def issued_coupon_id(source: str, ref: str, template_id: str) -> str:
    """Deterministic id, so issuing twice for the same cause collides instead of doubling."""
    return "L" + hashlib.sha256(f"{source}|{ref}|{template_id}".encode()).hexdigest()[:20]


def coupon_issue_items(member_id: str, template_id: str, *, source: str, ref: str,
                       now: str) -> tuple[str, list[Item]]:
    """(coupon id, items) issuing one coupon from ``template_id`` to the member."""
    coupon_id = issued_coupon_id(source, ref, template_id)
    fn = _coupons().issue_items
    if fn is not None:
        return coupon_id, fn(member_id=member_id, template_id=template_id, coupon_id=coupon_id,
                             source=source, ref=ref, now=now)
    return coupon_id, [minimal_wallet_coupon(member_id, coupon_id, template_id, source, ref,
                                             now)]


def minimal_wallet_coupon(member_id: str, coupon_id: str, template_id: str, source: str,
                          ref: str, now: str) -> Item:
    """Fallback wallet entry, for the coupons service to take over (validity is applied
    from the template when the coupon is first read or used)."""
    return deps().loyalty.wallet_coupon_item(member_id, coupon_id, template_id, source=source,
                                             ref=ref, now=now)


def reservation_for_order(*, order_id: str, member_id: str, reservation_id: str,
                          lines: list[tuple[str, int, int]], discount_total: int,
                          shipping_fee: int, now: str,
                          categories: list[str | None] | None = None,
                          ) -> tuple[list[int] | None, list[tuple[str, Item]]]:
    """(per-line discounts, named confirming items); (None, []) without a coupons service."""
    fn = _coupons().order_confirmation
    if fn is None:
        return None, []
    discounts, items = fn(order_id=order_id, member_id=member_id, reservation_id=reservation_id,
                          lines=lines, discount_total=discount_total, shipping_fee=shipping_fee,
                          now=now, categories=categories)
    return discounts, items


def refund_restore_items(*, order: dict[str, Any], refund_id: str, now: str) -> list[Item]:
    fn = _coupons().restore_items
    if fn is None:
        return []
    return fn(order=order, refund_id=refund_id, now=now)

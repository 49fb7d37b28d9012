"""Builders shared by the coupon unit tests: templates, wallet coupons, carts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.coupons.cart import Cart
from chalicelib.domain.coupons.eligibility import Context, WalletCoupon
from chalicelib.domain.coupons.rules import compile_template
from chalicelib.domain.coupons.template import parse_template

NOW = datetime(2026, 5, 6, 4, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Shanghai
SHANGHAI = ZoneInfo("Asia/Shanghai")
VALIDITY = {"starts_at": "2026-01-01T00:00:00+08:00", "ends_at": "2027-01-01T00:00:00+08:00"}


def template(tid: str = "t-1", benefit: dict[str, Any] | None = None, **fields: Any) -> Any:
    body = {"template_id": tid, "name": tid, "validity": VALIDITY,
            "benefit": benefit or {"type": "fixed", "amount": 500}, **fields}
    return parse_template(body)


def coupon(cid: str, benefit: dict[str, Any], tid: str | None = None, *,
           expires_in_days: float = 30, **fields: Any) -> WalletCoupon:
    t = template(tid or f"t-{cid}", benefit, **fields)
    return WalletCoupon(cid, t.template_id, compile_template(t), NOW - timedelta(days=1),
                        NOW + timedelta(days=expires_in_days))


def cart(*items: tuple[str, str, int, int], shipping_fee: int = 0, **kw: Any) -> Cart:
    return Cart.model_validate({
        "items": [{"sku": s, "category": c, "quantity": q, "unit_price": p}
                  for s, c, q, p in items], "shipping_fee": shipping_fee, **kw})


def ctx(**kw: Any) -> Context:
    return Context(**{"at": NOW, "tz": SHANGHAI, "max_per_order": 4, **kw})

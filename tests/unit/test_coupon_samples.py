"""The product brief's promotions, as the sample templates in campaigns/coupons/, on carts."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.coupons.eligibility import Context, WalletCoupon
from chalicelib.domain.coupons.quote import quote
from chalicelib.domain.coupons.rules import compile_template
from chalicelib.domain.coupons.template import parse_template
from chalicelib.domain.coupons.validity import use_period
from tests.unit.coupon_factories import SHANGHAI, cart

FILES = Path(__file__).resolve().parents[2] / "campaigns" / "coupons"
TIERS = ("member", "silver", "gold", "platinum")


def sample(template_id: str, claimed_at: datetime, coupon_id: str | None = None,
           ) -> WalletCoupon:
    t = parse_template((FILES / f"{template_id}.json").read_text(encoding="utf-8"),
                       template_id)
    start, end = use_period(t.validity, claimed_at)
    return WalletCoupon(coupon_id or template_id, template_id, compile_template(t), start, end)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ctx(when: datetime, **kw: Any) -> Context:
    return Context(at=when, tz=SHANGHAI, tier_order=TIERS, max_per_order=4, **kw)


def reasons(q: Any) -> dict[str, str]:
    return {r.coupon_id: r.reason for r in q.rejected}


def test_every_sample_template_is_valid() -> None:
    files = sorted(FILES.glob("*.json"))
    assert len(files) >= 5
    for f in files:
        parse_template(f.read_text(encoding="utf-8"), f.stem)


D11 = at("2026-11-11T10:00:00+08:00")


def test_double11_takes_100_off_500_and_says_how_much_is_missing_below() -> None:
    w = [sample("double11", D11 - timedelta(days=3))]
    q = quote(cart(("TEA", "food", 2, 26000)), w, ctx(D11))
    assert q.best.coupon_ids == ["double11"]
    assert (q.best.discount, q.best.total) == (10000, 42000)
    q = quote(cart(("TEA", "food", 1, 49999)), w, ctx(D11))
    assert q.best.coupon_ids == [] and q.rejected[0].reason == "MIN_SPEND_NOT_MET"
    assert q.rejected[0].details["missing"] == 1
    gift_cards = cart(("CARD", "gift-cards", 1, 60000), ("TEA", "food", 1, 10000))
    q = quote(gift_cards, w, ctx(D11))
    assert q.rejected[0].details == {"missing": 40000, "required": 50000,
                                     "eligible_subtotal": 10000}
    q = quote(cart(("TEA", "food", 2, 26000)), w, ctx(at("2026-11-12T00:00:00+08:00")))
    assert reasons(q) == {"double11": "EXPIRED"}


CNY = at("2027-01-20T20:00:00+08:00")
CNY_CART = cart(("SNACK-BOX", "snacks", 2, 15000), ("WALNUTS", "nuts", 1, 20000),
                ("BAIJIU", "wine", 1, 60000), shipping_fee=1000)


def cny_wallet() -> list[WalletCoupon]:
    return [sample(t, CNY - timedelta(days=2)) for t in
            ("cny-1000-200", "cny-snacks-80", "cny-gift-couplets")]


def test_cny_stacks_1000_minus_200_then_20_percent_on_snacks_and_adds_the_gift() -> None:
    q = quote(CNY_CART, cny_wallet(), ctx(CNY))
    assert sorted(q.best.coupon_ids) == ["cny-1000-200", "cny-gift-couplets", "cny-snacks-80"]
    # 满1000减200 first, spread over the whole ¥1,100: snacks and nuts keep
    # 50000 - 20000 * 50000 / 110000 = 40909.09; 8折 takes 20% of that, rounded down.
    shares = {c.coupon_id: c.discount for c in q.best.coupons}
    assert shares == {"cny-1000-200": 20000, "cny-snacks-80": 8181, "cny-gift-couplets": 0}
    assert q.best.discount == 28181 and q.best.total == 110000 + 1000 - 28181
    assert [g.sku for g in q.best.gifts] == ["GIFT-CNY-COUPLETS"]
    assert sum(ln.discount for ln in q.best.lines) == 28181
    assert q.best.lines[2].discount == 10909  # the wine only gets its share of the 满减
    assert q.rejected == []


def test_cny_below_1000_keeps_only_the_snack_discount_and_explains_the_rest() -> None:
    small = cart(("SNACK-BOX", "snacks", 2, 15000), ("BAIJIU", "wine", 1, 60000))
    q = quote(small, cny_wallet(), ctx(CNY))
    assert q.best.coupon_ids == ["cny-snacks-80"] and q.best.discount == 6000
    assert reasons(q) == {"cny-1000-200": "MIN_SPEND_NOT_MET",
                          "cny-gift-couplets": "MIN_SPEND_NOT_MET"}


def test_double11_and_cny_are_both_platform_coupons_so_only_one_applies() -> None:
    when = at("2026-11-05T12:00:00+08:00")
    w = [sample("double11", when), sample("cny-1000-200", when)]
    w[1] = WalletCoupon("cny", "cny-1000-200", w[1].rules, when - timedelta(days=1),
                        when + timedelta(days=1))
    q = quote(cart(("TV", "digital", 1, 120000)), w, ctx(when))
    assert q.best.coupon_ids == ["cny"]
    assert q.rejected[0].reason == "STACKING_CONFLICT"
    assert q.rejected[0].details == {"rule": "stack_group", "with": ["cny"]}


def test_new_member_5_yuan_needs_no_minimum_and_never_exceeds_the_cart() -> None:
    now = at("2026-06-01T09:00:00+08:00")
    w = [sample("new-member-5", now)]
    assert quote(cart(("PEN", "office", 1, 300)), w, ctx(now)).best.total == 0
    q = quote(cart(("PEN", "office", 1, 3000)), w, ctx(now))
    assert q.best.discount == 500
    later = quote(cart(("PEN", "office", 1, 3000)), w, ctx(now + timedelta(days=30)))
    assert reasons(later) == {"new-member-5": "EXPIRED"}


@pytest.mark.parametrize(("payment", "channel", "reason"), [
    ("wechat_pay", "app", None), ("alipay", "app", "WRONG_PAYMENT_METHOD"),
    (None, "app", "WRONG_PAYMENT_METHOD"), ("wechat_pay", "web", "WRONG_CHANNEL")])
def test_wechat_pay_only_coupon(payment: str | None, channel: str, reason: str | None) -> None:
    now = at("2026-06-01T09:00:00+08:00")
    c = cart(("RICE", "food", 1, 25000), payment_method=payment, channel=channel)
    q = quote(c, [sample("wechat-pay-200-20", now)], ctx(now))
    if reason is None:
        assert q.best.discount == 2000
    else:
        assert reasons(q) == {"wechat-pay-200-20": reason}


@pytest.mark.parametrize(("tier", "when", "reason"), [
    ("gold", "2026-06-03T12:00:00+08:00", None),  # a Wednesday lunchtime
    ("platinum", "2026-06-03T11:00:00+08:00", None),
    ("silver", "2026-06-03T12:00:00+08:00", "TIER_REQUIRED"),
    (None, "2026-06-03T12:00:00+08:00", "TIER_REQUIRED"),
    ("gold", "2026-06-03T10:59:00+08:00", "NOT_IN_TIME_WINDOW"),
    ("gold", "2026-06-06T12:00:00+08:00", "NOT_IN_TIME_WINDOW"),  # Saturday
    ("gold", "2026-06-03T04:00:00+00:00", None)])  # 12:00 in Shanghai, given in UTC
def test_gold_and_above_10_percent_off(tier: str | None, when: str, reason: str | None) -> None:
    moment = at(when)
    w = [sample("gold-plus-90", at("2026-06-01T09:00:00+08:00"))]
    q = quote(cart(("COAT", "fashion", 1, 80000)), w, ctx(moment, tier=tier))
    if reason is None:
        assert q.best.discount == 8000
    else:
        assert reasons(q) == {"gold-plus-90": reason}


def test_gold_discount_is_capped_at_300_yuan() -> None:
    moment = at("2026-06-03T12:00:00+08:00")
    w = [sample("gold-plus-90", moment)]
    q = quote(cart(("WATCH", "fashion", 1, 500000)), w, ctx(moment, tier="gold"))
    assert q.best.discount == 30000

"""GET /me/profile-facts: what Perks knows about the calling member and why, in Chinese and
English, from its orders (net of refunds) and profile; members only, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.services import clock
from tests.loyalty_support import order, publish

NOW = datetime(2026, 11, 11, 4, tzinfo=UTC)


@pytest.fixture
def shopper(api_on):
    clock.freeze(NOW)
    publish()
    r = api_on.post("/members", role="service", body={
        "member_id": "m-1", "birthday": "1995-06-01", "city": "成都", "timezone": "Asia/Shanghai",
        "phone": "+8613800138000"})
    assert r.status_code == 201, r.json
    yield api_on
    clock.freeze(None)


def facts_of(api) -> dict:
    r = api.get("/me/profile-facts", role="member", sub="m-1")
    assert r.status_code == 200, r.json
    return r.json


def test_a_new_member_sees_what_its_profile_says_and_no_order_facts(shopper):
    got = facts_of(shopper)
    assert got["member_id"] == "m-1" and got["as_of"] == "2026-11-11"
    assert got["facts_since"] is None
    by_attr = {f["attr"]: f for f in got["facts"]}
    assert set(by_attr) == {"age_band", "city_level"}
    assert by_attr["age_band"]["value"] == "25-34"
    assert by_attr["city_level"]["value"] == "新一线"
    assert by_attr["city_level"]["label"] == {"zh-CN": "城市等级", "en": "City tier"}
    assert by_attr["age_band"]["why"]["en"] == "From the birthday you gave"


def test_orders_and_refunds_show_up_with_labels_and_reasons(shopper):
    for oid, amount, cat in (("o-1", 20000, "coffee"), ("o-2", 10000, "tea")):
        r = shopper.post("/orders", role="service", body=order(
            oid, amount=amount, category=cat, store_id="s-1", channel="mini-program"))
        assert r.status_code == 201, r.json
    r = shopper.post("/orders/o-2/refunds", role="service",
                     body={"refund_id": "r-1", "amount": 10000})
    assert r.status_code == 201, r.json
    got = facts_of(shopper)
    by_attr = {f["attr"]: f for f in got["facts"]}
    assert got["facts_since"] == "2026-11-11"
    assert (by_attr["orders_30d"]["value"], by_attr["spend_30d"]["value"]) == (1, 20000)
    assert by_attr["spend_30d"]["unit"] == "fen"
    assert by_attr["orders_30d"]["label"] == {"zh-CN": "近30天订单数",
                                              "en": "Orders in the last 30 days"}
    assert by_attr["avg_basket_365d"]["value"] == 20000
    assert by_attr["favourite_store"]["value"] == "s-1"
    assert by_attr["favourite_channel"]["value"] == "mini-program"
    assert by_attr["affinity.coffee"]["value"] == 100 and "affinity.tea" not in by_attr
    assert by_attr["first_order_days_ago"]["value"] == "2026-11-11"
    assert all(f["why"]["zh-CN"] and f["why"]["en"] for f in got["facts"])


def test_only_the_member_reads_its_facts_and_an_erased_member_has_none(shopper):
    assert shopper.get("/me/profile-facts", role="service").status_code == 403
    assert shopper.get("/me/profile-facts", role="member", sub="nobody").status_code == 404
    assert shopper.delete("/me", role="member", sub="m-1").status_code == 204
    assert shopper.get("/me/profile-facts", role="member", sub="m-1").status_code == 404

"""Tier perks that act (issue 13), end to end on both engines: an order pushes a member over
the gold threshold → the upgrade gift and this month's free-shipping coupons are in the
wallet → quote, reserve and the confirming order use the free-shipping coupon. Grants are
exactly once (replays, re-upgrades, the monthly job run twice, concurrent grants); the
birthday multiplier, tier-only coupons and the configured frequency caps act too."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters import keys
from chalicelib.domain.loyalty.program import parse_program
from chalicelib.errors import Unprocessable
from chalicelib.services import clock
from chalicelib.services.coupons import coupons
from chalicelib.services.loyalty import perks
from chalicelib.services.loyalty import program as programs
from tests.coupon_support import register, save_template, set_tier, template
from tests.loyalty_support import PROGRAM, books, place, serialise_moto

ZONES = ("America/Los_Angeles", "Asia/Shanghai", "UTC")
SHIP = {"type": "free_shipping"}


def perks_program(**changes: Any) -> dict[str, Any]:
    """Silver at ¥200 and gold at ¥500 of spend; monthly free shipping 1 and 2, gifts."""
    p = copy.deepcopy(PROGRAM)
    p["tiers"] = [
        {"id": "member", "name": "会员", "benefits": {"birthday_points_multiplier": 1.5}},
        {"id": "silver", "name": "银卡", "thresholds": {"min_spend": 20000},
         "benefits": {"free_shipping_coupons_per_month": 1, "free_shipping_template": "fs",
                      "upgrade_gift": {"points": 100}}},
        {"id": "gold", "name": "金卡", "thresholds": {"min_spend": 50000},
         "benefits": {"free_shipping_coupons_per_month": 2, "free_shipping_template": "fs",
                      "birthday_points_multiplier": 2,
                      "upgrade_gift": {"points": 500, "coupon_templates": ["gold-gift"]}}},
    ]
    p["rewards"] = []
    p.update(changes)
    return p


def setup(**changes: Any) -> None:
    save_template("fs", template("包邮券", SHIP, claimable=False,
                                 audience={"min_tier": "silver"}))
    save_template("gold-gift", template("金卡礼 ¥10", {"type": "no_threshold", "amount": 1000},
                                        claimable=False))
    programs.publish(parse_program(perks_program(**changes)), "tester")


def wallet(member: str) -> list[str]:
    return sorted(c.template_id for c in coupons.wallet(member))


def step_down(member: str) -> None:
    """Back to the base tier, as a review would step a member down (points untouched)."""
    from chalicelib.adapters import aws

    aws.table().update_item(Key=keys.member_loyalty(member),
                            UpdateExpression="SET tier = :t ADD version :one REMOVE review_at",
                            ExpressionAttributeValues={":t": "member", ":one": 1})


def freeze(*a: int) -> None:
    clock.freeze(datetime(*a, tzinfo=UTC))


def test_an_upgrade_puts_its_perks_in_the_wallet_and_checkout_uses_free_shipping(api_on):
    freeze(2026, 5, 20, 4, 0)
    setup()
    api = api_on
    assert api.post("/members", role="service", body={"member_id": "m-1"}).status_code == 201
    body = {"order_id": "o-1", "member_id": "m-1", "currency": "CNY", "shipping_fee": 800,
            "items": [{"sku": "A", "quantity": 1, "unit_price": 60000}],
            "placed_at": clock.iso()}
    r = api.post("/orders", role="service", body=body)
    assert r.status_code == 201, r.json
    assert r.json["tier"]["after"] == "gold" and r.json["tier"]["change"] == "upgrade"
    mine = api.get("/me/coupons", role="member").json
    assert sorted(c["template_id"] for c in mine) == ["fs", "fs", "gold-gift"]
    # the gift's points are available at once, beside the order's 600
    assert api.get("/me/points", role="member").json["available"] == 600 + 500
    kinds = [(e["kind"], e["reason"]) for e in
             api.get("/me/points/history", role="member").json["entries"]]
    assert sorted(kinds) == [("earn", "order"), ("earn", "upgrade gift")]
    assert api.get("/me/tier", role="member").json["benefits"][
        "free_shipping_coupons_per_month"] == 2
    books("m-1")
    # a replayed order grants nothing more
    assert api.post("/orders", role="service", body=body).json == r.json
    assert len(api.get("/me/coupons", role="member").json) == 3
    # checkout: the quote waives the shipping fee with a free-shipping coupon
    cart = {"items": [{"sku": "B", "category": "food", "quantity": 1, "unit_price": 9900}],
            "shipping_fee": 1200}
    q = api.post("/checkout/quote", role="member", body={"cart": cart}).json
    fs_ids = {c["coupon_id"] for c in mine if c["template_id"] == "fs"}
    assert q["best"]["shipping_discount"] == 1200
    assert set(q["best"]["coupon_ids"]) & fs_ids
    chosen = q["best"]["coupon_ids"]
    res = api.post("/checkout/reservations", role="member",
                   body={"order_id": "o-2", "coupon_ids": chosen, "cart": cart})
    assert res.status_code == 201, res.json
    paid = {"order_id": "o-2", "member_id": "m-1", "currency": "CNY", "reservation_id": "o-2",
            "items": [{"sku": "B", "category": "food", "quantity": 1, "unit_price": 9900}],
            "shipping_fee": 1200 - res.json["shipping_discount"],
            "discount_total": res.json["discount"], "placed_at": clock.iso()}
    r2 = api.post("/orders", role="service", body=paid)
    assert r2.status_code == 201, r2.json
    used = {c["coupon_id"] for c in api.get("/me/coupons?status=used", role="member").json}
    assert used == set(chosen) and used & fs_ids
    assert api.get("/checkout/reservations/o-2", role="member").json["status"] == "confirmed"


def test_reaching_a_tier_again_gives_no_second_gift_and_a_month_is_granted_once(engine):
    freeze(2026, 5, 20, 4, 0)
    setup()
    register("m-1")
    place("o-1", "m-1", amount=60000)
    assert wallet("m-1") == ["fs", "fs", "gold-gift"]
    step_down("m-1")
    again = place("o-2", "m-1", amount=60000)
    assert again.tier.after == "gold" and again.tier.change == "upgrade"
    assert wallet("m-1") == ["fs", "fs", "gold-gift"]  # the gift once, May's coupons once
    assert [e["points"] for e in books("m-1")["ledger"] if e["reason"] == "upgrade gift"] == [
        500]


def test_an_upgrade_mid_month_tops_the_month_up_to_the_new_tier(engine):
    freeze(2026, 5, 20, 4, 0)
    setup()
    register("m-1")
    assert place("o-1", "m-1", amount=25000).tier.after == "silver"
    assert wallet("m-1") == ["fs"]
    assert place("o-2", "m-1", amount=30000).tier.after == "gold"
    assert wallet("m-1") == ["fs", "fs", "gold-gift"]  # 1 + 1 more: gold's 2 for May
    b = books("m-1")
    assert sorted(e["points"] for e in b["ledger"] if e["reason"] == "upgrade gift") == [
        100, 500]


def test_the_monthly_job_grants_at_each_members_local_month_start_once(engine, monkeypatch):
    serialise_moto(monkeypatch)  # the job reads shards and grants members on threads
    freeze(2026, 5, 20, 4, 0)
    setup()
    register("sh", timezone="Asia/Shanghai")
    register("la", timezone="America/Los_Angeles")
    register("down", timezone="Asia/Shanghai")
    for m in ("sh", "la", "down"):
        place(f"o-{m}", m, amount=60000)
    step_down("down")
    first = perks.grant_monthly(zones=ZONES)  # May: granted on upgrade already
    assert (first["coupons"], first["dropped"]) == (0, 1)  # "down" left the holders
    assert [len(wallet(m)) for m in ("sh", "la")] == [3, 3]
    freeze(2026, 5, 31, 16, 30)  # June began in Shanghai, not yet in Los Angeles
    report = perks.grant_monthly(zones=ZONES)
    assert (report["members"], report["granted"], report["coupons"]) == (1, 1, 2)
    assert [len(wallet(m)) for m in ("sh", "la", "down")] == [5, 3, 3]
    freeze(2026, 6, 1, 7, 30)  # ... and now there too
    assert perks.grant_monthly(zones=ZONES)["coupons"] == 2
    assert perks.grant_monthly(zones=ZONES)["coupons"] == 0  # twice: nothing more
    assert [len(wallet(m)) for m in ("sh", "la", "down")] == [5, 5, 3]
    from chalicelib.adapters import aws

    record = aws.table().get_item(Key=keys.perk_grant("la", "MONTH", "2026-06"))["Item"]
    assert record["count"] == 2


def test_concurrent_grants_of_one_month_issue_its_coupons_once(engine, monkeypatch):
    serialise_moto(monkeypatch)
    freeze(2026, 5, 20, 4, 0)
    setup()
    register("m-1")
    place("o-1", "m-1", amount=60000)
    freeze(2026, 6, 2, 4, 0)
    _, program = programs.current()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        issued = list(pool.map(lambda _: perks.grant_month(
            program, "m-1", "Asia/Shanghai", "2026-06", clock.now())[0], range(4)))
    assert sum(issued) == 2 and wallet("m-1").count("fs") == 4


def test_orders_in_the_birthday_month_earn_the_tiers_birthday_multiplier(engine):
    freeze(2026, 7, 10, 4, 0)
    setup()
    register("bd", birthday="1990-07-28")
    register("plain", birthday="1990-03-02")
    assert place("o-bd", "bd", amount=10000).points_earned == 150  # 100 x 1.5 (member tier)
    assert place("o-plain", "plain", amount=10000).points_earned == 100


def test_tier_only_coupons_are_hidden_from_and_refused_to_other_tiers(engine):
    setup()
    save_template("gold-only", template("金卡专享", audience={"tiers": ["gold"]}))
    register("s")
    register("g")
    set_tier("s", "silver")
    set_tier("g", "gold")
    assert "gold-only" not in [c.template_id for c in coupons.center("s")]
    with pytest.raises(Unprocessable) as e:
        coupons.claim("s", "gold-only")
    [detail] = e.value.details
    assert detail["reason"] == "TIER_REQUIRED" and detail["tiers"] == ["gold"]
    assert "gold-only" in [c.template_id for c in coupons.center("g")]
    assert coupons.claim("g", "gold-only").template_id == "gold-only"


def test_publishing_refuses_a_perk_template_that_cannot_do_its_job(engine):
    save_template("ten-off", template("¥10", {"type": "fixed", "amount": 1000}))
    doc = perks_program()
    doc["tiers"][2]["benefits"]["free_shipping_template"] = "ten-off"
    with pytest.raises(Unprocessable) as e:
        programs.publish(parse_program(doc), "tester")
    assert e.value.details[0]["path"] == "/tiers/2/benefits/free_shipping_template"


def test_members_tiered_before_perks_are_indexed_by_the_backfill(engine, monkeypatch, capsys):
    serialise_moto(monkeypatch)
    freeze(2026, 5, 20, 4, 0)
    setup()
    register("old", timezone="Asia/Shanghai")
    register("base", timezone="Asia/Shanghai")
    place("o-old", "old", amount=60000)
    place("o-base", "base", amount=1000)
    from chalicelib.adapters import aws

    aws.table().delete_item(Key=keys.perk_holder("old"))  # as if it upgraded before perks
    freeze(2026, 6, 1, 4, 0)
    assert perks.grant_monthly(zones=ZONES)["members"] == 0
    from chalicelib.cli import main

    assert main(["--stage", "test", "program", "backfill-perks"]) == 0
    assert "indexed 1 member(s)" in capsys.readouterr().out
    perks.repo().save_cursor("2026-05-31T00:00:00.000Z")  # run June's start again
    assert perks.grant_monthly(zones=ZONES)["coupons"] == 2
    assert wallet("old").count("fs") == 4


def test_a_review_that_finds_the_window_qualifying_higher_grants_the_perks(engine):
    from chalicelib.services.loyalty import jobs

    freeze(2026, 5, 20, 4, 0)
    setup()
    register("m-1")
    assert place("o-1", "m-1", amount=25000).tier.after == "silver"
    freeze(2027, 4, 10, 4, 0)
    place("o-2", "m-1", amount=15000)  # the window now holds ¥150: silver by the old rules
    lower = perks_program()
    lower["tiers"][1]["thresholds"] = {"min_spend": 10000}
    lower["tiers"][2]["thresholds"] = {"min_spend": 15000}
    programs.publish(parse_program(lower), "tester")
    freeze(2027, 5, 21, 4, 0)
    assert jobs.review_due()["upgraded"] == 1
    assert wallet("m-1") == ["fs", "fs", "fs", "gold-gift"]  # May 2026's one, May 2027's two
    assert sorted(e["points"] for e in books("m-1")["ledger"]
                  if e["reason"] == "upgrade gift") == [100, 500]

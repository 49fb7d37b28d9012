"""Loyalty over HTTP: the worked example, roles, validation, replays, pagination, audit."""

from __future__ import annotations

import pytest

from tests.loyalty_support import PROGRAM, order, program


@pytest.fixture
def club(api):
    assert api.put("/admin/program", role="marketer", sub="mk-1", body=PROGRAM).status_code == 200
    assert api.post("/members", role="service", body={"member_id": "m-1"}).status_code == 201
    return api


def test_worked_example_order_points_tier_and_reward(club):
    r = club.post("/orders", role="service", body=order("o-1", amount=49900, qty=2,
                                                        discount=1000, shipping=800))
    assert r.status_code == 201, r.json
    # (2 x ¥499 - ¥10) = ¥988 qualifying; shipping excluded; 1 point per ¥1 → 988 points.
    assert (r.json["qualifying_spend"], r.json["points_earned"]) == (98800, 988)
    assert r.json["progress"] == {"qualifying_spend": 98800, "qualifying_orders": 1,
                                  "next_tier": "silver", "spend_to_next": 1200,
                                  "orders_to_next": 4}
    r = club.post("/orders", role="service", body=order("o-2", amount=2000))
    assert r.json["tier"] == {"before": "member", "after": "silver", "changed": True,
                              "change": "upgrade", "review_at": r.json["tier"]["review_at"]}
    tier = club.get("/me/tier", role="member").json
    assert tier["tier"] == "silver" and tier["benefits"]["points_multiplier"] == 1.25
    assert club.get("/me/points", role="member").json["available"] == 1008
    rewards = club.get("/rewards", role="member").json["rewards"]
    assert [x["id"] for x in rewards] == ["tote", "coupon-20", "limited"]
    r = club.post("/me/rewards/tote/redeem", role="member")
    assert r.status_code == 201 and r.json["available"] == 908
    history = club.get("/me/points/history", role="member").json["entries"]
    assert [e["kind"] for e in history] == ["spend", "earn", "earn"]


def test_roles_are_enforced(club):
    assert club.post("/orders", role="member", body=order("o-1")).status_code == 403
    assert club.put("/admin/program", role="member", body=PROGRAM).status_code == 403
    assert club.post("/admin/members/m-1/points", role="marketer",
                     body={"delta": 5, "reason": "nice"}).status_code == 403
    assert club.get("/me/points").status_code == 401


def test_order_and_refund_bodies_are_validated_with_json_paths(club):
    bad = order("o-1", amount=100, discount=500)
    r = club.post("/orders", role="service", body=bad)
    assert r.status_code == 400 and r.json["error"]["details"][0]["path"] == "/"
    bad = order("o-1")
    bad["items"][0]["quantity"] = 0
    r = club.post("/orders", role="service", body=bad)
    assert r.json["error"]["details"][0]["path"] == "/items/0/quantity"
    club.post("/orders", role="service", body=order("o-1"))
    r = club.post("/orders/o-1/refunds", role="service",
                  body={"refund_id": "rf-1", "amount": 1, "items": [{"sku": "SKU-1",
                                                                     "quantity": 1}]})
    assert r.status_code == 400
    r = club.post("/orders/o-1/refunds", role="service", body={"refund_id": "rf-1",
                                                               "amount": 10**6})
    assert r.status_code == 422 and r.json["error"]["details"][0]["path"] == "/amount"
    assert club.post("/orders/nope/refunds", role="service",
                     body={"refund_id": "rf-1", "amount": 1}).status_code == 404


def test_replays_earn_once_with_or_without_an_idempotency_key(api_on):
    api_on.put("/admin/program", role="admin", body=PROGRAM)
    api_on.post("/members", role="service", body={"member_id": "m-1"})
    body = order("o-1", amount=5000)
    plain = [api_on.post("/orders", role="service", body=body) for _ in range(2)]
    keyed = [api_on.post("/orders", role="service", body=body,
                         headers={"Idempotency-Key": "k-1"}) for _ in range(2)]
    assert {r.status_code for r in plain + keyed} == {201}
    assert all(r.json["points_earned"] == 50 for r in plain + keyed)
    assert api_on.get("/me/points", role="member").json["available"] == 50
    assert len(api_on.get("/me/points/history", role="member").json["entries"]) == 1


def test_history_is_newest_first_with_an_opaque_cursor(club):
    for i in range(5):
        club.post("/orders", role="service", body=order(f"o-{i}", amount=100 * (i + 1)))
    page = club.get("/me/points/history?limit=2", role="member").json
    assert [e["order_id"] for e in page["entries"]] == ["o-4", "o-3"]
    seen = [e["order_id"] for e in page["entries"]]
    while page["next_cursor"]:
        page = club.get(f"/me/points/history?limit=2&cursor={page['next_cursor']}",
                        role="member").json
        seen += [e["order_id"] for e in page["entries"]]
    assert seen == ["o-4", "o-3", "o-2", "o-1", "o-0"]
    assert club.get("/me/points/history?cursor=bm9wZQ", role="member").status_code == 400
    assert club.get("/me/points/history?limit=0", role="member").status_code == 400


def test_program_versions_are_kept_and_invalid_programs_rejected_with_paths(club):
    changed = program(earning={"points_per_unit": 2})
    r = club.put("/admin/program", role="admin", sub="adm-1", body=changed)
    assert r.status_code == 200 and r.json["version"] == 2
    assert club.get("/admin/program?version=1", role="marketer").json["program"]["earning"][
        "points_per_unit"] == 1
    assert club.get("/admin/program", role="marketer").json["published_by"] == "adm-1"
    versions = club.get("/admin/program/versions", role="marketer").json["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert club.get("/admin/program?version=9", role="marketer").status_code == 404
    # the new earning rate applies from the moment it is published
    assert club.post("/orders", role="service",
                     body=order("o-1", amount=1000)).json["points_earned"] == 20
    bad = program()
    bad["tiers"][1]["thresholds"]["combine"] = "either"
    r = club.put("/admin/program", role="marketer", body=bad)
    assert r.status_code == 400
    assert r.json["error"]["details"][0]["path"] == "/tiers/1/thresholds/combine"
    fewer = program()
    fewer["tiers"] = fewer["tiers"][:2]
    fewer["rewards"] = []
    r = club.put("/admin/program", role="marketer", body=fewer)
    assert r.status_code == 422 and "gold" in r.json["error"]["details"][0]["message"]


def test_admin_adjustments_are_audited_with_who_when_and_why(club):
    r = club.post("/admin/members/m-1/points", role="admin", sub="adm-7",
                  body={"delta": 300, "reason": "parcel arrived damaged"})
    assert r.status_code == 201 and r.json["available"] == 300
    r = club.post("/admin/members/m-1/points", role="admin", sub="adm-7",
                  body={"delta": -500, "reason": "too much"})
    assert r.status_code == 409
    assert club.post("/admin/members/ghost/points", role="admin",
                     body={"delta": 1, "reason": "test"}).status_code == 404
    from boto3.dynamodb.conditions import Key

    from chalicelib.adapters import aws, keys

    audited_at = club.get("/me/points/history", role="member").json["entries"][0]["created_at"]
    items = aws.table().query(KeyConditionExpression=Key("PK").eq(
        keys.audit(audited_at[:7], "")["PK"]))["Items"]
    adjust = [i for i in items if (i.get("entity"), i.get("action")) == ("points", "adjust")]
    assert len(adjust) == 1
    assert (adjust[0]["who"], adjust[0]["entity_id"], adjust[0]["reason"],
            adjust[0]["delta"]) == ("adm-7", "m-1", "parcel arrived damaged", 300)


def test_service_reads_an_order_with_its_refunds(club):
    club.post("/orders", role="service", body=order("o-1", amount=1000, qty=2))
    club.post("/orders/o-1/refunds", role="service",
              body={"refund_id": "rf-1", "items": [{"sku": "SKU-1", "quantity": 1}]})
    r = club.get("/orders/o-1", role="service")
    assert r.status_code == 200
    assert (r.json["points"], r.json["reversed_points"], len(r.json["refunds"])) == (20, 10, 1)
    assert club.get("/orders/o-1", role="member").status_code == 403

"""Gift fulfilment over HTTP, on both engines: the queue, the moves, the member's view, the
points and stock a cancellation returns (once), audit and Idempotency-Key."""

from __future__ import annotations

import pytest

from tests.loyalty_support import PROGRAM, order


@pytest.fixture
def club(api_on):
    assert api_on.put("/admin/program", role="admin", body=PROGRAM).status_code == 200
    assert api_on.post("/members", role="service", body={"member_id": "m-1"}).status_code == 201
    assert api_on.post("/orders", role="service",
                       body=order("o-1", amount=50000)).status_code == 201  # 500 points
    return api_on


def redeem(club, reward: str) -> str:
    r = club.post(f"/me/rewards/{reward}/redeem", role="member")
    assert r.status_code == 201 and r.json["status"] == "to_fulfil", r.json
    return str(r.json["redemption_id"])


def available(club) -> int:
    return int(club.get("/me/points", role="member").json["available"])


def test_a_redeemed_gift_is_queued_shipped_delivered_and_the_member_follows_it(club):
    fid = redeem(club, "tote")
    queue = club.get("/admin/fulfilments?status=to_fulfil", role="marketer").json
    assert [g["fulfilment_id"] for g in queue["items"]] == [fid]
    assert queue["items"][0]["sku"] == "GIFT-TOTE" and queue["items"][0]["member_id"] == "m-1"
    mine = club.get("/me/gifts", role="member").json["gifts"]
    assert mine[0]["status"] == "to_fulfil" and mine[0].get("tracking_number") is None
    r = club.post(f"/admin/fulfilments/{fid}/ship", role="marketer",
                  body={"carrier": "顺丰速运", "tracking_number": "SF1234567890"})
    assert r.status_code == 200 and r.json["status"] == "shipped", r.json
    mine = club.get("/me/gifts", role="member").json["gifts"][0]
    assert (mine["carrier"], mine["tracking_number"]) == ("顺丰速运", "SF1234567890")
    assert club.get("/admin/fulfilments?status=to_fulfil", role="admin").json["items"] == []
    assert club.post(f"/admin/fulfilments/{fid}/deliver", role="marketer",
                     body={}).json["status"] == "delivered"
    r = club.post(f"/admin/fulfilments/{fid}/cancel", role="admin", body={"reason": "too late"})
    assert r.status_code == 409
    assert r.json["error"]["details"][0]["reason"] == "FULFILMENT_STATUS"
    assert r.json["error"]["details"][0]["allowed_from"] == ["shipped", "to_fulfil"]
    got = club.get(f"/admin/fulfilments/{fid}", role="admin").json
    assert [h["status"] for h in got["history"]] == ["to_fulfil", "shipped", "delivered"]
    audit = club.get(f"/admin/audit?entity_id={fid}", role="admin").json["items"]
    assert sorted(a["action"] for a in audit) == ["deliver", "ship"]


def test_cancel_returns_the_points_and_the_stock_exactly_once(club):
    before = available(club)
    remaining = {r["id"]: r.get("remaining") for r in club.get("/rewards", role="member").json[
        "rewards"]}["limited"]
    fid = redeem(club, "limited")  # 10 points, stock 5
    assert available(club) == before - 10
    key = {"Idempotency-Key": "cancel-1"}
    first = club.post(f"/admin/fulfilments/{fid}/cancel", role="admin",
                      body={"reason": "缺货 out of stock"}, headers=key)
    again = club.post(f"/admin/fulfilments/{fid}/cancel", role="admin",
                      body={"reason": "缺货 out of stock"}, headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json == again.json and first.json["points_returned"] == 10
    other = club.post(f"/admin/fulfilments/{fid}/cancel", role="admin", body={"reason": "twice"})
    assert other.status_code == 409
    assert available(club) == before
    entries = club.get("/me/points/history", role="member").json["entries"]
    assert [(e["kind"], e["points"]) for e in entries[:2]] == [("return", 10), ("spend", -10)]
    assert {r["id"]: r.get("remaining") for r in club.get("/rewards", role="member").json[
        "rewards"]}["limited"] == remaining
    mine = club.get("/me/gifts", role="member").json["gifts"][0]
    assert (mine["status"], mine["points_returned"]) == ("cancelled", 10)
    cancelled = club.get("/admin/fulfilments?status=cancelled", role="admin").json["items"]
    assert [g["fulfilment_id"] for g in cancelled] == [fid]


def test_a_cancelled_gift_no_longer_counts_towards_the_rewards_per_member_limit(club):
    import copy

    program = copy.deepcopy(PROGRAM)
    tote = next(r for r in program["rewards"] if r["id"] == "tote")
    tote["per_member_limit"] = 1
    assert club.put("/admin/program", role="admin", body=program).status_code == 200
    fid = redeem(club, "tote")
    assert club.post("/me/rewards/tote/redeem", role="member").status_code == 409  # the limit
    r = club.post(f"/admin/fulfilments/{fid}/cancel", role="admin",
                  body={"reason": "缺货 out of stock"})
    assert r.status_code == 200 and r.json["status"] == "cancelled", r.json
    again = redeem(club, "tote")  # the cancelled one is given back, points and count
    assert again != fid
    assert club.post("/me/rewards/tote/redeem", role="member").status_code == 409
    assert club.post(f"/admin/fulfilments/{fid}/cancel", role="admin",
                     body={"reason": "twice"}).status_code == 409  # no second give-back


def test_the_queue_pages_newest_first_across_its_shards(club):
    ids = [redeem(club, "limited") for _ in range(5)]
    seen, cursor = [], None
    for _ in range(5):
        q = "?status=to_fulfil&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = club.get("/admin/fulfilments" + q, role="admin").json
        seen += [g["fulfilment_id"] for g in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))


def test_roles_and_bodies_are_checked(club):
    fid = redeem(club, "tote")
    assert club.get("/admin/fulfilments", role="member").status_code == 403
    assert club.post(f"/admin/fulfilments/{fid}/cancel", role="marketer",
                     body={"reason": "nope"}).status_code == 403
    r = club.post(f"/admin/fulfilments/{fid}/ship", role="admin",
                  body={"carrier": "EMS", "tracking_number": "has space"})
    assert r.status_code == 400 and r.json["error"]["details"][0]["path"] == "/tracking_number"
    assert club.get("/admin/fulfilments?status=lost", role="admin").status_code == 400
    assert club.post("/admin/fulfilments/nope/deliver", role="admin",
                     body={}).status_code == 404
    assert club.get("/me/gifts", role="member", sub="m-2").json["gifts"] == []

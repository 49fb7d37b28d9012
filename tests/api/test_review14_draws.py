"""Review 14: lucky-draw defects found in the adversarial review (each test failed first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.services import clock
from tests.draw_support import club_fixture, draw

NOW = datetime(2027, 1, 30, 4, 0, tzinfo=UTC)
club = club_fixture(NOW)


def test_a_gift_won_in_a_draw_reaches_the_fulfilment_queue_and_the_members_gifts(club):
    doc = draw(NOW, prizes=[{"id": "mug", "kind": "gift", "sku": "GIFT-MUG", "cost": 3000,
                             "weight": 1, "stock": 3, "name": {"zh": "马克杯"}}])
    assert club.put("/admin/draws/lucky", role="marketer", body=doc).status_code == 200
    won = club.post("/me/draws/lucky/entries", role="member",
                    headers={"Idempotency-Key": "k-1"})
    assert won.status_code == 201 and won.json["prize_id"] == "mug", won.json
    queue = club.get("/admin/fulfilments", role="marketer").json["items"]
    assert [(g["member_id"], g["sku"], g["source"]) for g in queue] == [
        ("m-1", "GIFT-MUG", "draw")]
    mine = club.get("/me/gifts", role="member").json["gifts"]
    assert [g["sku"] for g in mine] == ["GIFT-MUG"]


def test_a_closed_draw_whose_seed_is_public_cannot_be_reopened(club):
    doc = draw(NOW)
    assert club.put("/admin/draws/lucky", role="marketer", body=doc).status_code == 200
    clock.freeze(NOW + timedelta(days=2))
    assert club.get("/draws/lucky", role="member").json["seed"]  # anyone can read it now
    doc["window"]["closes_at"] = (NOW + timedelta(days=5)).isoformat()
    r = club.put("/admin/draws/lucky", role="marketer", body=doc)
    assert r.status_code == 409, r.json
    assert r.json["error"]["details"][0]["reason"] == "DRAW_CLOSED"
    entered = club.post("/me/draws/lucky/entries", role="member",
                        headers={"Idempotency-Key": "k-1"})
    assert entered.status_code == 422

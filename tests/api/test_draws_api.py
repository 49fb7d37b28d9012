"""Lucky draws over HTTP: definition and audit, commitment, entries, limits, replays, the
freeze once open, stats, reveal and verification."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from chalicelib.services import clock
from chalicelib.services.engagement import draws
from tests.draw_support import club_fixture, draw

NOW = datetime(2027, 1, 30, 4, 0, tzinfo=UTC)
club = club_fixture(NOW)


def test_a_draw_is_defined_committed_entered_revealed_and_verified(club):
    r = club.put("/admin/draws/lucky", role="marketer", sub="mk-1", body=draw(NOW))
    assert r.status_code == 200, r.json
    assert r.json["result"] == "created" and r.json["version"] == 1
    public = club.get("/draws/lucky", role="member").json
    assert public["status"] == "open" and "seed" not in public
    assert public["commitment"] == r.json["commitment"]
    first = club.post("/me/draws/lucky/entries", role="member",
                      headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.json
    again = club.post("/me/draws/lucky/entries", role="member",
                      headers={"Idempotency-Key": "k-1"})
    assert again.json["entry_id"] == first.json["entry_id"]
    for i in range(2, 6):
        assert club.post("/me/draws/lucky/entries", role="member",
                         headers={"Idempotency-Key": f"k-{i}"}).status_code == 201
    r = club.post("/me/draws/lucky/entries", role="member", headers={"Idempotency-Key": "k-6"})
    assert r.status_code == 409 and r.json["error"]["code"] == "LIMIT_REACHED"
    assert r.json["error"]["details"][0]["reason"] == "DRAW_LIMIT_DAY"
    mine = club.get("/me/draws/lucky/entries", role="member").json
    assert len(mine["entries"]) == 5
    won = sum(e.get("points_won", 0) for e in mine["entries"])
    assert club.get("/me/points", role="member").json["available"] == 1000 - 50 + won
    stats = club.get("/admin/draws/lucky/stats", role="marketer").json
    assert stats["entries"] == 5
    assert stats["budget_spent"]["points"] == won
    # once open, the odds are fixed; the name is not
    changed = draw(NOW)
    changed["prizes"][0]["weight"] = 50
    r = club.put("/admin/draws/lucky", role="marketer", body=changed)
    assert r.status_code == 409 and r.json["error"]["details"][0]["reason"] == "DRAW_OPENED"
    r = club.post("/admin/draws/lucky/reveal", role="marketer")
    assert r.status_code == 409 and r.json["error"]["details"][0]["reason"] == "DRAW_NOT_CLOSED"
    clock.freeze(NOW + timedelta(days=2))
    r = club.post("/me/draws/lucky/entries", role="member", headers={"Idempotency-Key": "k-7"})
    assert r.status_code == 422 and r.json["error"]["details"][0]["reason"] == "DRAW_CLOSED"
    shown = club.post("/admin/draws/lucky/reveal", role="marketer").json
    assert hashlib.sha256(bytes.fromhex(shown["seed"])).hexdigest() == shown["commitment"]
    report = draws.verify("lucky")
    assert report["ok"], report["problems"]
    assert report["entries"] == 5


def test_draw_bodies_are_validated_with_json_paths(club):
    bad = draw(NOW)
    bad["prizes"][0].pop("amount")
    r = club.put("/admin/draws/lucky", role="marketer", body=bad)
    assert r.status_code == 400
    assert r.json["error"]["details"][0]["path"] == "/prizes/0"
    assert club.put("/admin/draws/other", role="marketer", body=draw(NOW)).status_code in (
        400, 422)
    assert club.put("/admin/draws/lucky", role="member", body=draw(NOW)).status_code == 403
    assert club.post("/me/draws/nope/entries", role="member").status_code == 404

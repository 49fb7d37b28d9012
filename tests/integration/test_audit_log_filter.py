"""The audit log filtered by an entity id finds every capability's entries (both engines):
points adjustments and program publishes carry ``entity_id`` like everything else, older
entries (``member_id``/``target``) still match, and a filtered page reads on past entries of
other entities instead of answering an empty page with "more"."""

from __future__ import annotations

import secrets

from chalicelib.adapters import aws, keys
from chalicelib.services import clock
from chalicelib.services.campaigns import campaigns
from chalicelib.services.loyalty import loyalty
from tests.coupon_support import register
from tests.loyalty_support import publish


def _log(api_on, q: str) -> dict:
    r = api_on.get(f"/admin/audit?{q}", role="admin")
    assert r.status_code == 200, r.json
    return r.json


def test_points_adjustments_and_program_publishes_are_found_by_entity_id(api_on) -> None:
    publish()
    register("m-1")
    loyalty.adjust("m-1", 300, "parcel arrived damaged", "adm-7")
    got = _log(api_on, "entity_id=m-1")["items"]
    assert [(i["who"], i["entity"], i["entity_id"], i["action"]) for i in got] == [
        ("adm-7", "points", "m-1", "adjust")]
    assert got[0]["details"] == {"delta": 300, "reason": "parcel arrived damaged"}
    program = _log(api_on, "entity_id=loyalty-program")["items"]
    assert [(i["entity"], i["action"]) for i in program] == [("program", "publish")]


def test_entries_written_before_entity_id_still_match(api_on) -> None:
    at = clock.iso()
    table = aws.table()
    table.put_item(Item={**keys.audit(at[:7], f"{at}#member#m-9#{secrets.token_hex(4)}"),
                         "entity": "audit", "action": "points.adjust", "actor": "old",
                         "at": at, "member_id": "m-9", "delta": 5, "reason": "legacy"})
    table.put_item(Item={**keys.audit(at[:7], f"{at}#program#loyalty#{secrets.token_hex(4)}"),
                         "entity": "audit", "action": "program.publish", "actor": "old",
                         "at": at, "target": "loyalty-program", "version": 1})
    got = _log(api_on, "entity_id=m-9")["items"]
    assert [(i["who"], i["entity"], i["entity_id"], i["action"]) for i in got] == [
        ("old", "points", "m-9", "adjust")]
    assert _log(api_on, "entity_id=loyalty-program")["items"][0]["action"] == "publish"


def test_a_filtered_page_reads_past_other_entities_entries(api_on) -> None:
    from chalicelib.adapters.campaigns.repository import CampaignRepository

    repo = CampaignRepository()
    old = clock.iso()[:7] + "-01T00:00:00.000Z"  # the month's oldest entry
    repo.table.put_item(Item=repo.audit_item(old, "ann", "update", "wanted", 1, []))
    for n in range(120):  # newer entries of another campaign hide it from a Limit-50 read
        repo.table.put_item(Item=repo.audit_item(clock.iso(), "bob", "update", "other", n, []))
    page = _log(api_on, "entity_id=wanted&limit=50")
    assert [(i["who"], i["entity_id"]) for i in page["items"]] == [("ann", "wanted")]
    assert page["next_cursor"] is None
    # and pages still stop at the limit, resuming where they stopped
    first = _log(api_on, "entity_id=other&limit=50")
    assert len(first["items"]) == 50 and first["next_cursor"]
    seen = [i["version"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        nxt = _log(api_on, f"entity_id=other&limit=50&cursor={cursor}")
        seen += [i["version"] for i in nxt["items"]]
        cursor = nxt["next_cursor"]
    assert sorted(seen) == list(range(120))
    assert campaigns.audit(None, 50, None, "nothing-like-it")["items"] == []

"""GET /me/inbox, unread count, POST /me/inbox/{id}/read, GET /admin/campaigns/{id}/stats."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.adapters import aws
from chalicelib.adapters.delivery.inbox import InboxRepository
from chalicelib.services import clock
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    campaign,
    fast_moto_transactions,
    install,
    tick_through,
    utc,
)


def put_messages(member_id: str, n: int) -> None:
    # recent messages: ones older than the inbox TTL no longer count as unread
    repo = InboxRepository()
    start = clock.now().replace(microsecond=0) - timedelta(hours=1)
    for i in range(n):
        items = repo.message_items(member_id, {"title": f"t{i}", "body": f"b{i}",
                                               "campaign_id": "c"}, start + timedelta(minutes=i))
        aws.table().meta.client.transact_write_items(TransactItems=items)


def test_inbox_pages_newest_first_with_an_unread_count(api):
    add_member("m-1")
    put_messages("m-1", 5)
    r = api.get("/me/inbox?limit=2", role="member", sub="m-1")
    assert r.status_code == 200, r.json
    assert [m["title"] for m in r.json["messages"]] == ["t4", "t3"]
    assert r.json["unread"] == 5 and r.json["next_cursor"]
    r2 = api.get(f"/me/inbox?limit=2&cursor={r.json['next_cursor']}", role="member", sub="m-1")
    assert [m["title"] for m in r2.json["messages"]] == ["t2", "t1"]
    r3 = api.get(f"/me/inbox?limit=2&cursor={r2.json['next_cursor']}", role="member", sub="m-1")
    assert [m["title"] for m in r3.json["messages"]] == ["t0"] and r3.json["next_cursor"] is None


def test_marking_read_drops_the_unread_count_once(api):
    add_member("m-1")
    put_messages("m-1", 2)
    first = api.get("/me/inbox", role="member", sub="m-1").json["messages"][0]
    for _ in range(2):
        r = api.post(f"/me/inbox/{first['message_id']}/read", role="member", sub="m-1")
        assert r.status_code == 200 and r.json["read"] is True
    assert api.get("/me/inbox/unread", role="member", sub="m-1").json == {"unread": 1}


def test_a_member_cannot_read_or_page_into_another_members_inbox(api):
    add_member("m-1")
    add_member("m-2")
    put_messages("m-1", 3)
    mine = api.get("/me/inbox?limit=1", role="member", sub="m-1").json
    other = api.post(f"/me/inbox/{mine['messages'][0]['message_id']}/read", role="member",
                     sub="m-2")
    assert other.status_code == 404
    # m-1's cursor used by m-2 pages m-2's own (empty) partition
    r = api.get(f"/me/inbox?cursor={mine['next_cursor']}", role="member", sub="m-2")
    assert r.status_code == 200 and r.json["messages"] == []
    assert api.get("/me/inbox?cursor=garbage", role="member", sub="m-2").status_code == 400
    assert api.get("/me/inbox", role="marketer", sub="m-1").status_code == 403


def test_campaign_stats_for_marketers(api):
    install(campaign({"type": "birthday"}, experiment={"holdout_percent": 50}))
    for i in range(10):
        add_member(f"s{i}", birthday="1990-04-01")
    tick_through(utc(2026, 4, 1, 0, 45), utc(2026, 4, 1, 1, 0))
    r = api.get("/admin/campaigns/bday/stats", role="marketer", sub="mk")
    assert r.status_code == 200, r.json
    t = r.json["totals"]
    assert t["targeted"] == 10 and t["held_out"] + t["delivered"] == 10
    assert [o["occurrence"] for o in r.json["occurrences"]] == ["2026"]
    assert api.get("/admin/campaigns/nope/stats", role="admin", sub="a").status_code == 404
    assert api.get("/admin/campaigns/bday/stats", role="member", sub="m").status_code == 403

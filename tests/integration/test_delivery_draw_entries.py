"""The draw_entries campaign action on moto and DynamoDB Local: the entries are granted in
the send's own transaction, exactly once, and the member enters with them instead of
points; a closed or unknown draw fails the send without granting anything."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters import aws
from chalicelib.adapters.delivery.repository import DeliveryRepository
from chalicelib.domain.delivery.work import Task
from chalicelib.domain.engagement.draws import parse_draw
from chalicelib.errors import Unprocessable
from chalicelib.services import clock
from chalicelib.services.campaigns import campaigns as campaign_service
from chalicelib.services.delivery import delivery
from chalicelib.services.engagement import draws
from chalicelib.services.loyalty import loyalty
from tests.draw_support import draw
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    campaign,
    fast_moto_transactions,
    inbox,
    install,
    sends,
    stats,
)
from tests.loyalty_support import publish

SIGNUP = {"type": "event", "event": "signup"}
GRANT: list[dict[str, Any]] = [{"type": "draw_entries", "draw": "lucky", "count": 2},
         {"type": "message", "channels": ["inbox"],
          "content": {"zh-CN": {"title": "送你 2 次抽奖机会", "body": "去抽奖吧"}}}]
GRANTED_ONLY = {"entry": {"cost_points": None},
                "prizes": [{"id": "thanks", "kind": "none", "weight": 1}]}


def run(campaign_id: str, task_at: str | None = None) -> dict[str, int]:
    task = Task(campaign_id, "signup", "m-1", task_at or clock.iso())
    return delivery.worker().run_tasks([task])


def granted_draw(**fields: Any) -> None:
    draws.put("lucky", parse_draw(draw(clock.now(), **{**GRANTED_ONLY, **fields})), "tester")


@pytest.fixture
def club(engine):
    publish()
    add_member("m-1")
    assert loyalty.points("m-1").available == 0  # entries must not need points
    return engine


def test_a_campaign_grants_two_entries_the_member_enters_twice_without_points(club):
    granted_draw()
    install(campaign(SIGNUP, GRANT, id="entries", delivery={"quiet_hours": None}))
    assert run("entries") == {"delivered": 1}
    [send] = sends("m-1")
    assert send["state"] == "delivered" and send["draw_entries"] == {"lucky": 2}
    assert len(inbox("m-1")) == 1
    assert draws.my_entries("m-1", "lucky")["granted_left"] == 2
    first = draws.enter("m-1", "lucky", "key-1")
    second = draws.enter("m-1", "lucky", "key-2")
    assert [first["paid_with"], second["paid_with"]] == ["grant", "grant"]
    assert first["cost_points"] == second["cost_points"] == 0
    with pytest.raises(Unprocessable) as refused:
        draws.enter("m-1", "lucky", "key-3")
    assert refused.value.details[0]["reason"] == "DRAW_NO_ENTRIES"
    assert loyalty.points("m-1").available == 0
    assert stats("entries")["totals"]["draw_entries_granted"] == 2


def test_a_redelivered_task_grants_no_more_entries(club):
    granted_draw()
    # A generous limit and cap, so that only the send record and the grant stop a repeat.
    install(campaign(SIGNUP, GRANT, id="entries",
                     delivery={"quiet_hours": None, "cap_class": "service"},
                     limits={"per_member": 10, "period": "year"}))
    at = clock.iso()
    assert run("entries", at) == {"delivered": 1}
    assert run("entries", at) == {"duplicate": 1}  # SQS delivered the task again
    mine = draws.my_entries("m-1", "lucky")
    assert mine["granted"] == 2 and mine["granted_left"] == 2
    assert stats("entries")["totals"]["draw_entries_granted"] == 2
    # Even with the send record gone (expired), the grant is keyed by campaign, occurrence
    # and member and is create-only: the entries are not granted twice.
    rec = sends("m-1")[0]
    aws.table().delete_item(Key={"PK": rec["PK"], "SK": rec["SK"]})
    assert sends("m-1") == []
    assert run("entries", at) == {"failed": 1}  # the grant failed by its name
    assert [s["reason"] for s in sends("m-1")] == ["effect"]
    assert draws.my_entries("m-1", "lucky")["granted"] == 2
    assert len(inbox("m-1")) == 1


def test_the_grant_rides_in_the_send_transaction_by_name(club, monkeypatch):
    written: list[list[str]] = []
    transact = DeliveryRepository.transact

    def spy(self: DeliveryRepository, named: Any) -> None:
        written.append([name for name, _ in named])
        transact(self, named)

    monkeypatch.setattr(DeliveryRepository, "transact", spy)
    granted_draw()
    install(campaign(SIGNUP, GRANT, id="entries", delivery={"quiet_hours": None}))
    assert run("entries") == {"delivered": 1}
    [names] = [n for n in written if "send_record" in n]
    assert {"send_record", "draw:lucky:grant_ref", "draw:lucky:grant",
            "inbox:message"} <= set(names)


@pytest.mark.parametrize("when", ["closed", "unknown"])
def test_a_closed_or_unknown_draw_fails_the_send_and_grants_nothing(club, when):
    if when == "closed":
        now = clock.now()
        granted_draw(window={"opens_at": (now - timedelta(days=3)).isoformat(),
                             "closes_at": (now - timedelta(days=1)).isoformat()})
    install(campaign(SIGNUP, GRANT, id="entries", delivery={"quiet_hours": None}))
    assert run("entries") == {"failed": 1}
    [send] = sends("m-1")
    assert send["state"] == "failed" and send["reason"] == "effect_unavailable"
    assert inbox("m-1") == []
    if when == "closed":
        assert draws.my_entries("m-1", "lucky")["granted"] == 0


def test_online_lint_looks_the_draw_up(club):
    granted_draw()
    install()
    doc = campaign(SIGNUP, GRANT, id="entries").document()
    found = {w["code"] for w in campaign_service.lint(campaign(SIGNUP, GRANT, id="entries"))}
    assert "draw-closes-first" in found and "unknown-draw" not in found  # no window end
    ends = {**doc, "window": {"start": doc["window"]["start"],
                              "end": (clock.now() + timedelta(hours=1)).isoformat()}}
    from chalicelib.domain.campaigns.validate import parse_campaign

    assert not {"draw-closes-first", "unknown-draw", "draw-closed"} & {
        w["code"] for w in campaign_service.lint(parse_campaign(ends))}
    other = [{**GRANT[0], "draw": "nowhere"}]
    assert [w["path"] for w in campaign_service.lint(campaign(SIGNUP, other, id="xy"))
            if w["code"] == "unknown-draw"] == ["/actions/0/draw"]

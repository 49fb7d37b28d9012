"""Other capabilities' effects join the delivery transaction as named items: points built on
a read that a concurrent write made stale are built again (and awarded once), and a coupon
that cannot be written fails the send by its name."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import aws
from chalicelib.adapters.delivery.repository import DeliveryRepository
from chalicelib.domain.delivery.work import Task
from chalicelib.services import clock
from chalicelib.services.coupons import coupons as coupon_service
from chalicelib.services.delivery import delivery
from chalicelib.services.delivery.effects import Effects
from chalicelib.services.loyalty import loyalty
from chalicelib.services.loyalty.hooks import coupon_issue_items
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    campaign,
    coupon_template,
    coupons,
    fast_moto_transactions,
    inbox,
    install,
    sends,
    stats,
)
from tests.loyalty_support import publish

SIGNUP = {"type": "event", "event": "signup"}
BONUS = [{"type": "award_points", "points": 200, "reason": "welcome bonus"},
         {"type": "message", "channels": ["inbox"],
          "content": {"zh-CN": {"title": "欢迎", "body": "+200"}}}]


def run(campaign_id: str) -> dict[str, int]:
    return delivery.worker().run_tasks([Task(campaign_id, "signup", "m-1", clock.iso())])


def test_points_built_on_a_read_a_concurrent_award_made_stale_are_built_again(engine,
                                                                           monkeypatch):
    written: list[list[str]] = []
    transact = DeliveryRepository.transact

    def spy(self: DeliveryRepository, named: Any) -> None:
        written.append([name for name, _ in named])
        transact(self, named)

    monkeypatch.setattr(DeliveryRepository, "transact", spy)
    publish()
    add_member("m-1")
    loyalty.award("m-1", 50, reason="before")
    raced: list[int] = []

    def award_items(member_id: str, points: int, **kw: Any) -> Any:
        named = loyalty.award_items(member_id, points, **kw)
        if not raced:  # an order's points land between our read and our commit
            raced.append(30)
            loyalty.award(member_id, 30, reason="meanwhile")
        return named

    fx = Effects(issue_coupon=coupon_issue_items, template_facts=coupon_service.template_facts,
                 award_items=award_items)
    install(campaign(SIGNUP, BONUS, id="bonus", delivery={"quiet_hours": None}), effects=fx)
    assert run("bonus") == {"delivered": 1}
    assert raced == [30]
    decisions = [names for names in written if "send_record" in names]
    assert len(decisions) == 2  # the first was cancelled by the stale balance, read again
    assert {"send_record", "stats", "limit", "points:loyalty", "points:ledger", "points:lot",
            "inbox:message", "inbox:unread"} <= set(decisions[1])
    assert loyalty.points("m-1").available == 50 + 30 + 200
    assert [s["state"] for s in sends("m-1")] == ["delivered"] and len(inbox("m-1")) == 1
    assert stats("bonus")["totals"]["points_awarded"] == 200
    # the send record keeps it exactly once: a replay builds the items and changes nothing
    assert run("bonus") == {"duplicate": 1}
    assert loyalty.points("m-1").available == 280 and len(inbox("m-1")) == 1


def test_a_coupon_that_cannot_be_written_fails_the_send_by_its_name(engine):
    coupon_template("gift-20")
    add_member("m-1")
    install(campaign(SIGNUP, [{"type": "issue_coupon", "template": "gift-20"}], id="gift",
                     delivery={"quiet_hours": None}))
    # The coupon this send would issue exists already (its id is deterministic), e.g. issued
    # under a send record that has expired since.
    _, items = coupon_issue_items("m-1", "gift-20", source="campaign", ref="gift#signup#m-1#0",
                                  now=clock.iso())
    aws.table().meta.client.transact_write_items(TransactItems=items)
    assert run("gift") == {"failed": 1}
    [record] = sends("m-1")
    assert (record["state"], record["reason"]) == ("failed", "effect")
    assert len(coupons("m-1")) == 1
    totals = stats("gift")["totals"]
    assert totals["failed"] == 1 and totals.get("coupons_issued", 0) == 0

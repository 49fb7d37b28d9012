"""The composition root: real adapters by default, fakes by keyword, hooks wired explicitly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.services.deps import CouponHooks, deps


@pytest.fixture(autouse=True)
def _fresh_graph() -> Iterator[None]:
    bootstrap.reset()
    yield
    bootstrap.reset()


class FakeInbox:
    def unread(self, member_id: str, now: Any) -> int:
        return 3 if member_id == "m-1" else 0


def test_a_fake_injected_at_bootstrap_is_what_the_service_uses() -> None:
    from chalicelib.services.delivery import inbox

    bootstrap.bootstrap(inbox=FakeInbox())
    assert inbox.unread("m-1").unread == 3
    bootstrap.reset()
    assert type(deps().inbox).__name__ == "InboxRepository"  # the real adapter again


def test_an_unknown_dependency_is_refused() -> None:
    with pytest.raises(TypeError, match="no such dependency"):
        bootstrap.build(member_repo=object())


def test_every_part_of_the_graph_can_be_overridden_and_nothing_else() -> None:
    from chalicelib.services.deps import Deps

    assert set(bootstrap.Overrides.__annotations__) == {*Deps.__dataclass_fields__,
                                                        "scan_segments"}


def test_cross_capability_hooks_are_the_sibling_services_wired_explicitly() -> None:
    from chalicelib.services.campaigns import campaigns
    from chalicelib.services.coupons import checkout, coupons
    from chalicelib.services.loyalty import loyalty

    g = deps()
    assert g.coupon_hooks == CouponHooks(issue_items=coupons.issue_items,
                                         order_confirmation=checkout.order_confirmation,
                                         restore_items=checkout.restore_items)
    assert g.campaign_source._active_fn is campaigns.active_campaigns
    assert g.campaign_source._get_fn is campaigns.get_campaign
    assert g.effects._award_items is loyalty.award_items
    assert g.effects._template_facts is coupons.template_facts
    assert g.worker.campaigns is g.campaign_source is g.planner.campaigns
    assert g.worker.repo is g.delivery is g.planner.repo
    assert g.planner.queues is g.delivery_queues


def test_loyalty_without_a_coupons_service_gets_no_coupon_items() -> None:
    from chalicelib.services.loyalty import hooks

    bootstrap.bootstrap(coupon_hooks=CouponHooks())
    assert hooks.reservation_for_order(order_id="o-1", member_id="m-1", reservation_id="r-1",
                                       lines=[], discount_total=0, shipping_fee=0,
                                       now="2026-01-01T00:00:00Z") == (None, [])
    assert hooks.refund_restore_items(order={}, refund_id="f-1", now="x") == []
    coupon_id, items = hooks.coupon_issue_items("m-1", "t-1", source="tier", ref="gold",
                                                now="2026-01-01T00:00:00Z")
    assert coupon_id == hooks.issued_coupon_id("tier", "gold", "t-1")
    assert [i["Put"]["Item"]["issued_by"] for i in items] == ["loyalty"]  # the fallback

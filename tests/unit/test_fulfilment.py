"""Gift fulfilment rules: which moves are allowed, what each move records, what is shown."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from chalicelib.adapters.loyalty.partner import GiftPartner, signature
from chalicelib.domain.loyalty.fulfilment import (
    Action,
    Fulfilment,
    ShipBody,
    Status,
    member_view,
    moved,
    next_status,
    partner_payload,
)
from chalicelib.errors import Conflict

ALLOWED = {(Status.to_fulfil, Action.ship): Status.shipped,
           (Status.shipped, Action.deliver): Status.delivered,
           (Status.to_fulfil, Action.cancel): Status.cancelled,
           (Status.shipped, Action.cancel): Status.cancelled}


def gift(**kw: object) -> Fulfilment:
    base: dict[str, object] = {"fulfilment_id": "g1", "member_id": "m-1", "sku": "MUG",
                               "source": "reward", "source_ref": "r1",
                               "created_at": "2026-05-01T00:00:00.000Z", "refund_points": 300}
    return Fulfilment(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_only_the_four_moves_of_the_lifecycle_are_allowed(status: Status, action: Action) -> None:
    want = ALLOWED.get((status, action))
    if want is not None:
        assert next_status(status, action) is want
        return
    with pytest.raises(Conflict) as e:
        next_status(status, action)
    assert e.value.details[0]["reason"] == "FULFILMENT_STATUS"
    assert e.value.details[0]["status"] == status.value


def test_shipping_records_carrier_tracking_and_a_history_step() -> None:
    after = moved(gift(), Action.ship, "2026-05-02T00:00:00.000Z", "ops-1",
                  carrier="顺丰", tracking_number="SF123456")
    assert (after.status, after.version, after.carrier) == (Status.shipped, 2, "顺丰")
    assert after.history[-1] == {"status": "shipped", "at": "2026-05-02T00:00:00.000Z",
                                 "by": "ops-1", "carrier": "顺丰", "tracking_number": "SF123456"}


def test_a_cancellation_returns_exactly_what_the_gift_cost() -> None:
    after = moved(gift(), Action.cancel, "2026-05-02T00:00:00.000Z", "ops-1", reason="缺货")
    assert (after.points_returned, after.cancel_reason) == (300, "缺货")
    with pytest.raises(Conflict):
        moved(after, Action.cancel, "2026-05-03T00:00:00.000Z", "ops-1", reason="again")


def test_the_member_sees_tracking_only_once_shipped() -> None:
    assert "tracking_number" not in member_view(gift())
    shipped = moved(gift(), Action.ship, "t", "ops", carrier="EMS", tracking_number="E1")
    assert member_view(shipped)["tracking_number"] == "E1"


def test_a_record_survives_storage_round_trip() -> None:
    g = moved(gift(stock_shard=3, reward_id="mug"), Action.ship, "t", "o", carrier="EMS",
              tracking_number="E1")
    assert Fulfilment.from_fields(json.loads(json.dumps(g.fields()))) == g


def test_ship_body_is_strict() -> None:
    with pytest.raises(ValueError):
        ShipBody.model_validate({"carrier": "EMS", "tracking_number": "E 1 2"})
    with pytest.raises(ValueError):
        ShipBody.model_validate({"carrier": "EMS", "tracking_number": "E12", "x": 1})


def test_the_partner_can_verify_the_signature_over_timestamp_and_body() -> None:
    body = partner_payload(gift(), "gift.to_fulfil", "g1:gift.to_fulfil")
    header = signature("s3cret", "1700000000", body)
    t, v1 = (p.split("=", 1)[1] for p in header.split(","))
    want = hmac.new(b"s3cret", f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert (t, v1) == ("1700000000", want)
    assert json.loads(body)["delivery_id"] == "g1:gift.to_fulfil"


def test_the_partner_retries_only_what_may_succeed_later() -> None:
    def answering(status: int) -> GiftPartner:
        return GiftPartner("http://partner", "k", post=lambda *_: status)

    assert answering(200).send("e", b"{}", "d").ok
    assert answering(503).send("e", b"{}", "d").retry
    assert answering(429).send("e", b"{}", "d").retry
    assert not answering(400).send("e", b"{}", "d").retry
    assert not GiftPartner("", "").send("e", b"{}", "d").retry

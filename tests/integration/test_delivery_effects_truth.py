"""Delivery effects say the truth: points multipliers, per-channel consent, coupon expiry."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.delivery.work import Task
from chalicelib.services import clock, delivery
from chalicelib.services.delivery_effects import Effect, Effects
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    campaign,
    fast_moto_transactions,
    install,
    utc,
)


class PointsRecorder(Effects):
    """Real coupons; points recorded instead of awarded (no loyalty program needed)."""

    def __init__(self) -> None:
        super().__init__()
        self.awarded: list[int] = []

    def points(self, member_id: str, points: int, *a: Any) -> Effect:
        self.awarded.append(points)
        return Effect(counters={"points_awarded": points}, spend={"points": points})


def test_an_order_multiplier_awards_the_exact_product(engine):
    fx = PointsRecorder()
    install(campaign({"type": "event", "event": "order"},
                     [{"type": "award_points", "multiplier": 1.15}], id="x115",
                     delivery={"quiet_hours": None}), effects=fx)
    add_member("m-1")
    clock.freeze(utc(2026, 6, 1, 4, 0))
    try:
        delivery.worker().run_tasks([Task("x115", "order#o-1", "m-1", clock.iso(),
                                          event={"type": "order", "points": 100})])
    finally:
        clock.freeze(None)
    assert fx.awarded == [115]  # float arithmetic gave 114

"""Lucky draws under concurrency, on moto and on DynamoDB Local: 200 simultaneous entries
never give a prize beyond its stock, never overrun the budget, and every entry has exactly
one outcome, paid for exactly once; the verifier recomputes every outcome afterwards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.engagement.draws import parse_draw
from chalicelib.errors import LimitReached
from chalicelib.services import clock
from chalicelib.services.engagement import draws
from chalicelib.services.loyalty import loyalty
from tests.coupon_support import fast_moto_transactions, save_template, template
from tests.draw_support import draw
from tests.integration.test_coupon_concurrency import bulk_members, run_all
from tests.loyalty_support import publish, serialise_moto

ENTRIES = {"moto": 40, "dynamodb-local": 200}
PER_MEMBER = 4
COST = 10


@pytest.fixture(autouse=True)
def _atomic_moto_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    serialise_moto(monkeypatch)
    fast_moto_transactions(monkeypatch)


def _hot_draw() -> dict[str, Any]:
    """Scarce prizes: 3 big points prizes, 4 gifts, 5 coupons, and a points budget that
    the small prize exhausts long before its (unlimited) stock would."""
    doc = draw(clock.now(), limits={"per_day": PER_MEMBER, "total": PER_MEMBER},
               budget={"points": 2000, "fen": 100000})
    doc["prizes"] = [
        {"id": "big", "kind": "points", "amount": 300, "weight": 10, "stock": 3},
        {"id": "small", "kind": "points", "amount": 50, "weight": 40},
        {"id": "mug", "kind": "gift", "sku": "GIFT-MUG", "cost": 3000, "weight": 10,
         "stock": 4},
        {"id": "cpn", "kind": "coupon", "template_id": "draw-cpn", "face_value": 1000,
         "weight": 10, "stock": 5},
        {"id": "thanks", "kind": "none", "weight": 30}]
    return doc


def test_200_concurrent_entries_respect_stock_budget_and_pay_once(engine):
    publish()
    save_template("draw-cpn", template("draw ¥10", limits={"per_member_claim": 10}))
    n = ENTRIES[engine]
    members = bulk_members(n // PER_MEMBER, "dm")
    for m in members:
        loyalty.award(m, 100, reason="seed")
    doc = _hot_draw()
    draws.put("lucky", parse_draw(doc), "tester")
    results = run_all(lambda m: draws.enter(m, "lucky"), [m for m in members
                                                         for _ in range(PER_MEMBER)])
    failed = [r for r in results if isinstance(r, Exception)]
    assert failed == [], {type(r).__name__: str(r) for r in failed}
    assert len({r["entry_id"] for r in results}) == n  # one outcome per entry
    stats = draws.stats("lucky")
    won = {p["id"]: p["won"] for p in stats["prizes"]}
    assert stats["entries"] == n and sum(won.values()) == n
    assert won["big"] <= 3 and won["mug"] <= 4 and won["cpn"] <= 5
    assert stats["budget_spent"]["points"] <= 2000
    assert stats["budget_spent"]["fen"] <= 100000
    by_result = {}
    for r in results:
        by_result[r["prize_id"]] = by_result.get(r["prize_id"], 0) + 1
    assert by_result == {k: v for k, v in won.items() if v}
    for m in members:  # paid exactly once per entry, won exactly what the entries say
        mine = draws.my_entries(m, "lucky")["entries"]
        assert len(mine) == PER_MEMBER
        gained = sum(e.get("points_won", 0) for e in mine)
        assert loyalty.points(m).available == 100 - PER_MEMBER * COST + gained
    with pytest.raises(LimitReached):
        draws.enter(members[0], "lucky")
    clock.freeze(clock.now() + timedelta(days=2))
    try:
        report = draws.verify("lucky")
    finally:
        clock.freeze(None)
    assert report["ok"], report["problems"]
    assert report["entries"] == n

"""Shared lucky-draw test data: a draw document open around the (frozen) clock, and a
club (program, member m-1 with 1000 points) to enter it over HTTP."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.services import clock
from tests.loyalty_support import PROGRAM

PRIZES: list[dict[str, Any]] = [
    {"id": "big", "kind": "points", "amount": 500, "weight": 5, "stock": 2},
    {"id": "small", "kind": "points", "amount": 20, "weight": 30},
    {"id": "mug", "kind": "gift", "sku": "GIFT-MUG", "cost": 3000, "weight": 5, "stock": 3},
    {"id": "thanks", "kind": "none", "name": {"zh": "谢谢参与", "en": "Thanks"},
     "weight": 60},
]


def draw(now: datetime, draw_id: str = "lucky", **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": draw_id, "name": {"zh": "幸运抽奖", "en": "Lucky draw"},
        "window": {"opens_at": (now - timedelta(hours=1)).isoformat(),
                   "closes_at": (now + timedelta(days=1)).isoformat()},
        "entry": {"cost_points": 10}, "limits": {"per_day": 5, "total": 50},
        "budget": {"points": 5000, "fen": 100000}, "prizes": copy.deepcopy(PRIZES)}
    doc.update(fields)
    return doc


@contextmanager
def club_at(api: Any, now: datetime) -> Iterator[Any]:
    """The clock frozen at ``now``, the program set, member m-1 seeded with 1000 points."""
    clock.freeze(now)
    assert api.put("/admin/program", role="admin", body=PROGRAM).status_code == 200
    assert api.post("/members", role="service", body={"member_id": "m-1"}).status_code == 201
    r = api.post("/admin/members/m-1/points", role="admin", body={"delta": 1000,
                                                                  "reason": "seed"})
    assert r.status_code in (200, 201), r.json
    yield api
    clock.freeze(None)


def club_fixture(now: datetime) -> Any:
    """A ``club`` fixture for a test module: ``club = club_fixture(NOW)``."""

    @pytest.fixture(name="club")
    def club(api: Any) -> Iterator[Any]:
        with club_at(api, now) as ready:
            yield ready

    return club

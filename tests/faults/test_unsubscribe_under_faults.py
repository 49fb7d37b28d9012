"""One-click unsubscribes under injected faults: each member's consent goes off once and the
campaign's ``unsubscribed`` counter counts each member once, whatever fails (throttling,
conflicts, a timeout after the commit) while mail clients retry the POST.

Afterwards (faults paused): email consent off for every member who clicked, totals and
per-arm counts equal to the number of members, on both engines.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib import config
from chalicelib.domain.delivery import unsubscribe as tickets
from chalicelib.services import clock
from chalicelib.services.campaigns import results as campaign_results
from tests.faults import FaultInjector
from tests.faults.client import RetryingClient
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    fast_moto_transactions,
    sends,
)
from tests.integration.test_campaign_results import _run, _setup

KINDS = ("throttle", "conflict", "timeout_after_commit", "connection_closed")
MEMBERS = [f"uf-{i}" for i in range(10)]


def test_unsubscribes_count_once_under_faults(engine, api_on, monkeypatch):
    from datetime import UTC, datetime

    monkeypatch.setenv("UNSUBSCRIBE_SECRET", "unsubscribe-key")
    config.reset()
    _setup(0)
    for m in MEMBERS:
        add_member(m, birthday="1990-03-02", email=f"{m}@example.com",
                   consent={"push": True, "sms": False, "email": True})
    _run(MEMBERS, "2025-03-01T17:30:00.000Z")
    clicked = [m for m in MEMBERS if any(s.get("variant") for s in sends(m))]
    assert clicked, "some members were sent a variant"
    clock.freeze(datetime(2025, 3, 2, 16, 30, tzinfo=UTC))
    client = RetryingClient(api_on)
    out = {}

    def click(m: str) -> None:
        t = tickets.sign(["unsubscribe-key"], tickets.Ticket("email", m, "res"))
        for _ in range(2):  # mail clients may POST twice
            out[m] = client.call(
                "POST", f"/unsubscribe/{t}", key=None, raw="List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"})

    with (FaultInjector(ratio=0.25, seed=7, kinds=KINDS) as faults,
          ThreadPoolExecutor(4 if engine == "dynamodb-local" else 1) as pool):
        list(pool.map(click, clicked))
    print(engine, faults.report(), client.report())
    assert sum(faults.injected.values()) > 0
    assert client.gave_up == 0, client.report()
    with faults.paused():
        for m in clicked:
            assert out[m].status == 200 and out[m].body["status"] == "unsubscribed", out[m]
            me = api_on.get("/me", role="member", sub=m).json
            assert me["consent"]["email"] is False, me
        got = campaign_results.results("res", "2025-03-01", "2025-03-03")
        assert got["totals"]["unsubscribed"] == len(clicked), got["totals"]
        assert sum(v["unsubscribed"] for v in got["variants"]) == len(clicked)

"""Check-in → make-up → activities under 20 % injected faults (throttling, transaction
conflicts, timeouts after commit, dropped connections), with callers that retry like real
apps: same Idempotency-Key, and a second tap with a new key.

Afterwards (faults paused): one record per member per day, each check-in rewarded once,
each make-up card paid once, each activity awarded once; the ledger sums to the balance and
the sharded stats count every effect once. Sequential on moto, concurrent on DynamoDB Local.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from chalicelib.services import clock
from tests.faults import FaultInjector
from tests.faults.client import RetryingClient
from tests.faults.flows import history, members, ok, program

KINDS = ("throttle", "conflict", "timeout_after_commit", "connection_closed")
MEMBERS = [f"m-ck-{i}" for i in range(2)]
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAYS = (0, 1, 3)  # day 2 missed, then made up


def test_check_ins_make_ups_and_activities_apply_once_under_faults(api_on, engine):
    api = api_on
    members(api, MEMBERS)
    program(api)  # the sample program: 5 points a day, make-up card 20 points
    client = RetryingClient(api)
    threads = 4 if engine == "dynamodb-local" else 1
    results: dict[str, list[int]] = {}

    def tap_twice(member: str, path: str, body: dict | None = None) -> None:
        first = client.post(path, role="member", sub=member, body=body)
        again = client.post(path, role="member", sub=member, body=body, key=uuid.uuid4().hex)
        results.setdefault(member, []).extend([first.status, again.status])

    def activity(member: str) -> None:
        for key in ("r1", "r2", "r1"):
            r = client.post("/activities", role="service", sub="svc", body={
                "member_id": member, "type": "review_written",
                "natural_key": f"{member}:{key}", "occurred_at": clock.now().isoformat()})
            results.setdefault(member, []).append(r.status)

    with FaultInjector(ratio=0.2, seed=7, kinds=KINDS) as faults:
        for day in DAYS:
            clock.freeze(START + timedelta(days=day))
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda m: tap_twice(m, "/me/checkins"), MEMBERS))
        with faults.paused():
            for m in MEMBERS:
                ok(api.post(f"/admin/members/{m}/points", role="admin",
                            body={"delta": 100, "reason": "goodwill"}))
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda m: tap_twice(m, "/me/checkins/makeup",
                                              {"date": "2026-12-03"}), MEMBERS))
            list(pool.map(activity, MEMBERS))
    print(engine, faults.report(), client.report())
    assert faults.injected["timeout_after_commit"] > 0 and faults.injected["throttle"] > 0
    assert client.gave_up == 0, client.report()
    with faults.paused():
        for m in MEMBERS:
            assert all(s in (200, 201) for s in results[m]), results[m]
            cal = ok(api.get("/me/checkins", role="member", sub=m))
            assert [(d["date"], d["kind"]) for d in cal["days"]] == [
                ("2026-12-01", "checkin"), ("2026-12-02", "checkin"),
                ("2026-12-03", "makeup"), ("2026-12-04", "checkin")]
            assert cal["streak"] == 4
            entries = history(api, m)
            assert sorted(e["points"] for e in entries) == [-20, 5, 5, 5, 20, 20, 100], entries
            points = ok(api.get("/me/points", role="member", sub=m))
            assert points["available"] == sum(e["points"] for e in entries) == 135
        stats = ok(api.get("/admin/checkins/stats?from=2026-12-01&to=2026-12-04",
                           role="marketer"))
        assert stats["totals"]["checkins"] == 3 * len(MEMBERS)
        assert stats["totals"]["makeups"] == len(MEMBERS)
        acts = ok(api.get("/admin/activities/stats?from=2026-12-01&to=2026-12-04",
                          role="marketer"))
        assert acts["totals"]["review_written"]["points"] == 40 * len(MEMBERS)

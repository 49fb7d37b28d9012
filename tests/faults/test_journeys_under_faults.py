"""Journeys under faults: a worker that dies right after a step's commit, and a walk of the
onboarding sample with 20 % of DynamoDB and SQS calls failing (throttling, answers lost
after the commit, SQS redelivery). Every member passes each step once: one welcome coupon,
one reminder, one points award, and the points books balance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters import keys
from chalicelib.services import clock
from chalicelib.services.delivery import delivery, events
from tests.faults import FaultInjector
from tests.faults.injector import WorkerCrashed
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    coupon_template,
    coupons,
    fast_moto_transactions,
    inbox,
    install,
    item,
    utc,
)
from tests.integration.test_delivery_faults import drain_under
from tests.integration.test_journeys import sample, state
from tests.loyalty_support import books, join, place, publish

MEMBERS = ["jf-1", "jf-2"]
SIGNUP = utc(2026, 3, 2, 1, 0)
DAY3, DAY7 = utc(2026, 3, 5, 2, 0), utc(2026, 3, 9, 2, 0)


def _setup() -> None:
    install(sample("journey-onboarding"))
    coupon_template("new-member-5", amount=500)
    publish()
    join(*MEMBERS)
    clock.freeze(SIGNUP)


def _signup(member: str) -> None:
    events.handle({"id": "signup", "type": "signup", "member_id": member,
                   "at": clock.iso()})


def _due(at, faults: FaultInjector | None = None) -> None:
    """The planner's deferred pass for the quarter-hour before ``at``, then the queue."""
    clock.freeze(at)
    if faults is None:
        delivery.planner().plan([], at - timedelta(minutes=15), at, deferred=True)
        drain_under(FaultInjector(ratio=0.0))
        return
    with faults.paused():
        delivery.planner().plan([], at - timedelta(minutes=15), at, deferred=True)
    drain_under(faults)


@pytest.mark.parametrize("engine", ["moto", "dynamodb-local"], indirect=True)
def test_a_worker_that_dies_after_a_step_commit_resumes_without_doing_it_twice(engine):
    _setup()
    _signup("jf-1")
    clock.freeze(SIGNUP + timedelta(days=1))
    place("o-jf-1", "jf-1")
    from chalicelib.domain.delivery.work import Task

    k = keys.deferred_work("jf-1", "journey-onboarding", "signup@day-3", 0,
                           "2026-03-05T02:00:00.000Z", "2026-03-05T02:00:00.000Z")
    due = item({"PK": k["PK"], "SK": k["SK"]})
    assert due is not None
    task = Task.from_json(due["task"])
    clock.freeze(DAY3)
    with FaultInjector(ratio=1.0, kinds=("crash_after_commit",), services=("dynamodb",),
                       operations={"TransactWriteItems"}, limit=1) as faults, \
            pytest.raises(WorkerCrashed):
        delivery.worker().run_tasks([task])
    assert faults.injected["crash_after_commit"] == 1
    assert state("jf-1", "journey-onboarding")["step"] == "day-7"  # the step committed
    assert len(inbox("jf-1")) == 2
    # SQS redelivers it: the state has moved on, nothing is done again
    assert delivery.worker().run_tasks([task]) == {"journey_moved": 1}
    assert len(inbox("jf-1")) == 2
    # the next wait resumes from the state the crash left: points once
    _due(DAY7)
    _due(DAY7)
    assert [m["title"] for m in inbox("jf-1")][-1] == "首单奖励 +200 积分"
    assert state("jf-1", "journey-onboarding")["status"] == "completed"
    assert sum(1 for e in books("jf-1")["ledger"] if int(e["points"]) == 200) == 1


@pytest.mark.parametrize("engine", ["moto", "dynamodb-local"], indirect=True)
def test_the_onboarding_journey_under_faults_passes_each_step_once(engine):
    _setup()
    for m in MEMBERS:
        _signup(m)
    clock.freeze(DAY3 + timedelta(days=1))
    for m in MEMBERS:
        place(f"o-{m}", m)
    faults = FaultInjector(ratio=0.2, seed=14, kinds=(
        "throttle", "conflict", "timeout_after_commit", "redeliver"))
    with faults:
        _due(DAY3, faults)
        _due(DAY7, faults)
    print(engine, faults.report())
    assert sum(faults.injected.values()) > 0
    for m in MEMBERS:
        assert len(coupons(m)) == 1
        titles = [msg["title"] for msg in inbox(m)]
        assert titles[1:] == ["你的新人券还没用哦", "首单奖励 +200 积分"], titles
        assert len(titles) == 3
        assert sum(1 for e in books(m)["ledger"] if int(e["points"]) == 200) == 1
        assert state(m, "journey-onboarding")["status"] == "completed"
    j = delivery.campaign_stats("journey-onboarding").journey
    assert j is not None and (j["entered"], j["completed"], j["active"]) == (2, 2, 0)

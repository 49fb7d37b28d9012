"""Lift is measured on comparable groups: the holdout is drawn from the audience before
consent, and every member assigned to treatment counts in the treated group (intent to
treat), delivered or suppressed (both engines)."""

from __future__ import annotations

import random

from chalicelib.domain.delivery.results import compare
from chalicelib.services.campaigns import campaigns
from chalicelib.services.campaigns import results as campaign_results
from chalicelib.services.delivery import delivery, events
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    INBOX_MSG,
    add_member,
    campaign,
    fast_moto_transactions,
    install,
    sends,
)

N = 240  # members: enough for the naive comparison to show its false lift
EXPERIMENT = {"holdout_percent": 25, "variants": [
    {"id": "A", "weight": 1, "actions": [INBOX_MSG]},
    {"id": "B", "weight": 1, "actions": [INBOX_MSG]}]}
AT = "2025-03-01T04:00:00.000Z"
NO_CONSENT = {"push": False, "sms": False, "email": False}


def test_consent_correlated_with_conversion_is_not_reported_as_lift(engine):
    """Half the members consent; consenting members convert at 60 %, the others at 3 %,
    whether or not they get anything (the campaign has no effect). Comparing delivered
    (consenting) members with an unfiltered holdout reported a significant lift — the test
    checks that this naive comparison would indeed say so on the same data (so it has teeth
    at this size), and that the reported intent-to-treat lift does not."""
    c = campaign({"type": "birthday"}, [INBOX_MSG], id="itt", experiment=EXPERIMENT,
                 delivery={"quiet_hours": None, "require_consent": True})
    campaigns.put("itt", c, "test")
    install(c)
    rng = random.Random(20251201)
    members, converts = [], []
    for i in range(N):
        mid, consents = f"m-{i:04d}", rng.random() < 0.5
        add_member(mid, birthday="1990-03-01", **({} if consents else {"consent": NO_CONSENT}))
        members.append(mid)
        if rng.random() < (0.60 if consents else 0.03):
            converts.append(mid)
    for n in range(0, len(members), 100):
        delivery.worker().run_tasks([delivery_task(m) for m in members[n:n + 100]], sim=AT)
    for k, mid in enumerate(converts):
        events.handle({"id": f"order-{k}", "type": "order", "member_id": mid,
                       "order": {"id": f"o-{k}", "total": 5000,
                                 "placed_at": "2025-03-02T04:00:00Z"}})
    got = campaign_results.results("itt", "2025-03-01", "2025-03-02")
    tot = got["totals"]
    assert tot["suppressed_consent"] > N // 3 and tot["held_out"] > N // 6
    # every member is in exactly one group, and converters are credited in both alike
    assert tot["assigned"] + tot["held_out"] == tot["targeted"] == N
    assert tot["converters_treated"] + tot["converters_holdout"] == len(converts)
    assert got["lift"]["members"] == tot["assigned"]
    assert got["lift"]["verdict"] != "significant_lift", got["lift"]
    assert got["lift"]["ci_low"] < 0 < got["lift"]["ci_high"]
    # the biased comparison (delivered members against the holdout) on the same data
    state = {m: s["state"] for m in members for s in sends(m)}
    group = {m: s["group"] for m in members for s in sends(m)}
    delivered = [m for m in members if group[m] == "treated" and state[m] != "suppressed"]
    held = [m for m in members if group[m] == "holdout"]
    bought = set(converts)
    naive = compare(sum(m in bought for m in delivered), len(delivered),
                    sum(m in bought for m in held), len(held))
    assert naive["verdict"] == "significant_lift", naive
    # per variant: every assigned member of the arm, its suppressions included
    arms = {v["variant"]: v for v in got["variants"]}
    assert arms["A"]["targeted"] + arms["B"]["targeted"] == tot["assigned"]
    assert arms["A"]["suppressed"] + arms["B"]["suppressed"] == tot["suppressed_consent"]
    for arm in arms.values():
        assert arm["targeted"] == arm["assigned"] == arm["delivered"] + arm["suppressed"]
        assert arm["suppressed"] > 0 and arm["verdict"] != "significant_lift"
    # the suppressed member's send record names its group and arm
    suppressed = next(s for m in members for s in sends(m) if s["state"] == "suppressed")
    assert suppressed["group"] == "treated" and suppressed["variant"] in ("A", "B")


def delivery_task(member: str):
    from chalicelib.domain.delivery.work import Task

    return Task("itt", "2025", member, AT)

from __future__ import annotations

from tests.api.test_members import NEW
from tests.faults import FaultInjector


def test_a_keyed_registration_retried_after_an_ambiguous_commit_replays_201(api_on):
    h = {"Idempotency-Key": "signup-ambiguous"}
    with FaultInjector(ratio=1.0, kinds=("timeout_after_commit",),
                       operations={"TransactWriteItems"}, limit=1) as faults:
        first = api_on.post("/members", role="service", sub="svc", body=NEW, headers=h)
    assert faults.injected["timeout_after_commit"] == 1
    assert first.status_code == 503  # outcome unknown: retry with the same key
    retry = api_on.post("/members", role="service", sub="svc", body=NEW, headers=h)
    assert retry.status_code == 201, retry.json
    assert retry.json["member_id"] == "m-1" and retry.json["name"] == "Li Lei"
    # A different key (another registration attempt) still sees the id taken.
    other = api_on.post("/members", role="service", sub="svc", body=NEW,
                        headers={"Idempotency-Key": "another"})
    assert other.status_code == 409

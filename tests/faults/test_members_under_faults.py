"""Members API under 20 % injected DynamoDB faults (throttling, ambiguous timeouts after
commit, dropped connections): a retrying client ends with every member registered exactly
once, with the data it sent, and every profile change applied."""

from __future__ import annotations

from tests.faults import FaultInjector
from tests.faults.client import RetryingClient

KINDS = ("throttle", "timeout_after_commit", "connection_closed")
N = 20


def test_registration_and_profile_updates_survive_injected_faults(api):
    client = RetryingClient(api)
    outcomes = {}
    with FaultInjector(ratio=0.2, seed=11, kinds=KINDS) as faults:
        for i in range(N):
            mid = f"m-fault-{i}"
            outcomes[mid] = client.post("/members", role="service", body={
                "member_id": mid, "name": f"Member {i}", "birthday": "1990-03-0" + str(i % 9 + 1),
                "timezone": "Asia/Shanghai"})
        for i in range(N):
            client.patch(f"/admin/members/m-fault-{i}/segmentation", role="service",
                         body={"city": f"City {i}"})
            client.post("/me/devices", role="member", sub=f"m-fault-{i}",
                         body={"platform": "android", "token": f"device-token-{i:04d}"})
    print(faults.report(), client.report())
    assert faults.injected["throttle"] > 0 and faults.injected["timeout_after_commit"] > 0
    assert client.gave_up == 0
    ambiguous = [m for m, o in outcomes.items() if o.status == 409]
    assert all(o.status in (201, 409) for o in outcomes.values()), {
        m: (o.status, o.body) for m, o in outcomes.items() if o.status not in (201, 409)}
    for i in range(N):
        mid = f"m-fault-{i}"
        got = api.get(f"/members/{mid}", role="service")
        assert got.status_code == 200
        assert got.json["name"] == f"Member {i}" and got.json["city"] == f"City {i}"
        export = api.get("/me/export", role="member", sub=mid).json
        tokens = [d for d in export["devices"] if d.get("token", "").startswith("device-token")
                  or d.get("platform") == "android"]
        assert len(tokens) == 1, export["devices"]
    # A create whose commit timed out is answered 409 on retry: the member exists with the
    # caller's data, but the caller cannot tell its own create from someone else's.
    print(f"ambiguous creates answered 409 on retry: {len(ambiguous)} of {N}")

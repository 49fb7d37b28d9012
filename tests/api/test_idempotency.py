from __future__ import annotations

from tests.api.test_members import NEW


def test_same_key_same_body_replays_the_first_response_without_re_executing(api_on):
    api = api_on
    h = {"Idempotency-Key": "k-123"}
    first = api.post("/members", role="service", sub="svc", body=NEW, headers=h)
    assert first.status_code == 201
    again = api.post("/members", role="service", sub="svc", body=NEW, headers=h)
    assert again.status_code == 201
    assert again.json == first.json
    # Without the key the same body runs again and conflicts: the replay did not re-execute.
    assert api.post("/members", role="service", sub="svc", body=NEW).status_code == 409


def test_same_key_with_a_different_body_is_422(api_on):
    api = api_on
    h = {"Idempotency-Key": "k-456"}
    assert api.post("/members", role="service", sub="svc", body=NEW, headers=h).status_code == 201
    other = {**NEW, "member_id": "m-2"}
    r = api.post("/members", role="service", sub="svc", body=other, headers=h)
    assert r.status_code == 422
    assert r.json["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_keys_are_scoped_per_caller_and_route(api_on):
    api = api_on
    h = {"Idempotency-Key": "shared"}
    assert api.post("/members", role="service", sub="svc-a", body=NEW, headers=h).status_code == 201
    # Another caller using the same key is a different request altogether.
    other = {**NEW, "member_id": "m-2"}
    assert api.post("/members", role="service", sub="svc-b", body=other, headers=h
                    ).status_code == 201
    r = api.patch("/me", role="member", sub="m-1", body={"name": "Li Lei"}, headers=h)
    assert r.status_code == 200


def test_failed_requests_are_not_stored_so_a_corrected_retry_may_reuse_the_key(api_on):
    api = api_on
    h = {"Idempotency-Key": "k-789"}
    bad = api.post("/members", role="service", sub="svc", body={**NEW, "phone": "123"}, headers=h)
    assert bad.status_code == 400
    good = api.post("/members", role="service", sub="svc", body={**NEW, "phone": "123"}, headers=h)
    assert good.status_code == 400  # same bad body still fails, and is evaluated again
    fixed = api.post("/members", role="service", sub="svc", body=NEW, headers={
        "Idempotency-Key": "k-789"})
    assert fixed.status_code == 201


def test_idempotent_delete_replays_204(api_on):
    api = api_on
    api.post("/members", role="service", body=NEW)
    h = {"Idempotency-Key": "erase-1"}
    assert api.delete("/me", role="member", sub="m-1", headers=h).status_code == 204
    assert api.delete("/me", role="member", sub="m-1", headers=h).status_code == 204

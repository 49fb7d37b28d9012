"""DynamoDB requests for the members API, counted with botocore event hooks.

Goals (issue 2): POST /members = 1 write request (+ the idempotency record's own writes when
an Idempotency-Key is sent); GET /me = 1 read request.
"""

from __future__ import annotations

import json

from common import counting, moto_stack, summary


def main() -> int:
    from chalice.test import Client

    from app import app
    from chalicelib.api.auth import mint

    body = {"member_id": "m-bench", "name": "Bench", "birthday": "1990-05-01",
            "timezone": "Asia/Shanghai", "consent": {"push": True}}
    service = {"Authorization": f"Bearer {mint('svc', ['service'])}",
               "Content-Type": "application/json"}
    member = {"Authorization": f"Bearer {mint('m-bench', ['member'])}"}
    with moto_stack(), Client(app, stage_name="test") as client, counting() as c:
        r = client.http.post("/members", headers=service, body=json.dumps(body))
        assert r.status_code == 201, r.body
        post_writes, post_total = c.total("dynamodb", writes_only=True), c.total("dynamodb")
        c.reset()
        r = client.http.post("/members", headers={**service, "Idempotency-Key": "bench-1"},
                             body=json.dumps({**body, "member_id": "m-bench-2"}))
        assert r.status_code == 201, r.body
        idem_total = c.total("dynamodb")
        idem_calls = dict(c.calls)
        c.reset()
        r = client.http.get("/me", headers=member)
        assert r.status_code == 200, r.body
        get_reads, get_total = c.total("dynamodb", writes_only=False), c.total("dynamodb")
    print(f"POST /members: {post_total} DynamoDB requests ({post_writes} writes)")
    print(f"POST /members with Idempotency-Key: {idem_total} requests {idem_calls}")
    print(f"GET /me: {get_total} DynamoDB requests ({get_reads} reads)")
    ok = post_total == 1 and post_writes == 1 and get_total == 1 and idem_total == 3
    summary(f"SUMMARY members: POST /members={post_total} write (goal 1; +2 idempotency writes "
            f"with a key: {idem_total}), GET /me={get_total} read (goal 1) "
            f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

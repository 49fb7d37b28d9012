"""The coupon and checkout HTTP API: roles, shapes, the full checkout flow."""

from __future__ import annotations

from tests.coupon_support import cart, register, template

D11 = template("双11 满500减100", {"type": "threshold", "threshold": 50000, "amount": 10000},
               limits={"stock": 5, "per_member_claim": 2})


def _setup(api) -> None:
    assert api.put("/admin/coupon-templates/d11", role="marketer", body=D11).status_code == 201
    register("m-1")


def test_marketer_saves_a_template_and_a_member_cannot(api):
    r = api.put("/admin/coupon-templates/d11", role="marketer", body=D11)
    assert r.status_code == 201, r.json
    assert r.json["version"] == 1 and r.json["remaining"] == 5
    again = api.put("/admin/coupon-templates/d11", role="admin", body=D11)
    assert again.status_code == 200
    assert again.json["version"] == 1  # unchanged definition: no new version
    assert api.put("/admin/coupon-templates/d11", role="member", body=D11).status_code == 403


def test_put_template_answers_201_on_create_200_on_update_and_replays_keep_the_status(api):
    key = {"Idempotency-Key": "tpl-create"}
    created = api.put("/admin/coupon-templates/p1", role="marketer", body=D11, headers=key)
    assert created.status_code == 201, created.json
    changed = {**D11, "name": "双11 满500减100 (改)"}
    updated = api.put("/admin/coupon-templates/p1", role="marketer", body=changed,
                      headers={"Idempotency-Key": "tpl-update"})
    assert updated.status_code == 200 and updated.json["version"] == 2
    replay = api.put("/admin/coupon-templates/p1", role="marketer", body=D11, headers=key)
    assert replay.status_code == 201 and replay.json == created.json  # the first answer
    again = api.put("/admin/coupon-templates/p1", role="marketer", body=changed,
                    headers={"Idempotency-Key": "tpl-update"})
    assert again.status_code == 200 and again.json == updated.json
    assert api.get("/admin/coupon-templates/p1", role="marketer").json["version"] == 2


def test_invalid_template_is_rejected_with_json_pointers(api):
    bad = template("bad", {"type": "threshold", "threshold": 100, "amount": 500},
                   limits={"stock_shards": 3})
    r = api.put("/admin/coupon-templates/bad", role="marketer", body=bad)
    assert r.status_code == 400
    paths = {d["path"] for d in r.json["error"]["details"]}
    assert paths == {"/benefit/amount", "/limits/stock_shards"}
    typo = template("typo", {"type": "threshold", "threshold": "100", "amount": 5})
    r = api.put("/admin/coupon-templates/typo", role="marketer", body=typo)
    assert r.status_code == 400
    assert [d["path"] for d in r.json["error"]["details"]] == ["/benefit/threshold"]


def test_full_checkout_flow_claim_quote_reserve_confirm(api):
    _setup(api)
    center = api.get("/coupons/center", role="member", sub="m-1")
    assert [e["template_id"] for e in center.json] == ["d11"]
    assert center.json[0]["remaining"] == 5
    claimed = api.post("/me/coupons", role="member", sub="m-1", body={"template_id": "d11"})
    assert claimed.status_code == 201, claimed.json
    cid = claimed.json["coupon_id"]
    body = {"member_id": "m-1", "cart": cart(("A", "food", 2, 30000), shipping_fee=1000)}
    q = api.post("/checkout/quote", role="service", body=body)
    assert q.status_code == 200, q.json
    assert q.json["best"]["coupon_ids"] == [cid]
    assert q.json["best"]["discount"] == 10000 and q.json["best"]["total"] == 51000
    res = api.post("/checkout/reservations", role="service",
                   body={**body, "order_id": "o-1", "coupon_ids": [cid]})
    assert res.status_code == 201, res.json
    assert res.json["status"] == "held" and res.json["discount"] == 10000
    wallet = api.get("/me/coupons?status=reserved", role="member", sub="m-1")
    assert [c["coupon_id"] for c in wallet.json] == [cid]
    done = api.post("/checkout/reservations/o-1/confirm", role="service")
    assert done.status_code == 200 and done.json["status"] == "confirmed"
    used = api.get("/me/coupons?status=used", role="member", sub="m-1")
    assert [c["coupon_id"] for c in used.json] == [cid]
    assert api.delete("/checkout/reservations/o-1", role="service").status_code == 409


def test_member_quotes_only_for_itself(api):
    _setup(api)
    body = {"member_id": "m-2", "cart": cart(("A", "food", 1, 100))}
    assert api.post("/checkout/quote", role="member", sub="m-1", body=body).status_code == 403
    mine = api.post("/checkout/quote", role="member", sub="m-1",
                    body={"cart": cart(("A", "food", 1, 100))})
    assert mine.status_code == 200 and mine.json["best"]["coupon_ids"] == []
    assert api.post("/checkout/quote", role="service",
                    body={"cart": cart(("A", "food", 1, 100))}).status_code == 400


def test_release_gives_the_coupon_back(api):
    _setup(api)
    cid = api.post("/me/coupons", role="member", sub="m-1",
                   body={"template_id": "d11"}).json["coupon_id"]
    body = {"order_id": "o-9", "coupon_ids": [cid], "cart": cart(("A", "food", 1, 60000))}
    assert api.post("/checkout/reservations", role="member", sub="m-1",
                    body=body).status_code == 201
    assert api.delete("/checkout/reservations/o-9", role="member", sub="m-1").status_code == 204
    assert api.delete("/checkout/reservations/o-9", role="member", sub="m-1").status_code == 204
    wallet = api.get("/me/coupons?status=available", role="member", sub="m-1")
    assert [c["coupon_id"] for c in wallet.json] == [cid]
    assert api.get("/me/coupons?status=nope", role="member", sub="m-1").status_code == 400


def test_reserving_an_ineligible_coupon_is_422_with_the_reason(api):
    _setup(api)
    cid = api.post("/me/coupons", role="member", sub="m-1",
                   body={"template_id": "d11"}).json["coupon_id"]
    body = {"order_id": "o-2", "coupon_ids": [cid], "cart": cart(("A", "food", 1, 40000))}
    r = api.post("/checkout/reservations", role="member", sub="m-1", body=body)
    assert r.status_code == 422
    assert r.json["error"]["details"][0]["reason"] == "MIN_SPEND_NOT_MET"
    assert r.json["error"]["details"][0]["missing"] == 10000


def test_codes_generate_export_and_bind_once(api):
    _setup(api)
    r = api.post("/admin/coupon-templates/d11/codes", role="marketer",
                 body={"count": 30, "prefix": "D11"})
    assert r.status_code == 201, r.json
    csv = api.client.http.get(r.json["csv_path"], headers={"Authorization": _bearer("marketer")})
    assert csv.status_code == 200
    assert csv.headers["Content-Type"].startswith("text/csv")
    lines = csv.body.decode().strip().split("\n")
    assert lines[0] == "code,status,member_id,bound_at" and len(lines) == 31
    code = lines[1].split(",")[0]
    assert code.startswith("D11")
    bound = api.post("/me/coupons/codes", role="member", sub="m-1",
                     body={"code": code.lower()})
    assert bound.status_code == 201, bound.json
    replay = api.post("/me/coupons/codes", role="member", sub="m-1", body={"code": code})
    assert replay.json["coupon_id"] == bound.json["coupon_id"]
    register("m-2")
    other = api.post("/me/coupons/codes", role="member", sub="m-2", body={"code": code})
    assert other.status_code == 409


def test_wrong_codes_are_throttled_per_member(api):
    _setup(api)
    for _ in range(10):
        r = api.post("/me/coupons/codes", role="member", sub="m-1",
                     body={"code": "D11ABCDEFGHJKMN0"})
        assert r.status_code == 404
    r = api.post("/me/coupons/codes", role="member", sub="m-1", body={"code": "whatever"})
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 3600


def _bearer(role: str) -> str:
    from tests.conftest import token

    return f"Bearer {token(role, 'mk-1')}"

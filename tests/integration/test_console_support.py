"""The console's support and coupon-template endpoints on both engines: the claim → reserve
→ redeem funnel counted in the same transactions, template validation at JSON paths, code
batches listed by key, template saves audited, and member lookups masked and audited."""

from __future__ import annotations

import json

from chalicelib.domain.coupons.checkout import ReservationRequest
from chalicelib.services.coupons import checkout, coupons
from tests.coupon_support import cart, register, save_template, template
from tests.loyalty_support import place, publish

CART = cart(("A", "food", 2, 30000), shipping_fee=1000)
D11 = template("满500减100", {"type": "threshold", "threshold": 50000, "amount": 10000},
               limits={"stock": 10, "per_member_claim": 3})


def _reserve(order_id: str, coupon_ids: list[str], member: str) -> None:
    checkout.reserve(member, ReservationRequest.model_validate(
        {"order_id": order_id, "coupon_ids": coupon_ids, "cart": CART}))


def _funnel(api_on, tid: str = "d11") -> tuple[int, int, int]:
    r = api_on.get(f"/admin/coupon-templates/{tid}/funnel", role="marketer")
    assert r.status_code == 200, r.json
    return r.json["claimed"], r.json["reserved"], r.json["redeemed"]


def test_funnel_counts_claims_reservations_and_redemptions_in_their_transactions(api_on):
    publish()
    save_template("d11", D11)
    for m in ("m-1", "m-2", "m-3"):
        register(m)
    assert _funnel(api_on) == (0, 0, 0)
    a = coupons.claim("m-1", "d11").coupon_id
    b = coupons.claim("m-2", "d11").coupon_id
    coupons.claim("m-3", "d11")
    assert _funnel(api_on) == (3, 0, 0)
    _reserve("o-1", [a], "m-1")
    _reserve("o-1", [a], "m-1")  # the same hold again: not a second reservation
    _reserve("o-2", [b], "m-2")
    assert _funnel(api_on) == (3, 2, 0)
    checkout.confirm("o-1")
    checkout.confirm("o-1")  # a replay redeems nothing more
    place("o-2", "m-2", sku="A", category="food", amount=30000, qty=2, shipping=1000,
          reservation_id="o-2",
          discount=10000)  # confirmed inside the order's own transaction
    assert _funnel(api_on) == (3, 2, 2)
    assert api_on.get("/admin/coupon-templates/nope/funnel",
                      role="marketer").status_code == 404
    assert api_on.get("/admin/coupon-templates/d11/funnel", role="member").status_code == 403


def test_validate_reports_json_paths_and_stores_nothing(api_on):
    bad = json.dumps({**D11, "benefit": {"type": "threshold", "threshold": 100,
                                         "amount": 500}, "colour": "red"})
    r = api_on.post("/admin/coupon-templates/v1/validate", role="marketer", raw=bad)
    assert r.status_code == 400, r.json
    paths = {d["path"] for d in r.json["error"]["details"]}
    assert "/colour" in paths
    r = api_on.post("/admin/coupon-templates/v1/validate", role="marketer",
                    raw='{\n  "name": "x",\n  oops\n}')
    assert r.status_code == 400
    assert "line 3" in r.json["error"]["details"][0]["message"]
    ok = api_on.post("/admin/coupon-templates/v1/validate", role="marketer", body=D11)
    assert ok.status_code == 200 and ok.json["valid"] and ok.json["result"] == "created"
    assert api_on.get("/admin/coupon-templates/v1", role="marketer").status_code == 404
    assert api_on.post("/admin/coupon-templates/v1/validate", role="member",
                       body=D11).status_code == 403


def test_template_saves_are_audited_with_the_diff_and_batches_are_listed(api_on):
    assert api_on.put("/admin/coupon-templates/a1", role="marketer", sub="alice",
                      body=D11).status_code == 201
    changed = {**D11, "name": "满500减120", "benefit": {**D11["benefit"], "amount": 12000}}
    assert api_on.put("/admin/coupon-templates/a1", role="marketer", sub="bob",
                      body=changed).status_code == 200
    audit = api_on.get("/admin/audit?entity_id=a1", role="marketer").json["items"]
    assert [(i["who"], i["entity"], i["action"], i["version"]) for i in audit] == [
        ("bob", "coupon_template", "update", 2), ("alice", "coupon_template", "create", 1)]
    assert {"path": "/benefit/amount", "before": 10000, "after": 12000} in audit[0]["changes"]
    assert api_on.get("/admin/coupon-templates/a1/codes", role="marketer").json == []
    made = api_on.post("/admin/coupon-templates/a1/codes", role="marketer",
                       body={"count": 5}).json
    listed = api_on.get("/admin/coupon-templates/a1/codes", role="marketer")
    assert listed.status_code == 200
    assert [(b["batch_id"], b["count"], b["csv_path"]) for b in listed.json] == [
        (made["batch_id"], 5, made["csv_path"])]
    assert api_on.get("/admin/coupon-templates/zz/codes", role="marketer").status_code == 404


def test_support_lookup_is_masked_and_audited(api_on):
    publish()
    register("m-7", name="李小雷", phone="+8613800000000", email="lilei@example.com",
             birthday="1990-03-15", consent={"push": True, "sms": False, "email": True})
    save_template("d11", D11)
    coupons.claim("m-7", "d11")
    r = api_on.get("/admin/members/m-7/support", role="marketer", sub="carol")
    assert r.status_code == 200, r.json
    v = r.json
    assert v["profile"]["name"] == "李*雷"
    assert v["profile"]["phone"] == "+86138****0000"
    assert v["profile"]["email"] == "l***@example.com"
    assert v["profile"]["birthday"] == "****-03-15"
    text = json.dumps(v, ensure_ascii=False)
    for secret in ("李小雷", "13800000000", "lilei@", "1990"):
        assert secret not in text
    assert v["consent"] == {"push": True, "sms": False, "email": True}
    assert v["tier"]["tier"] and v["points"]["available"] == 0
    assert [c["template_id"] for c in v["wallet"]] == ["d11"]
    assert v["looked_up_by"] == "carol"
    audit = api_on.get("/admin/audit?entity_id=m-7", role="admin").json["items"]
    assert [(i["who"], i["entity"], i["action"]) for i in audit] == [
        ("carol", "member", "lookup")]
    assert audit[0]["at"] == v["looked_up_at"]
    assert api_on.get("/admin/members/m-7/support", role="member",
                      sub="m-7").status_code == 403
    assert api_on.get("/admin/members/m-7/support", role="service").status_code == 403
    assert api_on.get("/admin/members/nobody/support", role="admin").status_code == 404


def test_support_inbox_is_titles_only_with_the_name_masked(api_on):
    from datetime import timedelta

    from chalicelib.adapters import aws
    from chalicelib.adapters.delivery.inbox import InboxRepository
    from chalicelib.services import clock

    register("m-8", name="李")
    register("m-9", name="Ada Lovelace")
    at = clock.now().replace(microsecond=0) - timedelta(minutes=5)
    for member, title in (("m-8", "李，生日快乐"), ("m-9", "Hi ADA, a gift")):  # noqa: RUF001
        items = InboxRepository().message_items(member, {
            "title": title, "body": "Ada Lovelace 李 上海路 1 号",
            "deep_link": "app://coupon/1?who=ada", "campaign_id": "c"}, at)
        aws.table().meta.client.transact_write_items(TransactItems=items)
    one = api_on.get("/admin/members/m-8/support", role="marketer").json
    assert one["profile"]["name"] == "*"
    assert [m["title"] for m in one["inbox"]] == ["*，生日快乐"]  # noqa: RUF001
    two = api_on.get("/admin/members/m-9/support", role="marketer").json
    assert [m["title"] for m in two["inbox"]] == ["Hi ***, a gift"]
    for view in (one, two):
        assert all("body" not in m and "deep_link" not in m for m in view["inbox"])

from __future__ import annotations

import time

import jwt

from chalicelib.config import get_settings

NEW = {"member_id": "m-1", "name": "Li Lei", "phone": "+8613800138000", "email": "li@example.com",
       "birthday": "1990-02-28", "timezone": "Asia/Shanghai", "locale": "zh-CN", "city": "Shanghai",
       "gender": "male", "tags": ["vip"], "attributes": {"channel": "wechat", "score": 3},
       "consent": {"push": True, "sms": False, "email": True}}


def register(api, **over):
    body = {**NEW, **over}
    r = api.post("/members", role="service", body=body)
    assert r.status_code == 201, r.json
    return r.json


def test_service_registers_member_and_member_reads_it_back(api):
    created = register(api)
    assert created["member_id"] == "m-1"
    me = api.get("/me", role="member", sub="m-1")
    assert me.status_code == 200
    assert me.json["name"] == "Li Lei" and me.json["consent"]["push"] is True
    assert me.json["timezone"] == "Asia/Shanghai"


def test_registration_without_id_generates_one_and_defaults_timezone_and_locale(api):
    r = api.post("/members", role="admin", body={"name": "Han Meimei"})
    assert r.status_code == 201
    assert r.json["member_id"].startswith("m-")
    assert r.json["timezone"] == get_settings().default_timezone
    assert r.json["locale"] == "zh-CN"


def test_registering_an_existing_member_is_a_conflict(api):
    register(api)
    r = api.post("/members", role="service", body=NEW)
    assert r.status_code == 409
    assert r.json["error"]["code"] == "ALREADY_EXISTS"


def test_missing_token_is_401_and_wrong_role_is_403(api):
    assert api.get("/me").status_code == 401
    r = api.post("/members", role="member", body=NEW)
    assert r.status_code == 403
    assert r.json["error"]["code"] == "FORBIDDEN"
    assert api.get("/members/m-1", role="member").status_code == 403


def test_invalid_expired_or_foreign_tokens_are_401(api):
    s = get_settings()
    now = int(time.time())
    expired = jwt.encode({"sub": "m-1", "roles": ["member"], "iss": s.jwt_issuer,
                          "aud": s.jwt_audience, "exp": now - 3600}, s.jwt_secret, "HS256")
    forged = jwt.encode({"sub": "m-1", "roles": ["member"], "iss": s.jwt_issuer,
                         "aud": s.jwt_audience, "exp": now + 3600}, "x" * 40, "HS256")
    wrong_aud = jwt.encode({"sub": "m-1", "roles": ["member"], "iss": s.jwt_issuer,
                            "aud": "someone-else", "exp": now + 3600}, s.jwt_secret, "HS256")
    no_roles = jwt.encode({"sub": "m-1", "iss": s.jwt_issuer, "aud": s.jwt_audience,
                           "exp": now + 3600}, s.jwt_secret, "HS256")
    for bad in (expired, forged, wrong_aud, no_roles, "not-a-jwt"):
        r = api.call("GET", "/me", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, bad
    r = api.call("GET", "/me", headers={"Authorization": f"Basic {forged}"})
    assert r.status_code == 401


def test_roles_may_come_from_cognito_groups(api):
    register(api)
    s = get_settings()
    tok = jwt.encode({"sub": "m-1", "cognito:groups": ["member"], "iss": s.jwt_issuer,
                      "aud": s.jwt_audience, "exp": int(time.time()) + 60}, s.jwt_secret, "HS256")
    assert api.call("GET", "/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 200


def test_bad_fields_are_400_with_json_paths(api):
    r = api.post("/members", role="service", body={
        "member_id": "m-2", "phone": "13800138000", "email": "nope", "birthday": "1990-02-30",
        "timezone": "Mars/Olympus", "consent": {"push": "yes"}, "tags": [""]})
    assert r.status_code == 400
    paths = {d["path"] for d in r.json["error"]["details"]}
    assert {"/phone", "/email", "/birthday", "/timezone", "/consent/push", "/tags/0"} <= paths
    assert "13800138000" not in r.body.decode()


def test_malformed_json_and_non_object_bodies_are_400_not_500(api):
    for raw in ("{", "[]", "null", "42", ""):
        r = api.post("/members", role="service", raw=raw)
        assert r.status_code == 400, raw
        assert r.json["error"]["code"] == "VALIDATION_ERROR"


def test_member_cannot_set_server_owned_fields(api):
    register(api)
    for field, value in (("tier", "gold"), ("points", 10**6), ("member_id", "m-9"),
                         ("signup_at", "2020-01-01T00:00:00Z"), ("erased", True)):
        r = api.patch("/me", role="member", sub="m-1", body={field: value})
        assert r.status_code == 400, field
        assert r.json["error"]["details"][0]["path"] == f"/{field}"
    assert api.get("/me", role="member", sub="m-1").json["member_id"] == "m-1"


def test_member_patches_profile_and_null_clears_a_field(api):
    register(api, birthday=None)
    r = api.patch("/me", role="member", sub="m-1",
                  body={"name": None, "timezone": "Europe/Berlin", "birthday": "--02-29"})
    assert r.status_code == 200, r.json
    assert "name" not in r.json or r.json["name"] is None
    assert r.json["timezone"] == "Europe/Berlin" and r.json["birthday"] == "--02-29"
    r = api.patch("/me", role="member", sub="m-1", body={"timezone": None})
    assert r.status_code == 400 and r.json["error"]["details"][0]["path"] == "/timezone"


def test_service_patches_a_member_and_unknown_member_is_404(api):
    register(api)
    r = api.patch("/members/m-1", role="service", body={"name": "Li Lei 2", "birthday": None})
    assert r.status_code == 200 and r.json["name"] == "Li Lei 2" and r.json["birthday"] is None
    r = api.patch("/admin/members/m-1/segmentation", role="service", body={"tags": ["vip", "b2b"]})
    assert r.status_code == 200 and r.json["tags"] == ["vip", "b2b"]
    assert api.patch("/members/nobody", role="service", body={"name": "x"}).status_code == 404
    assert api.patch("/admin/members/nobody/segmentation", role="service",
                     body={"tags": []}).status_code == 404
    assert api.get("/members/nobody", role="marketer").status_code == 404


def test_member_identity_comes_only_from_the_token(api):
    register(api)
    register(api, member_id="m-2", name="Other", phone="+8613900139000", email="o@example.com")
    # A member-1 token can only ever see member 1, whatever the body says.
    r = api.patch("/me", role="member", sub="m-1", body={"member_id": "m-2"})
    assert r.status_code == 400
    assert api.get("/me", role="member", sub="m-2").json["name"] == "Other"


def test_devices_register_and_unregister(api):
    register(api)
    r = api.post("/me/devices", role="member", sub="m-1",
                 body={"platform": "ios", "token": "apns-token-0123456789"})
    assert r.status_code == 201
    device_id = r.json["device_id"]
    assert "apns-token" not in device_id and "token" not in r.json
    export = api.get("/me/export", role="member", sub="m-1").json
    assert export["devices"][0]["platform"] == "ios"
    listed = api.get("/me/devices", role="member", sub="m-1").json
    assert [(d["device_id"], d["platform"]) for d in listed] == [(device_id, "ios")]
    assert "apns-token-0123456789" not in str(listed)
    # The token is not an address: only the opaque id is.
    assert api.delete("/me/devices/apns-token-0123456789", role="member", sub="m-1"
                      ).status_code == 404
    assert api.delete(f"/me/devices/{device_id}", role="member", sub="m-1").status_code == 204
    assert api.delete(f"/me/devices/{device_id}", role="member", sub="m-1").status_code == 404
    assert api.get("/me/devices", role="member", sub="m-1").json == []
    bad = api.post("/me/devices", role="member", sub="m-1", body={"platform": "symbian",
                                                                  "token": "x" * 10})
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["path"] == "/platform"


def test_export_holds_everything_about_the_member(api):
    register(api)
    export = api.get("/me/export", role="member", sub="m-1").json
    assert export["member_id"] == "m-1"
    assert export["profile"]["email"] == "li@example.com"


def test_erasure_removes_pii_and_birthday_index_and_is_irreversible(api):
    from chalicelib.adapters import aws, keys

    register(api)
    api.post("/me/devices", role="member", sub="m-1",
             body={"platform": "android", "token": "fcm-token-0123456789"})
    assert api.delete("/me", role="member", sub="m-1").status_code == 204
    raw = aws.table().get_item(Key=keys.member_profile("m-1"))["Item"]
    for pii in ("name", "phone", "email", "birthday", "tags", "GSI1PK", "GSI1SK"):
        assert pii not in raw
    assert raw["erased"] is True and raw["consent"] == {"push": False, "sms": False,
                                                        "email": False}
    idx = aws.table().query(IndexName="GSI1", KeyConditionExpression="GSI1PK = :p",
                            ExpressionAttributeValues={":p": "BDAY#02-28"})
    assert idx["Count"] == 0
    assert api.get("/me", role="member", sub="m-1").status_code == 404
    assert api.delete("/me", role="member", sub="m-1").status_code == 404
    assert api.patch("/members/m-1", role="service", body={"name": "back"}).status_code == 404
    # The id stays taken: erased members are not silently re-created.
    assert api.post("/members", role="service", body=NEW).status_code == 409


def test_health_needs_no_token(api):
    r = api.get("/health")
    assert r.status_code == 200 and r.json == {"status": "ok"}

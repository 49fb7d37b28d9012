"""Trust boundaries of the member profile (issue 10): what audiences and coupon gates read is
written by operators only, audited; set-once fields; devices by opaque id, one member per
token. Every test runs on moto and on DynamoDB Local (``api_on``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.coupon_support import template

SEGMENT = "/admin/members/{}/segmentation"


def _register(api: Any, member_id: str = "m-1", **over: Any) -> None:
    body = {"member_id": member_id, "name": "Li Lei", "timezone": "Asia/Shanghai", **over}
    r = api.post("/members", role="service", body=body)
    assert r.status_code == 201, r.json


def _vip_template(api: Any) -> None:
    r = api.put("/admin/coupon-templates/vip-only", role="marketer",
                body=template("VIP ¥10", audience={"tags": ["vip"]}))
    assert r.status_code in (200, 201), r.json


@pytest.mark.parametrize("body", [{"tags": ["vip"]}, {"attributes": {"vip_level": 3}},
                                  {"city": "Shanghai"}, {"city_tier": 1}],
                         ids=lambda b: next(iter(b)))
def test_a_member_cannot_write_what_audiences_read(api_on: Any, body: dict[str, Any]) -> None:
    _register(api_on)
    r = api_on.patch("/me", role="member", sub="m-1", body=body)
    assert r.status_code == 400, r.json
    assert [d["path"] for d in r.json["error"]["details"]] == [f"/{next(iter(body))}"]
    me = api_on.get("/me", role="member", sub="m-1").json
    assert me["tags"] == [] and me["attributes"] == {} and me.get("city") is None


def test_the_tag_gate_exploit_is_closed_and_an_operator_grants_the_tag(api_on: Any) -> None:
    _register(api_on)
    _vip_template(api_on)
    claim = api_on.post("/me/coupons", role="member", sub="m-1", body={"template_id": "vip-only"})
    assert claim.status_code == 422, claim.json
    assert claim.json["error"]["details"][0]["reason"] == "TAG_REQUIRED"
    # The refusal names the tag; setting it on oneself is refused and changes nothing.
    assert api_on.patch("/me", role="member", sub="m-1",
                        body={"tags": ["vip"]}).status_code == 400
    assert api_on.patch("/members/m-1", role="service",  # not through the profile patch either
                        body={"tags": ["vip"]}).status_code == 400
    again = api_on.post("/me/coupons", role="member", sub="m-1", body={"template_id": "vip-only"})
    assert again.status_code == 422
    assert again.json["error"]["details"][0]["reason"] == "TAG_REQUIRED"
    # A member token cannot reach the operator endpoint, even for itself.
    assert api_on.patch(SEGMENT.format("m-1"), role="member", sub="m-1",
                        body={"tags": ["vip"]}).status_code == 403
    seg = api_on.patch(SEGMENT.format("m-1"), role="marketer", sub="alice",
                       body={"tags": ["vip"], "city": "Hangzhou", "city_tier": 2})
    assert seg.status_code == 200, seg.json
    assert seg.json["tags"] == ["vip"] and seg.json["city_tier"] == 2
    ok = api_on.post("/me/coupons", role="member", sub="m-1", body={"template_id": "vip-only"})
    assert ok.status_code == 201, ok.json


def _entries(api: Any, member_id: str) -> list[dict[str, Any]]:
    r = api.get("/admin/audit", role="admin")
    assert r.status_code == 200, r.json
    return [i for i in r.json["items"] if i["entity"] == "member" and i["entity_id"] == member_id]


def test_segmentation_changes_are_audited_and_honour_idempotency_keys(api_on: Any) -> None:
    _register(api_on, tags=["b2b"], attributes={"score": 1})
    headers = {"Idempotency-Key": "seg-m-1-1"}
    body = {"tags": ["vip", "early"], "attributes": {"score": 2, "vip_level": 3}}
    first = api_on.patch(SEGMENT.format("m-1"), role="marketer", sub="alice", body=body,
                         headers=headers)
    replay = api_on.patch(SEGMENT.format("m-1"), role="marketer", sub="alice", body=body,
                          headers=headers)
    assert first.status_code == replay.status_code == 200, (first.json, replay.json)
    assert replay.json == first.json
    entries = _entries(api_on, "m-1")
    assert len(entries) == 1, entries
    e = entries[0]
    assert e["who"] == "alice" and e["action"] == "segmentation"
    assert e["changes"] == [
        {"path": "/tags", "added": 2, "removed": 1},  # counts: names outlive an erasure
        {"path": "/attributes/score"}, {"path": "/attributes/vip_level"}]
    # null clears; an unchanged field is not reported
    cleared = api_on.patch(SEGMENT.format("m-1"), role="service", sub="crm",
                           body={"attributes": None, "tags": ["vip", "early"]})
    assert cleared.status_code == 200 and cleared.json["attributes"] == {}
    newest = _entries(api_on, "m-1")[0]
    assert newest["who"] == "crm"
    assert newest["changes"] == [{"path": "/attributes/score"}, {"path": "/attributes/vip_level"}]


def test_birthday_and_gender_are_set_once_by_the_member(api_on: Any) -> None:
    _register(api_on)
    first = api_on.patch("/me", role="member", sub="m-1",
                         body={"birthday": "1990-05-01", "gender": "female"})
    assert first.status_code == 200, first.json
    same = api_on.patch("/me", role="member", sub="m-1", body={"birthday": "1990-05-01"})
    assert same.status_code == 200
    for body in ({"birthday": "1990-12-01"}, {"birthday": None}, {"gender": "male"}):
        r = api_on.patch("/me", role="member", sub="m-1", body=body)
        assert r.status_code == 400, body
        assert [d["path"] for d in r.json["error"]["details"]] == [f"/{next(iter(body))}"]
    me = api_on.get("/me", role="member", sub="m-1").json
    assert me["birthday"] == "1990-05-01" and me["gender"] == "female"
    # An operator corrects it.
    fixed = api_on.patch("/members/m-1", role="service", body={"birthday": "1990-12-01"})
    assert fixed.status_code == 200 and fixed.json["birthday"] == "1990-12-01"


def test_operator_profile_changes_are_audited_without_values(api_on: Any) -> None:
    _register(api_on, phone="+8613800138000", consent={"push": True})
    headers = {"Idempotency-Key": "fix-m-1-1"}
    body = {"birthday": "1990-12-01", "name": "李雷", "phone": "+8613900139000",
            "consent": {"push": False, "sms": True}}
    first = api_on.patch("/members/m-1", role="service", sub="crm", body=body, headers=headers)
    replay = api_on.patch("/members/m-1", role="service", sub="crm", body=body, headers=headers)
    assert first.status_code == replay.status_code == 200, (first.json, replay.json)
    assert replay.json == first.json and first.json["birthday"] == "1990-12-01"
    entries = _entries(api_on, "m-1")
    assert len(entries) == 1, entries
    e = entries[0]
    assert e["who"] == "crm" and e["action"] == "profile" and e["at"] == first.json["updated_at"]
    assert e["changes"] == [{"path": "/name"}, {"path": "/phone"}, {"path": "/birthday"},
                            {"path": "/consent/push"}, {"path": "/consent/sms"}]
    text = repr(e)  # no PII value: audit entries outlive erasure
    for value in ("李雷", "Li Lei", "13900139000", "13800138000", "1990-12-01"):
        assert value not in text
    # an admin's correction is audited too; nothing changed, nothing but the entry's who/when
    again = api_on.patch("/members/m-1", role="admin", sub="ops-7", body={"name": "李雷"})
    assert again.status_code == 200
    newest = _entries(api_on, "m-1")[0]
    assert newest["who"] == "ops-7" and newest["changes"] == []


def test_the_member_patch_and_its_audit_entry_commit_together(api_on: Any) -> None:
    """A lost race (the profile changed meanwhile) writes neither the change nor its entry."""
    from chalicelib.errors import Conflict
    from chalicelib.services.members import members

    _register(api_on)
    before = members.repo().require("m-1")
    api_on.patch("/me", role="member", sub="m-1", body={"locale": "en-US"})  # moves version
    with pytest.raises(Conflict):
        members.repo().replace_audited(
            before, {**before, "name": "X"}, "2026-01-01T00:00:00.000Z",
            {"who": "crm", "entity": "member", "entity_id": "m-1", "action": "profile",
             "changes": [{"path": "/name"}]})
    assert _entries(api_on, "m-1") == []
    assert members.get("m-1").name == "Li Lei"


def test_birthday_provenance_is_recorded(api_on: Any) -> None:
    from chalicelib.services.members import members

    _register(api_on, member_id="m-reg", birthday="1990-05-01")
    _register(api_on, member_id="m-self")
    assert api_on.patch("/me", role="member", sub="m-self",
                        body={"birthday": "1990-05-01"}).status_code == 200
    reg, own = members.repo().require("m-reg"), members.repo().require("m-self")
    assert reg["birthday_set_by"] == "registration"
    assert own["birthday_set_by"] == "member" and own["birthday_set_at"] == own["updated_at"]
    fixed = api_on.patch("/members/m-self", role="service", body={"birthday": "1990-06-01"})
    assert fixed.status_code == 200
    assert members.repo().require("m-self")["birthday_set_by"] == "operator"
    assert api_on.patch("/members/m-self", role="admin", body={"birthday": None}).status_code \
        == 200
    gone = members.repo().require("m-self")
    assert "birthday_set_by" not in gone and "birthday_set_at" not in gone


def test_a_device_token_moves_to_the_member_who_registers_it_last(api_on: Any) -> None:
    from chalicelib.adapters.delivery.channels import PushChannel, Rendered
    from chalicelib.adapters.delivery.repository import DeliveryRepository

    _register(api_on, "m-a")
    _register(api_on, "m-b")
    token = {"platform": "android", "token": "fcm-shared-token-0123456789"}
    a = api_on.post("/me/devices", role="member", sub="m-a", body=token)
    b = api_on.post("/me/devices", role="member", sub="m-b", body=token)
    assert a.status_code == b.status_code == 201, (a.json, b.json)
    assert a.json["device_id"] == b.json["device_id"]
    assert api_on.get("/me/devices", role="member", sub="m-a").json == []
    assert [d["device_id"] for d in api_on.get("/me/devices", role="member",
                                               sub="m-b").json] == [b.json["device_id"]]
    # The previous holder can no longer remove (or reach) it; the delivery side agrees.
    assert api_on.delete(f"/me/devices/{a.json['device_id']}", role="member",
                         sub="m-a").status_code == 404
    repo = DeliveryRepository()
    assert repo.devices("m-a") == []
    assert [d["token"] for d in repo.devices("m-b")] == [token["token"]]
    # Registering again on the same member is a refresh, not a second device.
    assert api_on.post("/me/devices", role="member", sub="m-b", body=token).status_code == 201
    assert len(api_on.get("/me/devices", role="member", sub="m-b").json) == 1
    # The push channel finds the new holder's device and sends to it; the old holder has none.
    msg = Rendered(title="t", body="b", deep_link=None, campaign_id="c", occurrence="o",
                   locale="zh-CN")
    push = PushChannel(repo)
    sent = push.send({"member_id": "m-b"}, msg, "d-1")
    assert sent.ok and sent.extra == {"devices": 1, "disabled": 0}, sent
    assert push.send({"member_id": "m-a"}, msg, "d-2").detail == "no_device"
    # And it moves back.
    assert api_on.post("/me/devices", role="member", sub="m-a", body=token).status_code == 201
    assert repo.devices("m-b") == [] and len(repo.devices("m-a")) == 1
    assert api_on.delete(f"/me/devices/{a.json['device_id']}", role="member",
                         sub="m-a").status_code == 204
    assert repo.devices("m-a") == []

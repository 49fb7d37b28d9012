from __future__ import annotations

NEW = {"member_id": "m-1", "name": "Li Lei", "phone": "+8613800138000", "email": "li@example.com",
       "birthday": "1990-02-28", "timezone": "Asia/Shanghai", "locale": "zh-CN", "city": "Shanghai",
       "gender": "male", "tags": ["vip"], "attributes": {"channel": "wechat", "score": 3},
       "consent": {"push": True, "sms": False, "email": True}}


def test_service_registers_member_and_member_reads_it_back(api):
    r = api.post("/members", role="service", body=NEW)
    assert r.status_code == 201, r.json
    assert r.json["member_id"] == "m-1"
    me = api.get("/me", role="member", sub="m-1")
    assert me.status_code == 200
    assert me.json["name"] == "Li Lei" and me.json["consent"]["push"] is True

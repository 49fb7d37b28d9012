"""Referrals (老带新) over HTTP on both engines: codes, sign-ups and their reasons, the first
order's window, a refund inside it reversing, rewards exactly once, stats and masking."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.loyalty_support import order, program

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
REFERRALS = {"enabled": True, "share_url": "https://m.example.cn/r/{code}",
             "referrer_reward": {"points": 500}, "referee_reward": {"points": 300},
             "refund_window_days": 7, "monthly_cap": 5, "new_member_hours": 72}


@pytest.fixture
def club(api_on):
    from chalicelib.services import clock

    clock.freeze(T0)
    body = program(referrals=REFERRALS)
    assert api_on.put("/admin/program", role="admin", body=body).status_code == 200
    for m, phone in [("m-ref", "+8613800000001"), ("m-new", "+8613800000002"),
                     ("m-new2", "+8613800000003"), ("m-twin", "+8613800000001")]:
        r = api_on.post("/members", role="service", body={"member_id": m, "phone": phone,
                                                          "name": "王小明"})
        assert r.status_code == 201, r.json
    yield api_on
    clock.freeze(None)


def _signup(api, member, code, **kw):
    r = api.post("/referrals/signups", role="service",
                 body={"member_id": member, "referral_code": code, **kw})
    assert r.status_code == 200, r.json
    return r.json


def _event(kind, member, order_id, placed_at=None):
    from chalicelib.services.delivery import events

    e = {"id": f"{kind}-{order_id}", "type": kind, "member_id": member, "order_id": order_id,
         "order": {"id": order_id, "placed_at": placed_at}, "at": placed_at}
    return events.handle(e, active=[])


def test_referral_lifecycle_rewards_once_reverses_on_refund(club):
    from chalicelib.services import clock
    from chalicelib.services.engagement import referral_rewards

    me = club.get("/me/referral", role="member", sub="m-ref").json
    code = me["code"]
    assert len(code) == 8 and me["link"] == f"https://m.example.cn/r/{code}"
    assert club.get("/me/referral", role="member", sub="m-ref").json["code"] == code

    assert _signup(club, "m-new", code.lower())["state"] == "signed_up"
    assert _signup(club, "m-new", code)["state"] == "signed_up"  # a replay, counted once
    assert _signup(club, "m-twin", code)["reason"] == "SELF_REFERRAL"  # same phone
    assert _signup(club, "m-ref", code)["reason"] == "SELF_REFERRAL"
    assert _signup(club, "m-new2", "ZZZZZZZZ")["reason"] == "UNKNOWN_CODE"
    assert _signup(club, "m-new2", code)["state"] == "signed_up"  # a rejection is replaced

    # m-new's first order stays; m-new2's is fully refunded inside the window
    for m, oid in [("m-new", "o-1"), ("m-new2", "o-2")]:
        r = club.post("/orders", role="service", body=order(oid, m, amount=5000))
        assert r.status_code == 201 and r.json["first_order"]
        assert _event("first_order", m, oid, T0.isoformat())["referral_window"] == 1
    assert _event("first_order", "m-new", "o-1", T0.isoformat())["referral_window"] == 0
    assert club.post("/orders/o-2/refunds", role="service",
                     body={"refund_id": "rf-1", "amount": 5000}).status_code == 201
    assert _event("order_refunded", "m-new2", "o-2")["referral_reversed"] == 1

    assert referral_rewards.run_due()["due"] == 0  # the window is still open
    clock.freeze(T0 + timedelta(days=7, minutes=1))
    first = referral_rewards.run_due()
    assert (first["qualified"], first["rewarded"], first["failed"]) == (1, 1, 0)
    assert referral_rewards.run_due()["due"] == 0  # left the due index
    rec = referral_rewards.repo().record("m-ref", "m-new")
    assert rec is not None and referral_rewards.reward(rec) is False  # a retry: no double

    assert club.get("/me/points", role="member", sub="m-ref").json["available"] == 500
    assert club.get("/me/points", role="member", sub="m-new").json["available"] == 350
    assert club.get("/me/points", role="member", sub="m-new2").json["available"] == 0

    mine = club.get("/me/referrals", role="member", sub="m-ref")
    states = {r["referee"]: (r["state"], r["reason"]) for r in mine.json}
    assert states == {"m-***ew": ("rewarded", None), "m-***w2": ("reversed", None),
                      "m-***in": ("rejected", "SELF_REFERRAL")}
    text = json.dumps(mine.json, ensure_ascii=False)
    assert "m-new" not in text and "+86" not in text and "小明" not in text
    counts = club.get("/me/referral", role="member", sub="m-ref").json
    assert (counts["signups"], counts["rewarded"], counts["reversed"]) == (2, 1, 1)

    stats = club.get("/admin/referrals/stats", role="marketer", sub="mk-1").json
    assert stats["signups"] == 2 and stats["rewarded"] == 1 and stats["reversed"] == 1
    assert stats["rejected_by_reason"] == {"SELF_REFERRAL": 2, "UNKNOWN_CODE": 1}
    assert stats["cost_per_qualified_points"] == 800 and stats["invites"] == 1


def test_not_new_members_and_disabled_are_rejected(club):
    from chalicelib.services import clock

    code = club.get("/me/referral", role="member", sub="m-ref").json["code"]
    club.post("/orders", role="service", body=order("o-9", "m-new2", amount=1000))
    assert _signup(club, "m-new2", code)["reason"] == "NOT_NEW_MEMBER"  # has ordered
    clock.freeze(T0 + timedelta(hours=73))
    assert _signup(club, "m-new", code)["reason"] == "NOT_NEW_MEMBER"  # too long ago
    off = program(referrals={**REFERRALS, "enabled": False})
    assert club.put("/admin/program", role="admin", body=off).status_code == 200
    from chalicelib.services.loyalty import program as programs

    programs.invalidate()
    assert _signup(club, "m-twin", code)["reason"] == "DISABLED"
    assert club.post("/referrals/signups", role="member", sub="m-twin",
                     body={"member_id": "m-twin", "referral_code": code}).status_code == 403

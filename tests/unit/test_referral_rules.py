"""Referral rules (pure): abuse reasons in order, new-member window, codes, masking, cost,
and the stream's refund event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.engagement import referrals as r
from chalicelib.domain.engagement.referrals import Reason, Referrals, SignupFacts

NOW = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
CFG = Referrals.model_validate({"referrer_reward": {"points": 500},
                                "referee_reward": {"coupon_template_id": "tpl-new-10"},
                                "monthly_cap": 2})


def facts(**kw: object) -> SignupFacts:
    base: dict[str, object] = dict(referee_id="m-new", referrer_id="m-ref",
                                   referee_signup_at=NOW - timedelta(hours=1), referee_orders=0)
    return SignupFacts(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(("cfg", "kw", "reason"), [
    (None, {}, Reason.DISABLED),
    (CFG.model_copy(update={"enabled": False}), {}, Reason.DISABLED),
    (CFG, {"referrer_id": None}, Reason.UNKNOWN_CODE),
    (CFG, {"referrer_id": "m-new"}, Reason.SELF_REFERRAL),
    (CFG, {"referee_devices": frozenset({"d1"}), "referrer_devices": frozenset({"d1", "d2"})},
     Reason.SELF_REFERRAL),
    (CFG, {"referee_phone_hash": "h", "referrer_phone_hash": "h"}, Reason.SELF_REFERRAL),
    (CFG, {"referee_orders": 1}, Reason.NOT_NEW_MEMBER),
    (CFG, {"referee_signup_at": NOW - timedelta(hours=73)}, Reason.NOT_NEW_MEMBER),
    (CFG, {"referee_signup_at": None}, Reason.NOT_NEW_MEMBER),
    (CFG, {"referrer_month_count": 2}, Reason.REFERRER_CAP),
    (CFG, {"referrer_month_count": 1, "referee_phone_hash": "a", "referrer_phone_hash": "b"},
     None),
])
def test_signup_rules_give_the_first_reason(cfg, kw, reason):
    assert r.check_signup(cfg, facts(**kw), NOW) == reason


def test_codes_links_masks_windows_and_cost():
    code = r.code_from(bytes(range(8)))
    assert code == "23456789" and all(c in r.ALPHABET for c in r.code_from(b"\xff" * 8))
    assert not set("01OIL") & set(r.ALPHABET)
    assert CFG.link("ABCDEFGH") == "https://m.perks.example/r/ABCDEFGH"
    assert r.mask_id("m-abcdef") == "m-***ef" and r.mask_id("m1") == "**"
    assert r.window_ends(CFG, NOW) == NOW + timedelta(days=7)
    assert r.outcome_after_window(True) == r.State.reversed
    assert r.cost_of((CFG.referrer_reward, CFG.referee_reward), {"tpl-new-10": 1000}) == \
        (500, 1000)
    with pytest.raises(ValueError, match="points and/or coupon_template_id"):
        Referrals.model_validate({"referrer_reward": {}, "referee_reward": {"points": 1}})


def test_a_full_refund_of_an_order_is_an_event_once():
    from chalicelib.adapters.delivery.stream import Change
    from chalicelib.services.delivery.events import events_of

    old = {"order_id": "o-1", "member_id": "m-1", "fully_refunded": False}
    ch = Change("order", "MODIFY", "m-1", {**old, "fully_refunded": True}, old)
    assert [(e["type"], e["id"]) for e in events_of(ch)] == [("order_refunded", "refunded-o-1")]
    again = Change("order", "MODIFY", "m-1", ch.new, ch.new)
    assert events_of(again) == []

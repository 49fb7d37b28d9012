"""Referral sign-ups under concurrency, on moto and on DynamoDB Local: a burst of sign-ups
with one code past the referrer's monthly cap counts exactly ``monthly_cap`` of them; the
rest are stored as REFERRER_CAP rejections; concurrent due-job runs reward once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.engagement.referral_views import ReferralSignup
from chalicelib.services import clock
from chalicelib.services.engagement import referral_rewards, referrals
from tests.integration.test_coupon_concurrency import bulk_members, run_all
from tests.loyalty_support import publish, serialise_moto

T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)
CAP = 3
REFEREES = 10


@pytest.fixture(autouse=True)
def _atomic_moto_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    serialise_moto(monkeypatch)


@pytest.fixture
def stack(engine):
    clock.freeze(T0)
    publish(referrals={"referrer_reward": {"points": 100}, "referee_reward": {"points": 50},
                       "refund_window_days": 1, "monthly_cap": CAP})
    yield engine
    clock.freeze(None)


def test_concurrent_signups_with_one_code_never_pass_the_cap(stack):
    (referrer,) = bulk_members(1, "ref")
    referees = bulk_members(REFEREES, "new")
    from chalicelib.adapters import aws, keys

    for m in referees:  # just signed up
        aws.table().update_item(Key=keys.member_profile(m),
                                UpdateExpression="SET signup_at = :s",
                                ExpressionAttributeValues={":s": clock.iso()})
    code = referrals.my_referral(referrer).code
    got = run_all(lambda m: referrals.signup(
        ReferralSignup(member_id=m, referral_code=code)), referees)
    errors = [g for g in got if isinstance(g, Exception)]
    assert errors == []
    states = sorted((g.state, g.reason) for g in got)
    assert states.count(("signed_up", None)) == CAP
    assert states.count(("rejected", "REFERRER_CAP")) == REFEREES - CAP
    assert referrals.repo().cap_used(referrer, "2026-11") == CAP
    summary = referrals.my_referral(referrer)
    assert (summary.signups, summary.rejected) == (CAP, REFEREES - CAP)

    # every accepted referee orders; after the window two job runs race: rewarded once each
    accepted = [g.referee_id for g in got if g.state == "signed_up"]
    _orders(accepted)
    for m in accepted:
        assert referral_rewards.on_first_order(m, f"o-{m}", T0.isoformat())
    clock.freeze(T0 + timedelta(days=1, seconds=1))
    runs = run_all(lambda _: referral_rewards.run_due(), [0, 1], workers=2)
    assert all(isinstance(r, dict) for r in runs), runs
    assert sum(r["rewarded"] for r in runs) == CAP
    from chalicelib.services.loyalty import loyalty

    assert loyalty.points(referrer).available == 100 * CAP
    stats = referral_rewards.stats()
    assert (stats.rewarded, stats.cost_points) == (CAP, 150 * CAP)
    assert stats.rejected_by_reason == {"REFERRER_CAP": REFEREES - CAP}


def _orders(members: list[str]) -> None:
    """The first orders the job reads back (no refund)."""
    from chalicelib.domain.loyalty.orders import NewOrder
    from chalicelib.services.loyalty import orders
    from tests.loyalty_support import order

    for m in members:
        body = json.dumps(order(f"o-{m}", m, amount=1000))
        orders.record(NewOrder.model_validate_json(body))

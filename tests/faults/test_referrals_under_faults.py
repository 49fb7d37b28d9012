"""The referral reward path under 30 % injected faults (throttling, transaction conflicts,
timeouts and dropped connections after commit, a worker dying right after its commit): the
due job is simply run again until nothing is due. Afterwards (faults paused) each side of
each referral got its points exactly once and the stats count each reward once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.engagement.referral_views import ReferralSignup
from chalicelib.services import clock
from chalicelib.services.engagement import referral_rewards, referrals
from chalicelib.services.loyalty import loyalty
from tests.faults import FaultInjector
from tests.integration.test_coupon_concurrency import bulk_members
from tests.integration.test_referral_concurrency import _orders
from tests.loyalty_support import publish

KINDS = ("throttle", "conflict", "timeout_after_commit", "connection_closed",
         "crash_after_commit")
T0 = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)


def test_referral_rewards_are_exactly_once_under_faults(engine):
    clock.freeze(T0)
    try:
        publish(referrals={"referrer_reward": {"points": 100},
                           "referee_reward": {"points": 50}, "refund_window_days": 1})
        (referrer,) = bulk_members(1, "ref")
        referees = bulk_members(4, "new")
        from chalicelib.adapters import aws, keys

        for m in referees:
            aws.table().update_item(Key=keys.member_profile(m),
                                    UpdateExpression="SET signup_at = :s",
                                    ExpressionAttributeValues={":s": clock.iso()})
        code = referrals.my_referral(referrer).code
        for m in referees:
            referrals.signup(ReferralSignup(member_id=m, referral_code=code))
        _orders(referees)
        before = {m: loyalty.points(m).available for m in referees}
        for m in referees:
            referral_rewards.on_first_order(m, f"o-{m}", T0.isoformat())
        clock.freeze(T0 + timedelta(days=2))
        rounds = 0
        with FaultInjector(ratio=0.3, seed=14, kinds=KINDS, services=("dynamodb",)) as faults:
            while rounds < 40:
                rounds += 1
                try:
                    referral_rewards.run_due(limit=2)
                except BaseException:  # a dead or failed run: run it again
                    continue
                with faults.paused():
                    if not referral_rewards.repo().due(clock.iso(), 1):
                        break
        print(engine, rounds, faults.report())
        assert sum(faults.injected.values()) > 0
        assert loyalty.points(referrer).available == 100 * len(referees)
        assert {m: loyalty.points(m).available - before[m] for m in referees} == \
            dict.fromkeys(referees, 50)
        stats = referral_rewards.stats()
        assert (stats.signups, stats.rewarded, stats.cost_points) == (4, 4, 600)
        entries = loyalty.history(referrer, 50, None).entries
        assert len([e for e in entries if e.reason == "referral"]) == len(referees)
    finally:
        clock.freeze(None)

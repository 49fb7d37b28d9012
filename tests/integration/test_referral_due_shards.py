"""The referral due job's read, on moto and on DynamoDB Local: every due shard gets a fair
share of a run's limit, so one shard full of due (or failing) referrals cannot starve the
others; what the others leave unused goes back to the full shard."""

from __future__ import annotations

from chalicelib.adapters import aws, keys
from chalicelib.services.engagement import referral_rewards

DUE = "2026-11-01T00:00:00.000Z"
NOW = "2026-11-10T00:00:00.000Z"


def _referee_in(shard: int, n: int, prefix: str) -> list[str]:
    out, i = [], 0
    while len(out) < n:
        rid = f"{prefix}-{i}"
        if keys._shard(rid, keys.REFERRAL_DUE_SHARDS) == shard:
            out.append(rid)
        i += 1
    return out


def _due(referee: str, at: str = DUE) -> None:
    aws.table().put_item(Item={**keys.referral("ref-1", referee), "state": "pending",
                               "referrer_id": "ref-1", "referee_id": referee,
                               **keys.referral_due_index("ref-1", referee, at)})


def test_a_crowded_shard_cannot_starve_the_others(engine: str) -> None:
    crowded = _referee_in(0, 40, "busy")
    for i, rid in enumerate(crowded):
        _due(rid, f"2026-10-{1 + i % 28:02d}T00:00:00.000Z")  # all older than the rest
    lonely = [_referee_in(s, 1, f"s{s}")[0] for s in range(1, keys.REFERRAL_DUE_SHARDS)]
    for rid in lonely:
        _due(rid)
    _due(_referee_in(3, 1, "later")[0], "2026-11-20T00:00:00.000Z")  # not due yet

    got = [r["referee_id"] for r in referral_rewards.repo().due(NOW, 16)]
    assert len(got) == 16 and set(lonely) <= set(got)  # every shard had its share
    assert len([g for g in got if g in crowded]) == 16 - len(lonely)  # the rest: the crowd

    turned = [r["referee_id"] for r in referral_rewards.repo().due(NOW, 16, first_shard=5)]
    assert set(lonely) <= set(turned) and len(turned) == 16
    everything = [r["referee_id"] for r in referral_rewards.repo().due(NOW, 100)]
    assert sorted(everything) == sorted(crowded + lonely)  # the not-yet-due one stays out

"""The member index backfill: members written before the audience summary existed (their
PROFILE in the index, LOYALTY without the profile copy) move on their next profile change;
``perks members backfill-summary`` moves them all at once."""

from __future__ import annotations

from chalicelib.services.deps import deps


def backfill_summary(batch: int = 500) -> dict[str, int]:
    """Give every existing member its audience summary on LOYALTY and take PROFILE out of the
    member index (idempotent: members already moved are read and left alone; erased members
    only leave the index). A one-off maintenance run: it lists members with a parallel Scan,
    never on a request or scheduled path."""
    index = deps().member_index
    totals = {"members": 0, "updated": 0, "unchanged": 0, "missing": 0}
    ids: list[str] = []

    def flush() -> None:
        got = index.backfill(ids)
        totals["members"] += len(ids)
        for k, v in got.items():
            totals[k] += v
        ids.clear()

    for member_id in index.all_member_ids():
        ids.append(member_id)
        if len(ids) >= batch:
            flush()
    flush()
    return totals

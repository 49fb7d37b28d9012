"""The member index (GSI3) backfill: members written before the index existed get its
attributes on their next write; ``perks members reindex`` gives them all at once."""

from __future__ import annotations

from chalicelib.adapters.members.index import MemberIndex


def reindex(batch: int = 500) -> dict[str, int]:
    """Put every existing member's PROFILE and LOYALTY into the member index (idempotent:
    the attributes are a pure function of the member id; erased members are left out)."""
    index = MemberIndex()
    members = items = 0
    ids: list[str] = []
    for member_id in index.all_member_ids():
        ids.append(member_id)
        if len(ids) >= batch:
            members, items = members + len(ids), items + index.reindex(ids)
            ids = []
    members, items = members + len(ids), items + index.reindex(ids)
    return {"members": members, "items": items}

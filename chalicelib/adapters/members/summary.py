"""The member's audience summary on its LOYALTY item: the transaction items that keep it.

LOYALTY is the one item per member in the member index (GSI3); audiences read the profile
copy (``profile``) and behaviour facts (``facts``) on it (domain/members/summary.py). The
members repository adds ``summary_item`` to the same transaction as every profile change
that alters the copy (and to registration); ``summary_clear_args`` takes the copy, the facts
and the index entries away on erasure.

Loyalty writes LOYALTY under a version check; the summary bumps the version too, so a points
or order write that read LOYALTY before a profile change retries on the new copy, and an
item first created here is a regular LOYALTY item (version 1, nothing else owned yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import update_args
from chalicelib.domain.members.summary import SUMMARY_ATTRS, summary_of

# Attributes of an index entry that are neither loyalty state nor facts.
BOOKKEEPING = ("PK", "SK", *keys.GSI_ATTRS, "entity", "version", "member_id", "profile")


def summary_item(table_name: str, profile: Mapping[str, Any]) -> dict[str, Any]:
    """Update LOYALTY with the profile copy and the member index entry (created when the
    member has no LOYALTY yet)."""
    member_id = str(profile["member_id"])
    args = update_args(set_={"profile": summary_of(profile), "member_id": member_id,
                             "entity": "loyalty", **keys.member_index(member_id)},
                       add={"version": 1})
    return {"Update": {"TableName": table_name, "Key": keys.member_loyalty(member_id),
                       **args}}


def summary_clear_args() -> dict[str, Any]:
    """Erasure (UpdateItem arguments for LOYALTY): points and tier stay under the
    pseudonymous id; the profile copy, the facts and every index entry go (lots keep their
    expiry index)."""
    return update_args(remove=[*SUMMARY_ATTRS, *keys.GSI_ATTRS], add={"version": 1},
                       condition="attribute_exists(PK)")


def split_summary(item: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """An index entry of LOYALTY → (profile copy, loyalty state or None when it holds none);
    None for an entry without a copy (written before summaries: read the member whole)."""
    copy = item.get("profile")
    if not isinstance(copy, dict) or item.get("SK") != keys.LOYALTY:
        return None
    member_id = copy.get("member_id") or keys.member_of(str(item.get("PK", "")))
    loyalty = {k: v for k, v in item.items() if k not in BOOKKEEPING}
    return {**copy, "member_id": member_id}, loyalty or None

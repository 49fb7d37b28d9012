"""The member's audience summary: the one item per member that audiences read. Pure.

Audiences, broadcasts and preview samples read each member once, from the member index, and
what they read must be on one item: the member's LOYALTY item. It carries, besides points,
tier and order stats, a copy of the profile-level fields audiences and message rendering
read (``profile``) and the behaviour facts (``facts``, see facts.py). The copy is written
in the same transaction as every profile or segmentation change that alters it, and at
registration; never phone, email or device tokens (an SMS campaign reads PROFILE itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# What audience_profile (domain/campaigns/profile.py), the broadcast planner (time zone),
# birthday rules (provenance) and message rendering (name, locale) read of a profile.
SUMMARY_FIELDS = ("member_id", "name", "gender", "birthday", "birthday_set_by",
                  "birthday_set_at", "city", "city_tier", "tags", "attributes", "locale",
                  "timezone", "consent", "signup_at", "created_at")
# Attributes of the LOYALTY item that belong to the summary (erasure removes them).
SUMMARY_ATTRS = ("profile", "facts")


def summary_of(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The profile-level copy kept on LOYALTY (fields without a value are left out)."""
    return {f: profile[f] for f in SUMMARY_FIELDS
            if profile.get(f) is not None and profile.get(f) not in ({}, [])}


def summary_changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether a profile change alters what audiences read (phone, email: never)."""
    return summary_of(before) != summary_of(after)

"""Member facts as the member sees them: GET /me/profile-facts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from chalicelib.domain.campaigns.profile import resolve_city_tier
from chalicelib.domain.members.facts_view import ProfileFacts, explain
from chalicelib.errors import NotFound
from chalicelib.services import clock
from chalicelib.services.deps import deps


def profile_facts(member_id: str) -> ProfileFacts:
    """What Perks knows about the member from its orders and profile, and why (one read)."""
    profile, loyalty = deps().members.profile_and_summary(member_id)
    if profile is None or profile.get("erased"):
        raise NotFound(f"member {member_id} not found")
    today = clock.now().astimezone(ZoneInfo(str(profile.get("timezone") or "UTC"))).date()
    tier = profile.get("city_tier") or resolve_city_tier(profile.get("city"))
    return explain(member_id, profile, loyalty, tier if isinstance(tier, int) else None, today)

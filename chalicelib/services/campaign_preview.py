"""Preview a campaign against the running stack: who, when, what, at what cost.

Audience size comes from a bounded parallel Scan of member profiles (``scan_limit``
profiles at most, 4 segments). This is marketer-triggered preview, never a request or
scheduled path. When the Scan stops at the limit, the size is an estimate: the match rate
of the profiles read x the number of profiles the table holds, itself estimated from
DynamoDB's ItemCount x the share of profile items among the items read; ``audience.exact``
says which it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chalicelib.domain.campaigns import occurrences as occ
from chalicelib.domain.campaigns import templates as tpl
from chalicelib.domain.campaigns.lint import CouponFacts, coupon_facts, lint
from chalicelib.domain.campaigns.model import Birthday, Campaign, Event, Message
from chalicelib.domain.campaigns.preview import project
from chalicelib.domain.campaigns.profile import audience_profile

TemplateLookup = Callable[[str], Mapping[str, Any] | None]
NEXT = 5
PREVIEW_CHARS = 500  # per rendered title/body/link in a preview sample


def next_fires(c: Campaign, at: datetime, tz: str | None = None,
               birthday: str | None = None) -> list[str]:
    """The next fires as ISO strings in ``tz`` (or UTC)."""
    if isinstance(c.trigger, Event):
        return []
    if isinstance(c.trigger, Birthday) and birthday is None:
        return []
    found = occ.campaign_upcoming(c, at, NEXT, member_timezone=tz, birthday=birthday)
    zone = occ.zone(tz) if tz and c.local_time else None
    return [(o.at.astimezone(zone) if zone else o.local).isoformat() for o in found]


def campaign_fires(c: Campaign, at: datetime) -> dict[str, Any]:
    """The next fires in UTC (and the campaign timezone) for the campaign as a whole."""
    t = c.trigger
    if isinstance(t, Event):
        return {"on_event": t.event.value, "utc": [], "note": "fires within seconds of each "
                "event"}
    if isinstance(t, Birthday):
        start = max(at, c.starts_at)
        days = occ.birthdays_due(t, start, start.replace(year=start.year + 1), c.zone)
        shown = [(o, mds) for o, mds in days if c.in_window(o.at)][:NEXT]
        return {"utc": [o.at.isoformat() for o, _ in shown],
                c.timezone: [o.local.isoformat() for o, _ in shown],
                "celebrating": [mds for _, mds in shown],
                "note": "fires every day for that day's celebrants" + (
                    ", at this wall-clock time in each member's timezone" if c.local_time
                    else "")}
    found = occ.campaign_upcoming(c, at, NEXT)
    out: dict[str, Any] = {"utc": [o.at.isoformat() for o in found],
                           c.timezone: [o.local.isoformat() for o in found]}
    if c.local_time:
        out["note"] = f"shown for {c.timezone}; each member gets it at this wall-clock time " \
                      "in their own timezone"
    return out


def _mask(name: Any) -> str:
    return (str(name)[0] + "*" * max(1, len(str(name)) - 1)) if name else ""


def _clipped(rendered: dict[str, Any]) -> dict[str, Any]:
    """A rendered sample with each text cut at PREVIEW_CHARS (marked ``truncated``), so a
    preview of up to 50 samples stays small whatever the templates produce."""
    out = dict(rendered)
    for field in ("title", "body", "deep_link"):
        text = out.get(field)
        if isinstance(text, str) and len(text) > PREVIEW_CHARS:
            out[field] = text[:PREVIEW_CHARS] + "…"
            out["truncated"] = True
    return out


def sample_view(c: Campaign, at: datetime, profile: dict[str, Any],
                loyalty: dict[str, Any] | None, facts: Callable[[str], CouponFacts | None]
                ) -> dict[str, Any]:
    """One sample member: no contact details; the name masked in rendered messages."""
    tz = profile.get("timezone")
    view: dict[str, Any] = {
        "member_id": profile.get("member_id"), "tier": (loyalty or {}).get("tier"),
        "points": (loyalty or {}).get("points"), "timezone": tz, "locale": profile.get("locale"),
        "next": next_fires(c, at, tz, profile.get("birthday")),
    }
    coupon = None
    for a in c.actions:
        if a.type == "issue_coupon":
            f = facts(a.template)
            coupon = {"title": f.title if f else a.template,
                      "expires_at": (f.valid_until(at) or "") if f else "",
                      "value": f.value_minor if f else None}
            break
    masked = {**profile, "name": _mask(profile.get("name"))}
    ctx = tpl.context_for(masked, loyalty, coupon=coupon, campaign_name=c.name,
                          tz=tz or c.timezone)
    messages = [_clipped(tpl.render_message(a, profile.get("locale"), ctx))
                for a in c.actions if isinstance(a, Message)]
    if messages:
        view["messages"] = messages
    return view


def preview_on_stack(c: Campaign, *, at: datetime, samples: int, scan_limit: int,
                     templates: TemplateLookup | None) -> dict[str, Any]:
    from chalicelib.services.campaigns import repo

    today = at.date()
    match = c.matcher

    def matches(profile: dict[str, Any], loyalty: dict[str, Any] | None) -> bool:
        return match(audience_profile(profile, loyalty, today=today))

    scan = repo().scan_members(matches, limit=scan_limit, samples=samples)
    if scan.complete:
        size: float = scan.matched
        audience = {"size": scan.matched, "exact": True, "profiles_read": scan.scanned_profiles}
    else:
        items = repo().table_item_count()
        profiles = items * scan.scanned_profiles / max(1, scan.scanned_items)
        size = profiles * scan.matched / max(1, scan.scanned_profiles)
        audience = {"size": round(size), "exact": False,
                    "profiles_read": scan.scanned_profiles,
                    "matched_in_sample": scan.matched, "estimated_profiles": round(profiles),
                    "method": "match rate of the profiles read x estimated profile count "
                              "(DynamoDB ItemCount x profile share of items read)"}

    def facts(template_id: str) -> CouponFacts | None:
        doc = templates(template_id) if templates else None
        return coupon_facts(template_id, doc) if doc is not None else None

    sample_views = [sample_view(c, at, p, lo, facts) for p, lo in scan.samples]
    zones = sorted({s["timezone"] for s in sample_views if s.get("timezone")})
    fires = campaign_fires(c, at)
    if c.local_time and not isinstance(c.trigger, (Event, Birthday)):
        fires["by_timezone"] = {z: next_fires(c, at, z) for z in zones}
    return {
        "campaign_id": c.id, "at": at.isoformat(), "status": c.status.value,
        "audience": audience, "samples": sample_views, "occurrences": fires,
        "projection": project(c, at=at, audience_size=size, coupons=facts),
        "warnings": lint(c, templates),
    }

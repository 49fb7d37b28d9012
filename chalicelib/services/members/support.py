"""Member support (marketer/admin console): one member's masked picture, every lookup audited.

The view is assembled from the services members already use (profile, loyalty, coupons,
inbox); contact details are masked here, and the audit entry is written before anything is
read, so a lookup that shows data is always on record (GET /admin/audit).
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.domain.members import model as domain
from chalicelib.domain.models import Out
from chalicelib.services import clock
from chalicelib.services.coupons import coupons
from chalicelib.services.delivery import inbox
from chalicelib.services.loyalty import loyalty
from chalicelib.services.members import members

LEDGER_ENTRIES = 20
INBOX_MESSAGES = 20
WALLET_COUPONS = 50


class SupportView(Out):
    """What support sees of a member: masked profile, consent, tier, points, wallet, inbox."""

    member_id: str
    looked_up_at: str
    looked_up_by: str
    profile: dict[str, object]
    consent: dict[str, bool]
    tier: dict[str, object]
    points: dict[str, object]
    ledger: list[dict[str, object]]
    wallet: list[dict[str, object]]
    inbox: list[dict[str, object]]  # titles only, the name masked (no body, no link)
    unread: int


def masked_profile(profile: Mapping[str, object]) -> dict[str, object]:
    """The profile with name, phone, email and birthday masked (tags and city are the
    operator's own segmentation, shown as stored)."""
    text = domain.text_field
    return {"name": domain.mask_name(text(profile, "name")),
            "phone": domain.mask_phone(text(profile, "phone")),
            "email": domain.mask_email(text(profile, "email")),
            "birthday": domain.mask_birthday(text(profile, "birthday")),
            **{k: profile.get(k) for k in ("timezone", "locale", "city", "city_tier", "tags",
                                           "signup_at", "created_at")}}


INBOX_FIELDS = ("message_id", "campaign_id", "created_at", "read", "read_at")


def inbox_line(message: Mapping[str, object], name: str | None) -> dict[str, object]:
    """One inbox message as support sees it: its title with the member's name masked
    (domain.mask_names_in) and when/whether it was read; never the body or the link, which
    may hold what masking cannot know (a nickname, an address, an order)."""
    return {**{k: message.get(k) for k in INBOX_FIELDS},
            "title": domain.mask_names_in(str(message.get("title") or ""), name)}


def lookup(member_id: str, actor: str) -> SupportView:
    """The support view of ``member_id`` (404 when unknown or erased), audited first."""
    profile = members.repo().require(member_id)
    now = clock.iso()
    members.repo().record_lookup(member_id, actor, now, "support")
    masked = masked_profile(profile)
    page = inbox.page(member_id, None, INBOX_MESSAGES)
    messages = [inbox_line(m.model_dump(mode="json"), profile.get("name"))
                for m in page.messages]
    return SupportView(
        member_id=member_id, looked_up_at=now, looked_up_by=actor, profile=masked,
        consent=dict(profile.get("consent") or {"push": False, "sms": False, "email": False}),
        tier=loyalty.tier(member_id).model_dump(mode="json"),
        points=loyalty.points(member_id).model_dump(mode="json"),
        ledger=[e.model_dump(mode="json") for e in
                loyalty.history(member_id, LEDGER_ENTRIES, None).entries],
        wallet=[c.model_dump(mode="json") for c in coupons.wallet(member_id)[:WALLET_COUPONS]],
        inbox=messages, unread=page.unread)

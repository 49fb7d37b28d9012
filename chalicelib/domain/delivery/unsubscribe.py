"""One-click unsubscribe tickets (RFC 8058): what the ``List-Unsubscribe`` URL carries. Pure.

A ticket names a member (by its pseudonymous id, never an address), the channel to stop and
the campaign the message came from, and is signed with HMAC-SHA256 under a server secret, so
nobody can make one for another member::

    v1.<base64url(channel \\x1f member id \\x1f campaign id)>.<base64url(first 16 bytes of the MAC)>

Only the signature makes it trustworthy; the rest is readable (mail clients and providers
log the URL: it holds no personal data). Tickets do not expire: a member may unsubscribe from
a message read a year later. Secrets rotate by listing the new one first (``secrets``): every
listed secret verifies, the first signs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from chalicelib.domain.models import Out

VERSION = "v1"
MAC_BYTES = 16  # 128 bits
MAX_TICKET = 400  # a member id and a campaign id are at most 64 characters each
SEP = "\x1f"
CHANNELS = ("email", "sms", "push")
_TICKET = re.compile(r"^v1\.[A-Za-z0-9_-]{4,340}\.[A-Za-z0-9_-]{22}$")
_DOMAIN = b"perks-unsubscribe-v1\x1f"  # keeps these MACs apart from any other use of the key


@dataclass(frozen=True)
class Ticket:
    channel: str
    member_id: str
    campaign_id: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), _DOMAIN + payload.encode(), hashlib.sha256).digest()
    return _b64(digest[:MAC_BYTES])


def sign(secrets: Sequence[str], ticket: Ticket) -> str:
    """The ticket for ``ticket``'s member, channel and campaign, signed with ``secrets[0]``."""
    if not secrets or not secrets[0]:
        raise ValueError("no unsubscribe secret configured")
    if ticket.channel not in CHANNELS or not ticket.member_id or SEP in ticket.member_id \
            or SEP in ticket.campaign_id:
        raise ValueError("not a ticket Perks issues")
    payload = _b64(SEP.join((ticket.channel, ticket.member_id, ticket.campaign_id)).encode())
    return f"{VERSION}.{payload}.{_mac(secrets[0], payload)}"


def verify(secrets: Sequence[str], text: str) -> Ticket | None:
    """The ticket ``text`` stands for when one of ``secrets`` signed it; None otherwise
    (malformed, altered or signed with an unknown key)."""
    if not text or len(text) > MAX_TICKET or not _TICKET.match(text):
        return None
    _, payload, mac = text.split(".")
    if not any(s and hmac.compare_digest(_mac(s, payload), mac) for s in secrets):
        return None
    try:
        parts = _unb64(payload).decode().split(SEP)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if len(parts) != 3 or parts[0] not in CHANNELS or not parts[1]:
        return None
    return Ticket(parts[0], parts[1], parts[2])


def ticket_in_url(url: str) -> str | None:
    """The ticket at the end of an unsubscribe URL (``https://…/unsubscribe/<ticket>``)."""
    m = re.search(r"/unsubscribe/([A-Za-z0-9._-]+)/?$", url.strip().strip("<>"))
    return m.group(1) if m else None


class UnsubscribeView(Out):
    """What ``/unsubscribe/{ticket}`` answers: ``unsubscribed`` after the POST (also when
    consent was already off or the member is gone: it is idempotent), ``confirm`` to a GET
    of a genuine link (POST it to unsubscribe), ``unknown_link`` otherwise."""

    status: Literal["unsubscribed", "confirm", "unknown_link"]
    channel: str | None = None

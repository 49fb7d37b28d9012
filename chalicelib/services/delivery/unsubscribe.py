"""One-click unsubscribe (RFC 8058): ``POST /unsubscribe/{ticket}`` turns consent off.

The ticket in the email's ``List-Unsubscribe`` URL (see ``domain/delivery/unsubscribe.py``)
is all a mail client sends: no cookie, no token, no body worth reading. A valid ticket turns
its channel's consent off for its member through ``members.consent_events.withdraw``
(audited, idempotent); answering is the same whether consent was on, already off, or the
member is gone, so a repeated POST changes nothing and tells nothing new.
"""

from __future__ import annotations

from chalicelib.config import get_settings
from chalicelib.domain.delivery import unsubscribe as tickets
from chalicelib.domain.delivery.unsubscribe import UnsubscribeView
from chalicelib.services.members import consent_events


def read(ticket: str) -> tickets.Ticket | None:
    """The ticket's member, channel and campaign when it is genuine."""
    return tickets.verify(get_settings().unsubscribe_secrets, ticket)


def unsubscribe(ticket: str) -> UnsubscribeView:
    """Withdraw the ticket's channel consent (the one-click POST)."""
    found = read(ticket)
    if found is None:
        return UnsubscribeView(status="unknown_link")
    consent_events.withdraw(found.member_id, found.channel, source="unsubscribe",
                            campaign_id=found.campaign_id or None)
    return UnsubscribeView(status="unsubscribed", channel=found.channel)

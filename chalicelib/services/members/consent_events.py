"""Consent withdrawn through the channels themselves, audited like an operator's change.

- ``withdraw``: one channel's consent off, with an audit entry in the same transaction
  (who: ``channel:<source>``; the path ``/consent/<channel>``, never an address). Idempotent:
  consent already off, or a member erased or unknown, changes nothing. Withdrawn through a
  campaign's message (``campaign_id``), the same transaction adds the campaign's daily
  ``unsubscribed`` counter (campaign-timezone day, the member's arm): counted exactly once.
- ``sms_reply``: an inbound SMS (SNS, End User Messaging two-way SMS) whose text is an opt-out
  word turns SMS consent off for every member holding the sending number (the phone index).
- ``email_feedback``: an SES bounce or complaint (SNS) for one of our emails turns email
  consent off, for permanent bounces and complaints only. The member is the one named by the
  signed unsubscribe ticket in the email's own ``List-Unsubscribe`` header (SES returns the
  original headers), and only while the bounced address is still that member's address.

Pending outbox entries of the channel are not touched here: the sweeper asks for consent
again before every retry and stops them (``consent_withdrawn``). Nothing here logs a phone
number, an address or the text of a reply.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import NamedItems, retrying
from chalicelib.config import get_settings
from chalicelib.domain.delivery import results, unsubscribe
from chalicelib.domain.members import consent_events as rules
from chalicelib.errors import Conflict
from chalicelib.observability import flush_metrics, logger, metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps

WITHDRAWN, ALREADY, UNKNOWN = "withdrawn", "already", "unknown"


def withdraw(member_id: str, channel: str, *, source: str, campaign_id: str | None = None,
             detail: str | None = None) -> str:
    """Turn ``channel`` consent off (audited). Returns withdrawn | already | unknown."""
    repo = deps().members

    def attempt() -> str:
        profile = repo.get(member_id)
        if profile is None or profile.get("erased"):
            return UNKNOWN
        consent = dict(profile.get("consent") or {})
        if not consent.get(channel):
            return ALREADY
        now = clock.iso()
        after = {**profile, "consent": {**consent, channel: False}}
        audit: dict[str, Any] = {
            "at": now, "who": f"channel:{source}", "entity": "member", "entity_id": member_id,
            "action": "consent", "changes": [{"path": f"/consent/{channel}"}],
            "source": source}
        if campaign_id:
            audit["campaign_id"] = campaign_id
        if detail:
            audit["detail"] = detail[:100]
        counted = _unsubscribe_counter(campaign_id, member_id, now) if campaign_id else []
        repo.replace_audited(profile, after, now, audit, extra=counted)
        return WITHDRAWN

    outcome = str(retrying(attempt, retry_on=(Conflict,)))
    if outcome == WITHDRAWN:
        metrics_add(f"ConsentWithdrawn{channel.capitalize()}")
    return outcome


def _unsubscribe_counter(campaign_id: str, member_id: str, now: str) -> NamedItems:
    """The campaign's daily ``unsubscribed`` counter on ``now``'s day in its timezone, for
    the arm of the member's latest send of it (none when the campaign is gone)."""
    c = deps().campaign_source.get(campaign_id)
    if c is None:
        return []
    day = results.local_day(now, c.timezone)
    arm = results.arm_of(deps().delivery.campaign_sends_of(member_id, campaign_id), campaign_id)
    return deps().delivery.unsubscribe_items(campaign_id, member_id, day, arm)


def _tally(counts: dict[str, int], outcome: str) -> None:
    counts[outcome] = counts.get(outcome, 0) + 1


def sms_reply(message: str | dict[str, Any]) -> dict[str, int]:
    """Handle one inbound SMS (the SNS message body); returns what it did, by outcome."""
    sms = rules.parse_inbound_sms(message)
    counts: dict[str, int] = {}
    if sms is None:
        logger().warning("not an inbound SMS message; ignored")
        _tally(counts, "ignored")
        return counts
    if not rules.is_opt_out(sms.body):
        _tally(counts, "not_opt_out")  # a conversation: nobody reads it here
        return counts
    holders = deps().contacts.members_with_phone(sms.origination)
    for profile in holders:
        _tally(counts, withdraw(str(profile["member_id"]), "sms", source="sms-reply"))
    if not holders:
        _tally(counts, "no_member")
    logger().info("sms opt-out reply", extra={"members": len(holders), **counts})
    return counts


def email_feedback(message: str | dict[str, Any]) -> dict[str, int]:
    """Handle one SES notification (the SNS message body); returns what it did."""
    fb = rules.parse_ses_notification(message)
    counts: dict[str, int] = {}
    if fb is None:
        logger().warning("not an SES notification; ignored")
        _tally(counts, "ignored")
        return counts
    if not fb.withdraws:
        _tally(counts, "kept")  # transient bounce, not-spam feedback, delivery …
        return counts
    ticket = unsubscribe.verify(get_settings().unsubscribe_secrets,
                                unsubscribe.ticket_in_url(fb.unsubscribe_url or "") or "")
    if ticket is None or ticket.channel != "email":
        _tally(counts, "not_ours")  # no (valid) ticket: not an email Perks sent
    else:
        profile = deps().members.get(ticket.member_id)
        address = str((profile or {}).get("email") or "").lower()
        if address and address in fb.recipients:
            _tally(counts, withdraw(ticket.member_id, "email", source=f"email-{fb.kind}",
                                    campaign_id=ticket.campaign_id or None,
                                    detail=fb.detail))
        else:
            _tally(counts, "address_changed")
    logger().info("email feedback", extra={"kind": fb.kind, "detail": fb.detail, **counts})
    return counts


def handle_sms_event(event: dict[str, Any]) -> dict[str, int]:
    """The ``sms-replies`` Lambda: an SNS event (one record)."""
    return _each_sns_record(event, sms_reply)


def handle_email_event(event: dict[str, Any]) -> dict[str, int]:
    """The ``email-feedback`` Lambda: an SNS event (one record)."""
    return _each_sns_record(event, email_feedback)


def _each_sns_record(event: dict[str, Any], handle: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    try:
        for record in event.get("Records") or []:
            for k, v in handle((record.get("Sns") or {}).get("Message") or "").items():
                total[k] = total.get(k, 0) + v
    finally:
        flush_metrics()
    return total


def index_phones(segments: int = 4) -> dict[str, int]:
    """The one-off backfill of the phone index for profiles stored before it existed
    (``perks channels index-phones``; a segmented Scan, never on a request path)."""
    return deps().contacts.backfill_phone_index(max(1, segments))

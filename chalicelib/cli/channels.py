"""Email and the replies members send through the channels, from the command line:

    perks channels emails [--limit N] [--json]    emails the local stack sent (moto's SES)
    perks channels sms-reply --from PHONE --text TD [--direct]
                                                  an inbound SMS as End User Messaging sends it
    perks channels email-feedback --member ID [--complaint | --transient] [--direct]
                                                  an SES bounce (or complaint) of that member's
                                                  address, about an email Perks sent
    perks channels index-phones [--segments N]    one-off: index phones stored before the index

``sms-reply`` and ``email-feedback`` publish to the stack's SNS topics, exactly as AWS would;
the runner of ``make run`` hands them to the ``sms-replies`` / ``email-feedback`` handlers
within seconds. ``--direct`` calls the handler in this process instead (no runner needed).
Phone numbers and addresses are printed masked.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from chalicelib.cli._shared import stack_options, target_stage


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("channels", help="email, SMS replies and SES feedback (local)")
    cmds = p.add_subparsers(dest="channels_command", required=True)
    e = cmds.add_parser("emails", help="emails the local stack sent through moto's SES")
    e.add_argument("--limit", type=int, default=20, help="show the last N (default 20)")
    e.add_argument("--json", action="store_true", help="print JSON lines")
    stack_options(e)
    e.set_defaults(func=emails_cmd)
    s = cmds.add_parser("sms-reply", help="simulate an inbound SMS (two-way SMS → SNS)")
    s.add_argument("--from", dest="phone", required=True, help="the member's phone, E.164")
    s.add_argument("--text", required=True, help="the reply, e.g. TD, 退订, STOP")
    s.add_argument("--direct", action="store_true", help="call the handler here, not via SNS")
    stack_options(s)
    s.set_defaults(func=sms_reply_cmd)
    f = cmds.add_parser("email-feedback", help="simulate an SES bounce or complaint (→ SNS)")
    f.add_argument("--member", required=True, help="the member whose address bounced")
    f.add_argument("--campaign", default="local-test", help="the email's campaign id")
    kind = f.add_mutually_exclusive_group()
    kind.add_argument("--complaint", action="store_true", help="a complaint, not a bounce")
    kind.add_argument("--transient", action="store_true",
                      help="a transient bounce (consent stays on)")
    f.add_argument("--direct", action="store_true", help="call the handler here, not via SNS")
    stack_options(f)
    f.set_defaults(func=email_feedback_cmd)
    i = cmds.add_parser("index-phones", help="put phones stored before the phone index into "
                        "it (once, after upgrading; safe to repeat)")
    i.add_argument("--segments", type=int, default=4, help="parallel Scan segments")
    stack_options(i)
    i.set_defaults(func=index_phones_cmd)


def mask(value: str) -> str:
    """'+8613800138000' → '+861****8000'; 'ada@example.com' → 'a***@example.com'."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return value[:4] + "****" + value[-4:] if len(value) > 8 else "****"


def _publish(topic_name: str, message: dict[str, Any]) -> str:
    from chalicelib.adapters import aws

    sns = aws.client("sns")
    arn = sns.create_topic(Name=topic_name)["TopicArn"]
    return str(sns.publish(TopicArn=arn, Message=json.dumps(message, ensure_ascii=False))[
        "MessageId"])


def sms_reply_cmd(args: argparse.Namespace) -> int:
    target_stage(args)
    from chalicelib.config import get_settings
    from chalicelib.domain.members.consent_events import E164

    if not E164.match(args.phone):
        print("error: --from must be an E.164 number such as +8613800138000", file=sys.stderr)
        return 2
    message = {"originationNumber": args.phone, "destinationNumber": "+8610690000",
               "messageKeyword": args.text.strip().upper()[:20], "messageBody": args.text,
               "inboundMessageId": str(uuid.uuid4()),
               "previousPublishedMessageId": str(uuid.uuid4())}
    return _deliver(args, get_settings().sms_inbound_topic_name, message, "sms",
                    f"SMS from {mask(args.phone)}")


def ses_event(member_id: str, address: str, campaign_id: str, kind: str,
              transient: bool = False) -> dict[str, Any]:
    """An SES event-publishing record (eventType Bounce or Complaint) about an email Perks
    sent to ``address``: its headers carry the member's List-Unsubscribe URL."""
    from chalicelib.adapters.delivery.email import unsubscribe_url
    from chalicelib.config import get_settings

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    url = unsubscribe_url(member_id, campaign_id) or ""
    mail = {"timestamp": now, "source": get_settings().email_from,
            "messageId": f"local-{uuid.uuid4()}", "destination": [address],
            "headersTruncated": False,
            "headers": [{"name": "To", "value": address},
                        {"name": "List-Unsubscribe", "value": f"<{url}>"},
                        {"name": "List-Unsubscribe-Post", "value": "List-Unsubscribe=One-Click"}],
            "tags": {"perks-campaign": [campaign_id]}}
    if kind == "complaint":
        return {"eventType": "Complaint", "mail": mail, "complaint": {
            "complainedRecipients": [{"emailAddress": address}], "timestamp": now,
            "feedbackId": f"local-{uuid.uuid4()}", "complaintFeedbackType": "abuse"}}
    return {"eventType": "Bounce", "mail": mail, "bounce": {
        "bounceType": "Transient" if transient else "Permanent",
        "bounceSubType": "MailboxFull" if transient else "General",
        "bouncedRecipients": [{"emailAddress": address, "action": "failed",
                               "status": "4.2.2" if transient else "5.1.1"}],
        "timestamp": now, "feedbackId": f"local-{uuid.uuid4()}"}}


def email_feedback_cmd(args: argparse.Namespace) -> int:
    target_stage(args)
    from chalicelib.config import get_settings
    from chalicelib.errors import NotFound
    from chalicelib.services.members import members

    try:
        address = members.get(args.member).email
    except NotFound:
        print(f"error: no member {args.member}", file=sys.stderr)
        return 1
    if not address:
        print(f"error: member {args.member} has no email address", file=sys.stderr)
        return 1
    kind = "complaint" if args.complaint else "bounce"
    event = ses_event(args.member, address, args.campaign, kind, transient=args.transient)
    what = f"{'transient ' if args.transient else ''}{kind} of {mask(address)}"
    return _deliver(args, get_settings().email_events_topic_name, event, "email", what)


def _deliver(args: argparse.Namespace, topic: str, message: dict[str, Any], kind: str,
             what: str) -> int:
    from chalicelib.services.members import consent_events

    if args.direct:
        handle = consent_events.sms_reply if kind == "sms" else consent_events.email_feedback
        print(f"{what}: {json.dumps(handle(message))}")
        return 0
    mid = _publish(topic, message)
    print(f"{what}: published to {topic} ({mid}); the runner of `make run` hands it to its "
          "handler within seconds")
    return 0


def index_phones_cmd(args: argparse.Namespace) -> int:
    target_stage(args)
    from chalicelib.services.members import consent_events

    print(json.dumps(consent_events.index_phones(args.segments)))
    return 0


# --- emails moto's SES received ---------------------------------------------------------------

def email_entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """moto's /moto-api/data.json → [{to, subject, message_id, unsubscribe}] (masked)."""
    import email
    from email import policy

    out = []
    for raw in data.get("ses", {}).get("RawMessage", []):
        msg = email.message_from_string(str(raw.get("raw_data", "")), policy=policy.default)
        out.append({"to": mask(str(msg.get("To", ""))), "subject": str(msg.get("Subject", "")),
                    "message_id": str(msg.get("X-Perks-Message-Id", "")),
                    "unsubscribe": str(msg.get("List-Unsubscribe", "")).strip("<>")})
    return out


def _ses_data() -> dict[str, Any]:
    from chalicelib.config import get_settings

    endpoint = get_settings().ses_endpoint
    if endpoint:
        import urllib.request

        with urllib.request.urlopen(endpoint.rstrip("/") + "/moto-api/data.json",  # noqa: S310
                                    timeout=60) as resp:
            data: dict[str, Any] = json.loads(resp.read())
            return data
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID][get_settings().region]
    return {"ses": {"RawMessage": [{"raw_data": m.raw_data} for m in backend.sent_messages
                                   if hasattr(m, "raw_data")]}}


def emails_cmd(args: argparse.Namespace) -> int:
    target_stage(args)
    try:
        entries = email_entries(_ses_data())
    except OSError as err:
        print(f"error: cannot read the local SES (is `make run` running?): {err}",
              file=sys.stderr)
        return 1
    entries = entries[-args.limit:] if args.limit else entries
    for entry in entries:
        if args.json:
            print(json.dumps(entry, ensure_ascii=False))
        else:
            print(f"{entry['to']}  {entry['subject']}\n    unsubscribe: {entry['unsubscribe']}")
    if not args.json:
        print(f"{len(entries)} email(s)")
    return 0

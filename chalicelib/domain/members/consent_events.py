"""What members say through the channels themselves, read as consent changes. Pure.

- **SMS replies**: a reply that is an opt-out word (``STOP``, ``TD``, ``T``, ``退订`` …, see
  ``OPT_OUT_WORDS``) withdraws SMS consent. Replies are compared after Unicode NFKC (the
  full-width letters U+FF34 U+FF24 are ``TD``, the ideographic space a space), case folding,
  and trimming of spaces and punctuation at both ends (``"退订。"``, ``" stop! "``); anything
  else in the reply (``"STOP sending me coupons"``) is a message, not an opt-out, and
  changes nothing.
- **Inbound SMS** arrive as an SNS topic message from AWS End User Messaging SMS (two-way
  SMS): JSON with ``originationNumber`` (the member's phone, E.164), ``destinationNumber``,
  ``messageBody`` and ``inboundMessageId``.
- **Email feedback** arrives as an SNS message from Amazon SES (configuration-set event
  publishing, ``eventType``; or identity notifications, ``notificationType``). Permanent
  bounces and complaints withdraw email consent; transient or undetermined bounces (a full
  mailbox, a greylisting server) and ``not-spam`` feedback do not.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

# Carrier-standard English keywords (CTIA: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, plus
# OPTOUT and REVOKE), the Chinese marketing-SMS conventions (回复 TD/T 退订) and 退订 itself.
OPT_OUT_WORDS = frozenset({
    "stop", "stopall", "unsubscribe", "unsub", "cancel", "end", "quit", "optout", "opt-out",
    "revoke", "td", "t", "退订", "退訂", "取消订阅", "取消訂閱", "退订短信", "退訂短信",
})
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_REPLY = 160  # longer replies are conversations, never a keyword


def normalize_reply(text: str) -> str:
    """A reply as compared with the opt-out words: NFKC, case-folded, inner whitespace
    removed, spaces and punctuation trimmed at both ends."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    start, end = 0, len(folded)
    while start < end and _trimmed(folded[start]):
        start += 1
    while end > start and _trimmed(folded[end - 1]):
        end -= 1
    return re.sub(r"\s+", "", folded[start:end])


def _trimmed(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch)[0] in ("P", "Z", "C", "S")


def is_opt_out(text: str | None) -> bool:
    """True when the whole reply is an opt-out word (see the module docstring)."""
    if not text or len(text) > MAX_REPLY:
        return False
    return normalize_reply(text) in OPT_OUT_WORDS


@dataclass(frozen=True)
class InboundSms:
    """One SMS a member sent to our number (phone numbers E.164)."""

    origination: str
    destination: str
    body: str
    message_id: str


def _json_object(message: str | Mapping[str, Any]) -> Mapping[str, Any] | None:
    if isinstance(message, Mapping):
        return message
    try:
        data = json.loads(message)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def parse_inbound_sms(message: str | Mapping[str, Any]) -> InboundSms | None:
    """The SMS in an End User Messaging SNS message, or None when it is not one."""
    data = _json_object(message)
    if data is None:
        return None
    origination = str(data.get("originationNumber") or "")
    body = data.get("messageBody")
    if not E164.match(origination) or not isinstance(body, str):
        return None
    return InboundSms(origination, str(data.get("destinationNumber") or ""), body,
                      str(data.get("inboundMessageId") or ""))


@dataclass(frozen=True)
class EmailFeedback:
    """A bounce or complaint SES reported, and whether it withdraws email consent."""

    kind: str                    # "bounce" | "complaint" | other SES event types, lower-case
    detail: str                  # bounceType/bounceSubType, or the complaint feedback type
    recipients: tuple[str, ...]  # the addresses concerned, lower-case
    withdraws: bool
    unsubscribe_url: str | None  # our List-Unsubscribe URL, from the original headers
    feedback_id: str


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _addresses(entries: Any) -> tuple[str, ...]:
    out = []
    for entry in entries if isinstance(entries, list) else []:
        raw = entry.get("emailAddress") if isinstance(entry, Mapping) else None
        address = parseaddr(str(raw or ""))[1].strip().lower()
        if "@" in address:
            out.append(address)
    return tuple(out)


def _header(mail: Mapping[str, Any], name: str) -> str | None:
    for h in mail.get("headers") or []:
        if isinstance(h, Mapping) and str(h.get("name", "")).lower() == name.lower():
            return str(h.get("value") or "")
    return None


def list_unsubscribe_https(value: str | None) -> str | None:
    """The https URL in a ``List-Unsubscribe`` header value (``<https://…>, <mailto:…>``)."""
    for url in re.findall(r"<([^<>]+)>", value or ""):
        if url.strip().lower().startswith(("https://", "http://")):
            return str(url).strip()
    return None


def parse_ses_notification(message: str | Mapping[str, Any]) -> EmailFeedback | None:
    """The feedback in an SES SNS message, or None when it is not an SES notification."""
    data = _json_object(message)
    if data is None:
        return None
    kind = str(data.get("eventType") or data.get("notificationType") or "").lower()
    mail = data.get("mail")
    if not kind or not isinstance(mail, Mapping):
        return None
    url = list_unsubscribe_https(_header(mail, "List-Unsubscribe"))
    if kind == "bounce":
        b = _mapping(data.get("bounce"))
        btype = str(b.get("bounceType") or "")
        return EmailFeedback(kind, f"{btype}/{b.get('bounceSubType') or ''}",
                             _addresses(b.get("bouncedRecipients")), btype == "Permanent", url,
                             str(b.get("feedbackId") or ""))
    if kind == "complaint":
        c = _mapping(data.get("complaint"))
        ftype = str(c.get("complaintFeedbackType") or "")
        return EmailFeedback(kind, ftype, _addresses(c.get("complainedRecipients")),
                             ftype != "not-spam", url, str(c.get("feedbackId") or ""))
    return EmailFeedback(kind, "", (), False, url, "")

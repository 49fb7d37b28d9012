"""The email channel: Amazon SES (API v2, raw MIME), at least once through the outbox.

Each email is ``multipart/alternative`` (text, then html) in the member's locale, with:

- ``List-Unsubscribe: <https://…/unsubscribe/<ticket>>`` and ``List-Unsubscribe-Post:
  List-Unsubscribe=One-Click`` (RFC 8058): mail clients show an unsubscribe button that POSTs
  to the URL. The ticket is signed (``domain/delivery/unsubscribe.py``) and names the member by
  id, never by address. SES signs the message with the sending domain's DKIM key, which covers
  these headers (Easy DKIM signs every header it finds there);
- the same link in a footer of both bodies (a page with a confirm button, for readers whose
  client shows no button);
- ``X-Perks-Message-Id``: the stable delivery id (``<campaign>:<occurrence>:<member>``), the
  same on every re-send of the outbox entry, and the SES message tag ``perks-campaign``.

The caller (worker, sweeper) checks email consent; this class only sends. Throttling and SES
outages raise (the outbox retries, then dead-letters); a message SES refuses for good fails.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import parseaddr
from typing import Any

from chalicelib.adapters import aws
from chalicelib.adapters.delivery.channels import Channel, Rendered, Result
from chalicelib.config import get_settings
from chalicelib.domain.campaigns.templates import text_as_html
from chalicelib.domain.delivery import unsubscribe

# SES answers that mean "this message will never be accepted": fail it, do not retry.
REFUSED = ("MessageRejected", "BadRequestException", "MailFromDomainNotVerifiedException",
           "NotFoundException", "MessageRejectedException")
_URL_SAFE = re.compile(r"^https?://[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+$")
FOOTER = {"zh": ("不想再收到此类邮件？", "退订"),  # noqa: RUF001 (Chinese punctuation)
          "en": ("Don't want these emails?", "Unsubscribe")}


def unsubscribe_url(member_id: str, campaign_id: str) -> str | None:
    """The one-click URL for a member's email of a campaign; None when no public API URL or
    secret is configured (prod also needs https)."""
    s = get_settings()
    base, secrets = s.public_api_url.rstrip("/"), s.unsubscribe_secrets
    if not base or not secrets or (s.stage == "prod" and not base.startswith("https://")):
        return None
    ticket = unsubscribe.sign(secrets, unsubscribe.Ticket("email", member_id, campaign_id))
    url = f"{base}/unsubscribe/{ticket}"
    return url if _URL_SAFE.match(url) else None


def footer(locale: str, url: str) -> tuple[str, str]:
    """(text, html) of the unsubscribe footer in the message's language."""
    ask, act = FOOTER.get(locale.split("-")[0].lower(), FOOTER["en"])
    return (f"\n\n--\n{ask} {act}: {url}\n",
            f'<p style="font-size:12px;color:#888888">{ask} <a href="{url}">{act}</a></p>')


def with_footer(body_html: str, footer_html: str) -> str:
    """The footer before ``</body>`` when the html has one, else appended."""
    at = body_html.lower().rfind("</body>")
    return body_html + footer_html if at < 0 else body_html[:at] + footer_html + body_html[at:]


def mime(sender: str, to: str, msg: Rendered, delivery_id: str, url: str) -> bytes:
    """The raw message SES sends (CRLF line ends, RFC 2047 headers, 7-bit bodies)."""
    parts = msg.email or {"subject": msg.title, "text": msg.body,
                          "html": text_as_html(msg.body)}
    text_footer, html_footer = footer(msg.locale, url)
    m = EmailMessage(policy=SMTP)
    m["From"] = sender
    m["To"] = to
    m["Subject"] = " ".join(str(parts["subject"]).split())
    m["X-Perks-Message-Id"] = delivery_id
    m.set_content(str(parts["text"]) + text_footer)
    m.add_alternative(with_footer(str(parts["html"]), html_footer), subtype="html")
    m["Content-Language"] = msg.locale  # after the bodies: set_content drops Content-*
    # Written as they are, unfolded (RFC 5322 allows 998 characters a line): the generator
    # would RFC 2047-encode a URL too long to fold, and mail clients would not read it.
    head = (f"List-Unsubscribe: <{url}>\r\n"
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n").encode("ascii")
    return head + m.as_bytes()


class EmailChannel(Channel):
    """SES v2 ``SendEmail`` of a raw MIME message to the member's address."""

    name = "email"

    def reachable(self, member: dict[str, Any]) -> bool:
        return bool(member.get("email"))

    def send(self, member: dict[str, Any], msg: Rendered, delivery_id: str) -> Result:
        from botocore.exceptions import ClientError

        s = get_settings()
        to = str(member.get("email") or "")
        if not to:
            return Result(False, "no_email")
        url = unsubscribe_url(str(member["member_id"]), msg.campaign_id)
        sender = parseaddr(s.email_from)[1]
        if not sender or url is None:
            return Result(False, "email_not_configured")
        args: dict[str, Any] = {
            "FromEmailAddress": s.email_from, "Destination": {"ToAddresses": [to]},
            "Content": {"Raw": {"Data": mime(s.email_from, to, msg, delivery_id, url)}},
            "EmailTags": [{"Name": "perks-campaign", "Value": msg.campaign_id}]}
        if s.email_configuration_set:
            args["ConfigurationSetName"] = s.email_configuration_set
        try:
            out = aws.client("sesv2").send_email(**args)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code", "") in REFUSED:
                return Result(False, "rejected")
            raise
        return Result(True, extra={"ses_message_id": out.get("MessageId")})

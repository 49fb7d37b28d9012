"""Pure pieces of the email channel and of what members answer through the channels:
unsubscribe tickets (signing, rotation, tampering), SMS opt-out words, the End User
Messaging and SES notification parsers, email rendering and the MIME message."""

from __future__ import annotations

import email
import json
from email import policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.delivery import unsubscribe as tickets
from chalicelib.domain.delivery.unsubscribe import Ticket
from chalicelib.domain.members.consent_events import (
    is_opt_out,
    list_unsubscribe_https,
    normalize_reply,
    parse_inbound_sms,
    parse_ses_notification,
)

KEYS = ["new-key-0123456789", "old-key-0123456789"]
member_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}\Z")
campaign_ids = st.from_regex(r"\A[a-z0-9][a-z0-9-]{1,63}\Z")


# --- tickets ------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(member=member_ids, campaign=campaign_ids, channel=st.sampled_from(tickets.CHANNELS))
def test_a_ticket_reads_back_as_what_was_signed(member, campaign, channel):
    ticket = tickets.sign(KEYS, Ticket(channel, member, campaign))
    assert len(ticket) <= tickets.MAX_TICKET
    assert tickets.verify(KEYS, ticket) == Ticket(channel, member, campaign)
    assert tickets.ticket_in_url(f"https://api.example.com/api/unsubscribe/{ticket}") == ticket


@settings(max_examples=300, deadline=None)
@given(member=member_ids, data=st.data())
def test_any_altered_character_makes_a_ticket_unknown(member, data):
    ticket = tickets.sign(KEYS, Ticket("email", member, "d11"))
    i = data.draw(st.integers(0, len(ticket) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    new = data.draw(st.sampled_from([c for c in alphabet if c != ticket[i]]))
    altered = ticket[:i] + new + ticket[i + 1:]
    read = tickets.verify(KEYS, altered)
    assert read is None or tickets.sign(KEYS, read) == altered  # base64 padding bits aside


def test_rotation_signs_with_the_first_key_and_still_reads_the_old_ones():
    old = tickets.sign(KEYS[1:], Ticket("email", "m-1", "d11"))
    assert tickets.verify(KEYS, old) == Ticket("email", "m-1", "d11")
    assert tickets.sign(KEYS, Ticket("email", "m-1", "d11")) != old
    assert tickets.verify(["another-key-0123456"], old) is None
    assert tickets.verify([], old) is None


@pytest.mark.parametrize("text", ["", "v1", "v1..", "v2.bWVt.AAAAAAAAAAAAAAAAAAAAAA",
                                  "v1.bWVt." + "A" * 21, "v1." + "A" * 400 + "." + "A" * 22,
                                  "../../etc/passwd", "v1.bW Vt.AAAAAAAAAAAAAAAAAAAAAA"])
def test_malformed_tickets_are_unknown(text):
    assert tickets.verify(KEYS, text) is None


def test_a_ticket_holds_no_address_and_refuses_what_perks_never_issues():
    ticket = tickets.sign(KEYS, Ticket("email", "m-1", "d11"))
    assert "@" not in ticket and "example" not in ticket
    with pytest.raises(ValueError):
        tickets.sign(KEYS, Ticket("fax", "m-1", "d11"))
    with pytest.raises(ValueError):
        tickets.sign([], Ticket("email", "m-1", "d11"))


# --- SMS opt-out words --------------------------------------------------------------------

@pytest.mark.parametrize("reply", [
    "STOP", " stop ", "Stop!", "TD", "td", "\uff34\uff24", "T", "t\u3002", "退订", " 退订 ",
    "退订\uff01", "UNSUBSCRIBE", "Unsubscribe.", "Opt-Out", "退訂", "\u3000TD\u3000", "取消订阅",
    "STOPALL", "cancel", "T D", "【退订】"])
def test_opt_out_words_in_any_case_width_and_trim(reply):
    assert is_opt_out(reply), normalize_reply(reply)


@pytest.mark.parametrize("reply", [
    "STOP sending me coupons", "TDD", "test", "退订了吗", "好的", "", None, "Y", "0000",
    "stop" * 50, "please stop", "N"])
def test_anything_else_is_a_message_not_an_opt_out(reply):
    assert not is_opt_out(reply)


def test_inbound_sms_as_end_user_messaging_publishes_it():
    body = {"originationNumber": "+8613800138000", "destinationNumber": "+12065550100",
            "messageKeyword": "KEYWORD_123", "messageBody": "TD",
            "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
            "previousPublishedMessageId": "wJ0xmP6GkUpLfAU4zeEodDFtXHF7ahGbkUwjdSpA2Zw="}
    sms = parse_inbound_sms(json.dumps(body))
    assert sms is not None and (sms.origination, sms.body) == ("+8613800138000", "TD")
    assert sms.message_id == "cae173d2-66b9-564c-8309-21f858e9fb84"
    for bad in ("not json", "[]", json.dumps({**body, "originationNumber": "13800138000"}),
                json.dumps({k: v for k, v in body.items() if k != "messageBody"})):
        assert parse_inbound_sms(bad) is None


# --- SES notifications --------------------------------------------------------------------

URL = "https://api.example.com/api/unsubscribe/v1.abc.def"
MAIL = {"messageId": "0100", "destination": ["ada@example.com"],
        "headers": [{"name": "List-Unsubscribe", "value": f"<mailto:u@example.com>, <{URL}>"}]}


@pytest.mark.parametrize(("record", "kind", "withdraws"), [
    ({"eventType": "Bounce", "bounce": {
        "bounceType": "Permanent", "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": "Ada@Example.com"}]}},
     "bounce", True),
    ({"notificationType": "Bounce", "bounce": {"bounceType": "Transient",
                                               "bounceSubType": "MailboxFull",
                                               "bouncedRecipients": [
                                                   {"emailAddress": "ada@example.com"}]}},
     "bounce", False),
    ({"eventType": "Bounce", "bounce": {
        "bounceType": "Undetermined", "bouncedRecipients": [{"emailAddress": "ada@example.com"}]}},
     "bounce", False),
    ({"eventType": "Complaint", "complaint": {"complaintFeedbackType": "abuse",
                                              "complainedRecipients": [
                                                  {"emailAddress": "\"Ada\" <ada@example.com>"}]}},
     "complaint", True),
    ({"notificationType": "Complaint", "complaint": {"complainedRecipients": [
        {"emailAddress": "ada@example.com"}]}}, "complaint", True),
    ({"eventType": "Complaint", "complaint": {"complaintFeedbackType": "not-spam",
                                              "complainedRecipients": [
                                                  {"emailAddress": "ada@example.com"}]}},
     "complaint", False),
    ({"eventType": "Delivery", "delivery": {"recipients": ["ada@example.com"]}}, "delivery",
     False),
])
def test_ses_feedback_withdraws_for_permanent_bounces_and_complaints_only(record, kind,
                                                                          withdraws):
    fb = parse_ses_notification(json.dumps({**record, "mail": MAIL}))
    assert fb is not None and fb.kind == kind and fb.withdraws is withdraws
    assert fb.unsubscribe_url == URL
    if kind != "delivery":
        assert fb.recipients == ("ada@example.com",)


def test_what_is_not_an_ses_notification_is_ignored():
    for message in ("", "[1]", json.dumps({"eventType": "Bounce"}),
                    json.dumps({"Type": "SubscriptionConfirmation"})):
        assert parse_ses_notification(message) is None
    assert list_unsubscribe_https("<mailto:x@example.com>") is None


# --- email rendering and the MIME message ------------------------------------------------

def message(content: dict, channels: tuple[str, ...] = ("email",)):
    from chalicelib.domain.campaigns.validate import parse_campaign

    c = parse_campaign({"id": "d11", "name": "n", "window": {"start": "2026-01-01T00:00:00Z"},
                        "trigger": {"type": "once", "at": "2026-11-11T10:00:00+08:00"},
                        "actions": [{"type": "message", "channels": list(channels),
                                     "content": {"zh-CN": content}}]})
    return c.actions[0]


def test_email_texts_render_with_an_escaped_html_context():
    from chalicelib.domain.campaigns.templates import context_for, render_message

    msg = message({"title": "t", "body": "b", "email": {
        "subject": "Hi {{ name }}",
        "html": "<p title=\"{{ name }}\">{{ name }} {{ coupon.value | money }}</p>",
        "text": "Hi {{ name }}"}})
    out = render_message(msg, "zh-CN", context_for({"name": "<b>\"Ada\"</b>"}, coupon={
        "value": 2000}))
    assert out["email"] == {"subject": "Hi <b>\"Ada\"</b>", "text": "Hi <b>\"Ada\"</b>",
                            "html": "<p title=\"&lt;b&gt;&quot;Ada&quot;&lt;/b&gt;\">"
                                    "&lt;b&gt;&quot;Ada&quot;&lt;/b&gt; ¥20</p>"}


def test_without_email_texts_an_email_is_the_title_and_the_body():
    from chalicelib.domain.campaigns.templates import context_for, render_message

    out = render_message(message({"title": "Hi {{ name }}", "body": "a < b\nline 2"}),
                         "zh-CN", context_for({"name": "Ada"}))
    assert out["email"] == {"subject": "Hi Ada", "text": "a < b\nline 2",
                            "html": "a &lt; b<br>\nline 2"}
    assert "email" not in render_message(message({"title": "t", "body": "b"}, ("push",)),
                                         "zh-CN", context_for({}))


def test_email_templates_are_checked_like_the_others():
    from typing import Any

    from chalicelib.domain.campaigns.validate import parse_campaign
    from chalicelib.errors import ValidationFailed

    doc: dict[str, Any] = {"id": "d11", "name": "n", "window": {"start": "2026-01-01T00:00:00Z"},
           "trigger": {"type": "once", "at": "2026-11-11T10:00:00+08:00"},
           "actions": [{"type": "message", "channels": ["push", "sms", "inbox", "webhook",
                                                        "email"],
                        "content": {"zh-CN": {"title": "t", "body": "b", "email": {
                            "subject": "s", "html": "{{ name "}}}}]}
    with pytest.raises(ValidationFailed) as e:
        parse_campaign(doc)
    assert [d["path"] for d in e.value.details] == ["/actions/0/content/zh-CN/email/html"]
    doc["actions"][0]["content"]["zh-CN"]["email"]["html"] = "x" * 10_001
    with pytest.raises(ValidationFailed):
        parse_campaign(doc)


def test_the_mime_message_carries_unfolded_one_click_headers(monkeypatch):
    from chalicelib import config
    from chalicelib.adapters.delivery.channels import Rendered
    from chalicelib.adapters.delivery.email import mime, unsubscribe_url

    monkeypatch.setenv("PUBLIC_API_URL", "https://api.example.com/api/")
    config.reset()
    url = unsubscribe_url("m-1", "d11")
    assert url is not None and url.startswith("https://api.example.com/api/unsubscribe/v1.")
    msg = Rendered("标题", "正文", None, "d11", "2026-11-11", "zh-CN",
                   {"subject": "李雷，双十一快乐" * 6, "text": "你好",  # noqa: RUF001
                    "html": "<html><body><p>你好</p></body></html>"})
    raw = mime("Perks 会员 <news@mail.example.com>", "ada@example.com", msg, "d11:x:m-1", url)
    lines = raw.decode("ascii").split("\r\n")
    assert lines[0] == f"List-Unsubscribe: <{url}>"  # one line, never RFC 2047-encoded
    assert lines[1] == "List-Unsubscribe-Post: List-Unsubscribe=One-Click"
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "李雷，双十一快乐" * 6  # noqa: RUF001
    assert parsed["X-Perks-Message-Id"] == "d11:x:m-1" and parsed["Content-Language"] == "zh-CN"
    html_part, text_part = parsed.get_body(("html",)), parsed.get_body(("plain",))
    assert html_part is not None and text_part is not None
    assert html_part.get_content().rstrip().endswith(f'<a href="{url}">退订</a></p></body></html>')
    assert text_part.get_content().rstrip().endswith(url)
    monkeypatch.setenv("PERKS_STAGE", "prod")
    monkeypatch.setenv("PUBLIC_API_URL", "http://api.example.com")
    monkeypatch.setenv("UNSUBSCRIBE_SECRET", "prod-unsubscribe-key-0123")
    config.reset()
    assert unsubscribe_url("m-1", "d11") is None  # prod links are https only
    monkeypatch.setenv("PUBLIC_API_URL", "https://api.example.com")
    monkeypatch.delenv("UNSUBSCRIBE_SECRET")
    config.reset()
    assert unsubscribe_url("m-1", "d11") is None  # and signed with a configured key
    monkeypatch.undo()
    config.reset()

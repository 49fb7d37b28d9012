"""Email end to end: a campaign emails through SES (moto) via the outbox, with RFC 8058
headers; the one-click POST turns email consent off (audited) and the next campaign skips
email; SES bounces and complaints, and SMS opt-out replies, turn consent off too."""

from __future__ import annotations

import email
import json
from email import policy
from typing import Any

import pytest

from chalicelib.adapters import aws
from chalicelib.services.delivery import delivery
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    campaign,
    fast_moto_transactions,
    install,
    sends,
    stats,
    tick_through,
    utc,
)

SENDER = "Perks 会员 <news@mail.example.com>"
QUIET = {"quiet_hours": None, "cap_class": "service"}
EMAIL_MSG = {"type": "message", "channels": ["email", "inbox"], "content": {
    "zh-CN": {"title": "双十一 {{ name }}", "body": "全场满100减20",
              "email": {"subject": "{{ name }}，双十一快乐",  # noqa: RUF001
                        "html": "<html><body><h1>你好 {{ name }}</h1></body></html>",
                        "text": "你好 {{ name }}，全场满100减20"}},  # noqa: RUF001
    "en": {"title": "Singles' Day {{ name }}", "body": "20 off 100"}}}


@pytest.fixture
def ses(engine: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """SES configured like a deployment (sender, public URL), its domain verified in moto."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    from chalicelib import config

    monkeypatch.setenv("EMAIL_FROM", SENDER)
    monkeypatch.setenv("PUBLIC_API_URL", "https://api.example.com/api")
    monkeypatch.setenv("UNSUBSCRIBE_SECRET", "new-unsubscribe-key,old-unsubscribe-key")
    config.reset()
    aws.client("ses").verify_domain_identity(Domain="mail.example.com")
    return ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


def sent(backend: Any) -> list[Any]:
    return [email.message_from_string(m.raw_data, policy=policy.default)
            for m in backend.sent_messages]


def run(campaign_id: str, day: int = 11) -> None:
    install(campaign({"type": "once", "at": f"2026-11-{day}T10:00:00+08:00"}, [EMAIL_MSG],
                     id=campaign_id, delivery=QUIET))
    tick_through(utc(2026, 11, day, 1, 45), utc(2026, 11, day, 2, 0))


def ticket_of(message: Any) -> str:
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<https://api.example.com/api/unsubscribe/v1.")
    return header.strip("<>").rsplit("/", 1)[1]


def test_a_campaign_email_carries_one_click_headers_and_the_post_turns_consent_off(
        ses, api_on):
    add_member("e1", email="ada@example.com", name="李<雷>",
               consent={"push": False, "sms": False, "email": True})
    add_member("e2", email="bob@example.com", consent={"email": False})
    run("d11")
    [msg] = sent(ses)
    assert msg["To"] == "ada@example.com" and msg["Subject"] == "李<雷>，双十一快乐"  # noqa: RUF001
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    occurrence = sends("e1")[0]["SK"].split("#", 2)[2]
    assert msg["X-Perks-Message-Id"] == f"d11:{occurrence}:e1"  # the stable delivery id
    assert "ada@example.com" not in str(msg["List-Unsubscribe"])
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert "<h1>你好 李&lt;雷&gt;</h1>" in html  # placeholders escaped in html
    assert html.index("退订") < html.index("</body>")  # the footer link, inside the body
    assert text.startswith("你好 李<雷>，全场满100减20") and ticket_of(msg) in text  # noqa: RUF001
    [record] = sends("e1")
    assert record["ch_email"] == "sent" and stats("d11")["totals"]["sent"]["email"] == 1
    assert sends("e2")[0]["channels"] == ["inbox"]  # no consent: inbox only

    ticket = ticket_of(msg)
    for _ in range(2):  # the one-click POST, twice: the same answer, one change
        resp = api_on.call("POST", f"/unsubscribe/{ticket}", raw="List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert resp.status_code == 200
        assert resp.json == {"status": "unsubscribed", "channel": "email"}
    assert api_on.get("/me", role="member", sub="e1").json["consent"]["email"] is False
    audit = api_on.get("/admin/audit?entity_id=e1", role="admin").json["items"]
    assert [(a["who"], a["action"], a["changes"], a["details"]["campaign_id"])
            for a in audit] == [
        ("channel:unsubscribe", "consent", [{"path": "/consent/email"}], "d11")]

    run("d12", day=12)  # the next campaign: inbox only, no email
    assert len(ses.sent_messages) == 1
    assert [s["channels"] for s in sends("e1") if s["SK"].startswith("SEND#d12#")] == [
        ["inbox"]]


def test_a_forged_or_altered_ticket_changes_nothing(ses, api_on):
    add_member("e1", email="ada@example.com", consent={"email": True})
    run("d11")
    ticket = ticket_of(sent(ses)[0])
    head, payload, mac = ticket.split(".")
    for bad in (f"{head}.{payload}.{'A' * 22}", f"{head}.{payload[:-2]}AA.{mac}", "nonsense"):
        resp = api_on.call("POST", f"/unsubscribe/{bad}", raw="List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert resp.status_code == 200 and resp.json["status"] == "unknown_link"
    # the footer link: a confirm page for a browser, JSON otherwise; nothing changes
    page = api_on.client.http.get(f"/unsubscribe/{ticket}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'method="post"' in page.body.decode()
    assert page.headers["Content-Type"].startswith("text/html")
    assert api_on.get(f"/unsubscribe/{ticket}").json == {"status": "confirm",
                                                          "channel": "email"}
    assert api_on.get("/unsubscribe/nonsense").json["status"] == "unknown_link"
    assert api_on.get("/me", role="member", sub="e1").json["consent"]["email"] is True


def ses_event(kind: str, message: Any, address: str, **extra: Any) -> str:
    """An SES event-publishing record (as SNS delivers it) about ``message``."""
    mail = {"messageId": "0100-ses", "destination": [address], "headersTruncated": False,
            "headers": [{"name": k, "value": str(v)} for k, v in message.items()],
            "tags": {"perks-campaign": ["d11"]}}
    body = {"bounce": {"bounceType": extra.get("bounce_type", "Permanent"),
                       "bounceSubType": "General", "feedbackId": "fb-1",
                       "bouncedRecipients": [{"emailAddress": address, "status": "5.1.1"}]},
            "complaint": {"complaintFeedbackType": extra.get("feedback", "abuse"),
                          "feedbackId": "fb-2",
                          "complainedRecipients": [{"emailAddress": address}]}}[kind]
    return json.dumps({"eventType": kind.capitalize(), "mail": mail, kind: body})


@pytest.mark.parametrize(("kind", "extra", "withdrawn"), [
    ("bounce", {}, True), ("bounce", {"bounce_type": "Transient"}, False),
    ("complaint", {}, True), ("complaint", {"feedback": "not-spam"}, False)])
def test_permanent_bounces_and_complaints_turn_email_consent_off(ses, kind, extra, withdrawn):
    from chalicelib.services.members import consent_events, members

    add_member("e1", email="ada@example.com", consent={"email": True, "sms": True})
    run("d11")
    msg = sent(ses)[0]
    out = consent_events.email_feedback(ses_event(kind, msg, "Ada@Example.com", **extra))
    assert out == ({"withdrawn": 1} if withdrawn else {"kept": 1})
    consent = members.get("e1").consent
    assert (consent.email, consent.sms) == (not withdrawn, True)


def test_feedback_about_an_address_the_member_no_longer_has_changes_nothing(ses):
    from chalicelib.domain.members.model import MemberPatch
    from chalicelib.services.members import consent_events, members

    add_member("e1", email="ada@example.com", consent={"email": True})
    run("d11")
    msg = sent(ses)[0]
    members.update("e1", MemberPatch.model_validate({"email": "ada@new.example.com"}))
    assert consent_events.email_feedback(ses_event("bounce", msg, "ada@example.com")) == {
        "address_changed": 1}
    assert members.get("e1").consent.email is True
    other = email.message_from_string("To: x@example.com\n\nhi", policy=policy.default)
    assert consent_events.email_feedback(ses_event("bounce", other, "x@example.com")) == {
        "not_ours": 1}


def sms_event(phone: str, text: str) -> dict[str, Any]:
    """An SNS Lambda event carrying an End User Messaging two-way SMS."""
    message = {"originationNumber": phone, "destinationNumber": "+12065550100",
               "messageKeyword": "KEYWORD_123", "messageBody": text,
               "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84"}
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": {
        "Type": "Notification", "MessageId": "95df01b4", "Subject": None,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:perks-test-sms-inbound",
        "Message": json.dumps(message), "Timestamp": "2026-11-11T02:00:00.000Z",
        "SignatureVersion": "1", "Signature": "EXAMPLE", "MessageAttributes": {}}}]}


def test_an_sms_stop_reply_turns_sms_consent_off_for_every_holder_of_the_number(engine):
    from app import app
    from chalicelib.services.members import members

    phone = "+8613800138000"
    add_member("s1", phone=phone, consent={"sms": True, "push": True})
    add_member("s2", phone=phone, consent={"sms": True})
    add_member("s3", phone="+8613900139000", consent={"sms": True})
    handler = app.handler_map["sms-replies"]
    assert handler(sms_event(phone, "谢谢，收到了"), None) == {"not_opt_out": 1}  # noqa: RUF001
    assert members.get("s1").consent.sms is True
    assert handler(sms_event(phone, " ＴＤ。 "), None) == {"withdrawn": 2}  # noqa: RUF001
    assert [members.get(m).consent.sms for m in ("s1", "s2", "s3")] == [False, False, True]
    assert members.get("s1").consent.push is True
    assert handler(sms_event(phone, "退订"), None) == {"already": 2}
    assert handler(sms_event("+8613700137000", "STOP"), None) == {"no_member": 1}


def test_the_phone_index_follows_the_profile_and_never_holds_the_number(engine):
    from chalicelib.adapters.dynamo import plain
    from chalicelib.domain.members.model import MemberPatch
    from chalicelib.services.deps import deps
    from chalicelib.services.members import members

    add_member("s1", phone="+8613800138000", consent={"sms": True})
    contacts = deps().contacts
    assert [p["member_id"] for p in contacts.members_with_phone("+8613800138000")] == ["s1"]
    raw = plain(aws.table().get_item(Key={"PK": "MEMBER#s1", "SK": "PROFILE"})["Item"])
    assert raw["GSI2PK"].startswith("PHONE#") and "13800138000" not in raw["GSI2PK"]
    members.update("s1", MemberPatch.model_validate({"phone": "+8613900139000"}))
    assert contacts.members_with_phone("+8613800138000") == []
    assert [p["member_id"] for p in contacts.members_with_phone("+8613900139000")] == ["s1"]
    members.update("s1", MemberPatch.model_validate({"phone": None}))
    raw = plain(aws.table().get_item(Key={"PK": "MEMBER#s1", "SK": "PROFILE"})["Item"])
    assert "GSI2PK" not in raw and contacts.members_with_phone("+8613900139000") == []


def test_the_backfill_indexes_phones_stored_before_the_index(engine):
    from chalicelib.services.deps import deps

    add_member("s1", phone="+8613800138000")
    add_member("s2")
    aws.table().update_item(Key={"PK": "MEMBER#s1", "SK": "PROFILE"},
                            UpdateExpression="REMOVE GSI2PK, GSI2SK")
    contacts = deps().contacts
    assert contacts.members_with_phone("+8613800138000") == []
    assert contacts.backfill_phone_index(segments=2) == {
        "profiles": 1, "indexed": 1, "present": 0, "changed": 0}
    assert [p["member_id"] for p in contacts.members_with_phone("+8613800138000")] == ["s1"]
    assert contacts.backfill_phone_index(segments=2)["present"] == 1  # again: nothing to do


def test_erasure_takes_the_member_out_of_the_phone_index(engine):
    from chalicelib.services.deps import deps
    from chalicelib.services.members import members

    add_member("s1", phone="+8613800138000", consent={"sms": True})
    members.erase("s1")
    assert deps().contacts.members_with_phone("+8613800138000") == []


def test_sends_stay_pending_for_the_sweeper_when_ses_is_down(ses):
    from botocore.exceptions import ClientError

    from chalicelib.adapters.delivery import email as email_channel

    add_member("e1", email="ada@example.com", consent={"email": True})
    real = aws.client

    class Down:
        def send_email(self, **kw: Any) -> Any:
            raise ClientError({"Error": {"Code": "TooManyRequestsException"}}, "SendEmail")

    with pytest.MonkeyPatch.context() as outage:
        outage.setattr(email_channel.aws, "client",
                       lambda name: Down() if name == "sesv2" else real(name))
        run("d11")
    assert sends("e1")[0]["ch_email"] == "pending" and ses.sent_messages == []
    report = delivery.sweep_outbox(utc(2026, 11, 11, 3, 0))
    assert report["sent"] == 1
    [msg] = sent(ses)
    occurrence = sends("e1")[0]["SK"].split("#", 2)[2]
    assert msg["X-Perks-Message-Id"] == f"d11:{occurrence}:e1"  # the same id on the re-send

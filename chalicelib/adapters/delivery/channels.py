"""Message channels: one small interface, four implementations.

``inbox`` is transactional: its effect (the stored message) is written inside the delivery
transaction, so it happens exactly once. ``push``, ``sms`` and ``webhook`` call the outside
world after the send record and an outbox entry are committed in state ``pending``; the
outbox sweeper re-sends what a crash left pending, so they are at least once. Each carries
the stable delivery id (``<campaign>:<occurrence>:<member>``) so the app or relay can drop
duplicates: push in the data payload (``delivery_id``), SMS as the ``PerksMessageId`` message
attribute, the webhook in ``X-Perks-Delivery-Id``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.adapters import aws
from chalicelib.adapters.delivery.inbox import InboxRepository
from chalicelib.adapters.delivery.repository import DeliveryRepository
from chalicelib.adapters.dynamo import NamedItems
from chalicelib.config import get_settings


@dataclass(frozen=True)
class Rendered:
    """A message rendered for one member in their locale."""

    title: str
    body: str
    deep_link: str | None
    campaign_id: str
    occurrence: str
    locale: str
    email: dict[str, str] | None = None  # {subject, text, html} when email is a channel


@dataclass
class Result:
    ok: bool
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Channel:
    """``items`` for channels written in the delivery transaction, ``send`` for the others."""

    name = ""
    transactional = False

    def reachable(self, member: dict[str, Any]) -> bool:
        return True

    def items(self, member: dict[str, Any], msg: Rendered, at: datetime) -> NamedItems:
        """Named TransactItems of a transactional channel (the worker prefixes the channel)."""
        return []

    def send(self, member: dict[str, Any], msg: Rendered, delivery_id: str) -> Result:
        raise NotImplementedError


class InboxChannel(Channel):
    name = "inbox"
    transactional = True

    def __init__(self, repo: InboxRepository | None = None) -> None:
        self.repo = repo or InboxRepository()

    def items(self, member: dict[str, Any], msg: Rendered, at: datetime) -> NamedItems:
        body = {"title": msg.title, "body": msg.body, "deep_link": msg.deep_link,
                "campaign_id": msg.campaign_id, "occurrence": msg.occurrence}
        return self.repo.message_named(member["member_id"], body, at)


class PushChannel(Channel):
    """SNS mobile push: a platform endpoint per registered device, one publish per device.

    Endpoints are created on first use and remembered on the device item; an endpoint SNS
    reports disabled or invalid is deleted and its device marked disabled.
    """

    name = "push"
    DEAD = ("EndpointDisabled", "InvalidParameter", "NotFound")

    def __init__(self, repo: DeliveryRepository | None = None) -> None:
        self.repo = repo or DeliveryRepository()
        self._app_arn: str | None = None

    def reachable(self, member: dict[str, Any]) -> bool:
        return True  # devices are read at send time; none → failed("no_device")

    def application_arn(self) -> str | None:
        if self._app_arn is None:
            s = get_settings()
            arn = s.push_platform_application_arn
            if not arn and s.stage != "prod":  # local stacks and tests: moto's SNS
                arn = aws.client("sns").create_platform_application(
                    Name=f"perks-{s.stage}-push", Platform="GCM",
                    Attributes={"PlatformCredential": "local-development"},
                )["PlatformApplicationArn"]
            self._app_arn = arn or ""
        return self._app_arn or None

    def endpoint(self, member_id: str, device: dict[str, Any]) -> str:
        arn = device.get("endpoint_arn")
        if arn:
            return str(arn)
        app = self.application_arn()
        assert app is not None
        arn = aws.client("sns").create_platform_endpoint(
            PlatformApplicationArn=app, Token=device["token"],
            CustomUserData=member_id)["EndpointArn"]
        self.repo.update_device(member_id, device["token"], endpoint_arn=arn)
        return str(arn)

    def send(self, member: dict[str, Any], msg: Rendered, delivery_id: str) -> Result:
        from botocore.exceptions import ClientError

        if self.application_arn() is None:
            return Result(False, "push_not_configured")
        member_id = member["member_id"]
        devices = [d for d in self.repo.devices(member_id) if d.get("enabled", True)]
        if not devices:
            return Result(False, "no_device")
        payload = json.dumps({
            "default": msg.body,
            "GCM": json.dumps({"notification": {"title": msg.title, "body": msg.body},
                               "data": {"deep_link": msg.deep_link or "",
                                        "delivery_id": delivery_id}}, ensure_ascii=False),
            "APNS": json.dumps({"aps": {"alert": {"title": msg.title, "body": msg.body}},
                                "deep_link": msg.deep_link or "",
                                "delivery_id": delivery_id}, ensure_ascii=False),
        }, ensure_ascii=False)
        sent, disabled = 0, 0
        for d in devices:
            try:
                arn = self.endpoint(member_id, d)
                aws.client("sns").publish(TargetArn=arn, Message=payload,
                                          MessageStructure="json")
                sent += 1
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                if code not in self.DEAD:
                    raise
                self.disable(member_id, d)
                disabled += 1
        if sent:
            return Result(True, extra={"devices": sent, "disabled": disabled})
        return Result(False, "endpoints_disabled", extra={"disabled": disabled})

    def disable(self, member_id: str, device: dict[str, Any]) -> None:
        from botocore.exceptions import ClientError

        arn = device.get("endpoint_arn")
        if arn:
            with contextlib.suppress(ClientError):  # already gone: disabled either way
                aws.client("sns").delete_endpoint(EndpointArn=arn)
        self.repo.update_device(member_id, device["token"], remove=("endpoint_arn",),
                                enabled=False, disabled_reason="endpoint_invalid")


class SmsChannel(Channel):
    """SNS publish to the member's phone (the caller checks SMS consent)."""

    name = "sms"

    def reachable(self, member: dict[str, Any]) -> bool:
        return bool(member.get("phone"))

    def send(self, member: dict[str, Any], msg: Rendered, delivery_id: str) -> Result:
        phone = member.get("phone")
        if not phone:
            return Result(False, "no_phone")
        text = f"{msg.title}: {msg.body}" if msg.title else msg.body
        aws.client("sns").publish(PhoneNumber=phone, Message=text[:1400], MessageAttributes={
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"},
            # the same on every re-send: the dedupe key of the at-least-once outbox
            "PerksMessageId": {"DataType": "String", "StringValue": delivery_id}})
        return Result(True)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: hex HMAC-SHA256 over ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


Poster = Callable[[str, bytes, dict[str, str], float], int]


def urllib_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    import urllib.error
    import urllib.request

    if not url.startswith(("https://", "http://")):
        raise ValueError("webhook URL must be http(s)")
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


class WebhookChannel(Channel):
    """HTTP POST of JSON to a provider relay (JPush, Getui), signed with HMAC-SHA256.

    Headers: ``X-Perks-Delivery-Id`` (stable across retries, for receiver deduplication),
    ``X-Perks-Timestamp`` and ``X-Perks-Signature: sha256=<hex>``. 2xx is success; 429, 5xx
    and network errors are retried with exponential backoff; other 4xx fail at once.
    """

    name = "webhook"

    def __init__(self, url: str | None = None, secret: str | None = None,
                 post: Poster | None = None, timeout: float = 5.0, attempts: int = 3,
                 backoff: float = 0.5, repo: DeliveryRepository | None = None) -> None:
        s = get_settings()
        self.url = url if url is not None else s.webhook_url
        self.secret = secret if secret is not None else s.webhook_secret
        self.post = post or urllib_post
        self.timeout, self.attempts, self.backoff = timeout, attempts, backoff
        self.repo = repo or DeliveryRepository()

    def send(self, member: dict[str, Any], msg: Rendered, delivery_id: str) -> Result:
        if not self.url or not self.secret:
            return Result(False, "webhook_not_configured")
        devices = [{"platform": d.get("platform"), "token": d.get("token")}
                   for d in self.repo.devices(member["member_id"]) if d.get("enabled", True)]
        body = json.dumps({
            "delivery_id": delivery_id, "member_id": member["member_id"],
            "campaign_id": msg.campaign_id, "occurrence": msg.occurrence, "locale": msg.locale,
            "title": msg.title, "body": msg.body, "deep_link": msg.deep_link,
            "devices": devices}, ensure_ascii=False, separators=(",", ":")).encode()
        last = ""
        for attempt in range(self.attempts):
            ts = str(int(time.time()))
            headers = {"Content-Type": "application/json", "User-Agent": "perks-webhook/1",
                       "X-Perks-Delivery-Id": delivery_id, "X-Perks-Timestamp": ts,
                       "X-Perks-Signature": sign(self.secret, ts, body)}
            try:
                status = self.post(self.url, body, headers, self.timeout)
            except (OSError, ValueError) as e:  # timeouts and connection errors
                status, last = 0, type(e).__name__
            if 200 <= status < 300:
                return Result(True, extra={"attempts": attempt + 1})
            if status and status != 429 and status < 500:
                return Result(False, f"http_{status}")
            last = last if status == 0 else f"http_{status}"
            if attempt + 1 < self.attempts:
                time.sleep(self.backoff * 2**attempt)
        return Result(False, last or "unreachable")


_push: dict[str, PushChannel] = {}


def device_endpoint(member_id: str, token: str) -> str | None:
    """Create (or find: SNS returns the same ARN for the same token) the platform endpoint
    of a device being registered; None when push is not configured or SNS is unreachable
    (the worker then creates it on first send)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.observability import logger

    try:
        # one PushChannel per SNS client: a new client (tests, another stack) forgets the app
        push = _push.setdefault(str(id(aws.client("sns"))), PushChannel())
        app = push.application_arn()
        if app is None:
            return None
        return str(aws.client("sns").create_platform_endpoint(
            PlatformApplicationArn=app, Token=token, CustomUserData=member_id)["EndpointArn"])
    except (ClientError, BotoCoreError) as e:
        logger().warning("push endpoint not created", extra={"error": type(e).__name__})
        return None


def forget_endpoint(arn: str) -> None:
    """Delete a platform endpoint (a token moving to another member); best effort: the
    worker disables endpoints SNS reports dead."""
    from botocore.exceptions import BotoCoreError, ClientError

    with contextlib.suppress(ClientError, BotoCoreError):
        aws.client("sns").delete_endpoint(EndpointArn=arn)


def default_channels(repo: DeliveryRepository | None = None) -> dict[str, Channel]:
    repo = repo or DeliveryRepository()
    return {"inbox": InboxChannel(), "push": PushChannel(repo), "sms": SmsChannel(),
            "webhook": WebhookChannel(repo=repo)}

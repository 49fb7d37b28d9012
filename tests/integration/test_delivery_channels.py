"""Channels: SNS push with platform endpoints, SMS via SNS, signed webhooks with retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from chalicelib.adapters import aws, keys
from chalicelib.adapters.delivery.channels import (
    PushChannel,
    Rendered,
    SmsChannel,
    WebhookChannel,
    sign,
)
from chalicelib.adapters.delivery.repository import DeliveryRepository
from chalicelib.domain.members.model import Device
from chalicelib.services.members import members
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    fast_moto_transactions,
    item,
)

MSG = Rendered("生日快乐", "送你一张券", "perks://wallet", "bday", "2026", "zh-CN")


def sns_backend():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns import sns_backends

    return sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]


@pytest.fixture
def member(moto_stack):
    p = add_member("p1", phone="+8613800138000")
    members.add_device("p1", Device(platform="android", token="tok-android-aaaaaaaa"))
    members.add_device("p1", Device(platform="ios", token="tok-ios-bbbbbbbbbbbb"))
    return p


def test_push_creates_one_endpoint_per_device_and_publishes_to_each(member):
    push = PushChannel(DeliveryRepository())
    res = push.send(member, MSG, "bday:2026:p1")
    assert res.ok and res.extra["devices"] == 2
    endpoints = list(sns_backend().platform_endpoints.values())
    assert len(endpoints) == 2
    for ep in endpoints:
        [body] = ep.messages.values()
        gcm = json.loads(json.loads(body)["GCM"])
        assert gcm["notification"]["title"] == "生日快乐"
    # endpoints are remembered on the device items: a second send creates none
    assert push.send(member, MSG, "x").ok
    assert len(sns_backend().platform_endpoints) == 2
    dev = item(keys.member_device("p1", "tok-ios-bbbbbbbbbbbb"))
    assert dev["endpoint_arn"].startswith("arn:aws:sns:")


def test_endpoints_reported_disabled_are_removed_and_their_device_disabled(member):
    push = PushChannel(DeliveryRepository())
    assert push.send(member, MSG, "first").ok
    dev = item(keys.member_device("p1", "tok-ios-bbbbbbbbbbbb"))
    aws.client("sns").set_endpoint_attributes(EndpointArn=dev["endpoint_arn"],
                                              Attributes={"Enabled": "false"})
    res = push.send(member, MSG, "second")
    assert res.ok and res.extra == {"devices": 1, "disabled": 1}
    dev = item(keys.member_device("p1", "tok-ios-bbbbbbbbbbbb"))
    assert dev["enabled"] is False and "endpoint_arn" not in dev
    assert push.send(member, MSG, "third").extra == {"devices": 1, "disabled": 0}


def test_push_without_devices_fails_cleanly(moto_stack):
    p = add_member("nodev")
    assert PushChannel(DeliveryRepository()).send(p, MSG, "x").detail == "no_device"


def test_sms_goes_to_the_members_phone(member):
    assert SmsChannel().send(member, MSG, "x").ok
    [(phone, text)] = list(sns_backend().sms_messages.values())
    assert phone == "+8613800138000" and text == "生日快乐: 送你一张券"
    assert SmsChannel().send({"member_id": "x"}, MSG, "x").detail == "no_phone"


class Hook(BaseHTTPRequestHandler):
    fail_first = 0
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.seen.append((dict(self.headers), body))
        status = 503 if Hook.fail_first > 0 else 200
        Hook.fail_first -= 1
        self.send_response(status)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def hook_url():
    Hook.seen, Hook.fail_first = [], 0
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/push"
    server.shutdown()


def test_webhook_posts_signed_json_and_retries_server_errors(moto_stack, hook_url):
    add_member("w1")
    Hook.fail_first = 2
    hook = WebhookChannel(url=hook_url, secret="s3cret", backoff=0.01)
    res = hook.send({"member_id": "w1"}, MSG, "bday:2026:w1")
    assert res.ok and res.extra["attempts"] == 3 and len(Hook.seen) == 3
    headers, body = Hook.seen[-1]
    ts = headers["X-Perks-Timestamp"]
    expected = "sha256=" + hmac.new(b"s3cret", ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
    assert headers["X-Perks-Signature"] == expected == sign("s3cret", ts, body)
    assert headers["X-Perks-Delivery-Id"] == "bday:2026:w1"
    assert json.loads(body)["title"] == "生日快乐"


def test_webhook_gives_up_on_client_errors_and_timeouts(moto_stack):
    add_member("w2")
    calls = []

    def post(url, body, headers, timeout):
        calls.append(timeout)
        return 400

    assert WebhookChannel(url="https://x", secret="s", post=post).send(
        {"member_id": "w2"}, MSG, "d").detail == "http_400"
    assert calls == [5.0]

    def slow(url, body, headers, timeout):
        raise TimeoutError("timed out")

    res = WebhookChannel(url="https://x", secret="s", post=slow, backoff=0).send(
        {"member_id": "w2"}, MSG, "d")
    assert not res.ok and res.detail == "TimeoutError"
    assert WebhookChannel(url="", secret="s").send({"member_id": "w2"}, MSG, "d").detail == \
        "webhook_not_configured"

"""Gift fulfilment on moto and on DynamoDB Local: the partner webhook is signed, retried with
backoff and sent once per event; concurrent cancellations return the points once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from chalicelib import bootstrap
from chalicelib.adapters.loyalty.partner import GiftPartner
from chalicelib.errors import Conflict
from chalicelib.services import clock
from chalicelib.services.loyalty import gifts, loyalty
from chalicelib.services.loyalty import program as programs
from tests.loyalty_support import books, join, publish, serialise_moto

T0 = datetime(2026, 3, 10, 4, tzinfo=UTC)
SECRET = "partner-s3cret"


class Partner(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Partner.seen.append((dict(self.headers), body))
        status = 503 if Partner.fail_first > 0 else 200
        Partner.fail_first -= 1
        self.send_response(status)
        self.end_headers()

    def log_message(self, *a: Any) -> None:
        pass


@pytest.fixture
def partner_url() -> Iterator[str]:
    Partner.seen, Partner.fail_first = [], 0
    server = HTTPServer(("127.0.0.1", 0), Partner)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/gifts"
    server.shutdown()
    server.server_close()


@pytest.fixture
def ready(engine: str, monkeypatch: pytest.MonkeyPatch, partner_url: str) -> str:
    serialise_moto(monkeypatch)
    bootstrap.bootstrap(gift_partner=GiftPartner(partner_url, SECRET, timeout=2))
    clock.freeze(T0)
    publish()
    join("m-1")
    loyalty.award("m-1", 500, reason="welcome")
    return engine


def verified(headers: dict[str, str], body: bytes) -> bool:
    t, v1 = (p.split("=", 1)[1] for p in headers["X-Perks-Signature"].split(","))
    want = hmac.new(SECRET.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(v1, want)


def test_the_partner_hears_each_event_once_signed_after_failed_tries(ready: str) -> None:
    fid = loyalty.redeem("m-1", "tote").redemption_id
    Partner.fail_first = 2
    assert gifts.sweep_webhooks(T0) == {"due": 1, "retrying": 1}
    assert gifts.sweep_webhooks(T0 + timedelta(seconds=30)) == {}  # backing off: not due
    assert gifts.sweep_webhooks(T0 + timedelta(minutes=1)) == {"due": 1, "retrying": 1}
    assert gifts.sweep_webhooks(T0 + timedelta(minutes=3)) == {"due": 1, "sent": 1}
    assert gifts.sweep_webhooks(T0 + timedelta(hours=3)) == {}  # sent: out of the index
    assert len(Partner.seen) == 3
    assert {h["Idempotency-Key"] for h, _ in Partner.seen} == {f"{fid}:gift.to_fulfil"}
    assert all(verified(h, b) for h, b in Partner.seen)
    event = json.loads(Partner.seen[-1][1])
    assert (event["event"], event["sku"], event["fulfilment_id"]) == (
        "gift.to_fulfil", "GIFT-TOTE", fid)
    gifts.cancel(fid, "partner out of stock", "ops-1")
    assert gifts.sweep_webhooks(T0 + timedelta(hours=3)) == {"due": 1, "sent": 1}
    headers, body = Partner.seen[-1]
    assert headers["X-Perks-Event"] == "gift.cancelled" and verified(headers, body)
    assert json.loads(body)["cancel_reason"] == "partner out of stock"


def test_a_webhook_is_dead_lettered_after_its_last_try(ready: str) -> None:
    loyalty.redeem("m-1", "tote")
    Partner.fail_first = 100
    outcomes = [gifts.sweep_webhooks(T0 + timedelta(days=i)) for i in range(gifts.HOOK_MAX_TRIES
                                                                           + 1)]
    assert outcomes[-2] == {"due": 1, "dead": 1} and outcomes[-1] == {}
    assert len(Partner.seen) == gifts.HOOK_MAX_TRIES


def test_concurrent_cancellations_return_the_points_and_the_stock_once(ready: str) -> None:
    fid = loyalty.redeem("m-1", "limited").redemption_id  # 10 points, stock 5
    assert loyalty.points("m-1").available == 490
    redeemed = programs.repo().redeemed(["limited"])["limited"]

    def attempt(i: int) -> Any:
        try:
            return gifts.cancel(fid, f"duplicate order {i}", f"ops-{i}")
        except Conflict as e:
            return e

    with ThreadPoolExecutor(max_workers=6) as pool:
        out = list(pool.map(attempt, range(6)))
    won = [o for o in out if not isinstance(o, Exception)]
    assert len(won) == 1 and won[0].points_returned == 10
    assert loyalty.points("m-1").available == 500
    b = books("m-1")
    assert [e["points"] for e in b["ledger"] if e["kind"] == "return"] == [10]
    assert b["ledger_sum"] == b["points"] == b["lots_sum"] == 500
    assert programs.repo().redeemed(["limited"])["limited"] == redeemed - 1

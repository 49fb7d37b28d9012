"""The fulfilment partner's webhook: one signed HTTP POST of JSON per try.

Headers: ``X-Perks-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``,
``Idempotency-Key`` and ``X-Perks-Delivery-Id`` (the same on every retry of one event: the
partner drops duplicates by it), ``X-Perks-Event``. 2xx is done; 408, 429, 5xx and network
errors are retried later by the sweeper (services/loyalty/gifts.py); other 4xx fail at once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from chalicelib.adapters.delivery.channels import Poster, urllib_post


@dataclass(frozen=True)
class Sent:
    ok: bool
    retry: bool  # a failure worth another try later
    detail: str | None = None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class GiftPartner:
    """Posts gift events to the configured partner URL (``GIFT_WEBHOOK_URL``) signed with
    ``GIFT_WEBHOOK_SECRET``; not configured: nothing is owed (``configured`` is False)."""

    def __init__(self, url: str | None = None, secret: str | None = None,
                 post: Poster | None = None, timeout: float = 5.0) -> None:
        from chalicelib.config import get_settings

        s = get_settings()
        self.url = s.gift_webhook_url if url is None else url
        self.secret = s.gift_webhook_secret if secret is None else secret
        self.post = post or urllib_post
        self.timeout = timeout

    @property
    def configured(self) -> bool:
        return bool(self.url and self.secret)

    def send(self, event: str, body: bytes, delivery_id: str) -> Sent:
        if not self.configured:
            return Sent(False, False, "not_configured")
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json", "User-Agent": "perks-gifts/1",
                   "Idempotency-Key": delivery_id, "X-Perks-Delivery-Id": delivery_id,
                   "X-Perks-Event": event, "X-Perks-Signature": signature(self.secret, ts, body)}
        try:
            status = self.post(self.url, body, headers, self.timeout)
        except (OSError, ValueError) as e:  # timeouts, refused connections
            return Sent(False, True, type(e).__name__)
        if 200 <= status < 300:
            return Sent(True, False)
        return Sent(False, status in (408, 429) or status >= 500, f"http_{status}")

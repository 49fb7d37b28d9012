"""Locust scenario for `make load` (bench/load/run.py seeds the data and runs this headless).

Users, weighted like a shop's traffic:
- Shopper (member): claim a coupon, quote a cart, reserve the coupon for an order, confirm it.
- Backend (service): post orders for members (points and tiers).
- Marketer: preview a campaign (audience size, samples, next occurrences, cost).
- Probe: GET /health, the latency baseline every figure is divided by.

Responses 429 count as correct behaviour (throttling with Retry-After) and are tallied apart;
any other non-2xx is an error. Each request is named by its route template.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task

CONFIG: dict[str, Any] = json.loads(Path(os.environ["LOAD_CONFIG"]).read_text()) \
    if os.environ.get("LOAD_CONFIG") else {"tokens": {}, "members": [], "template": "",
                                           "campaign": ""}
THROTTLED = {"count": 0}

CART = {"items": [{"sku": "sku-tea-1", "category": "tea", "quantity": 2, "unit_price": 12_900},
                  {"sku": "sku-cup-2", "category": "ware", "quantity": 1, "unit_price": 5_900}],
        "shipping_fee": 800, "channel": "app", "payment_method": "wechat_pay"}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


class Base(HttpUser):
    abstract = True
    wait_time = between(0.05, 0.2)

    def send(self, method: str, path: str, name: str, token: str, body: Any = None,
             key: bool = False) -> Any:
        headers = _auth(token)
        if key:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        with self.client.request(method, path, name=name, headers=headers,
                                 data=json.dumps(body) if body is not None else None,
                                 catch_response=True) as resp:
            if resp.status_code == 429:
                THROTTLED["count"] += 1
                resp.success()
                return None
            if resp.status_code >= 300:
                resp.failure(f"{resp.status_code} {resp.text[:200]}")
                return None
            resp.success()
            return resp.json() if resp.content else {}


class Shopper(Base):
    weight = 4

    def on_start(self) -> None:
        self.member = random.choice(CONFIG["members"])
        self.token = CONFIG["tokens"]["members"][self.member]

    @task
    def checkout(self) -> None:
        coupon = self.send("POST", "/me/coupons", "/me/coupons [claim]", self.token,
                           {"template_id": CONFIG["template"]}, key=True)
        if not coupon:
            return
        coupon_id = coupon.get("coupon_id") or coupon.get("id")
        self.send("POST", "/checkout/quote", "/checkout/quote", self.token, {"cart": CART})
        order_id = f"o-load-{uuid.uuid4().hex[:16]}"
        held = self.send("POST", "/checkout/reservations", "/checkout/reservations", self.token,
                         {"order_id": order_id, "coupon_ids": [coupon_id], "cart": CART},
                         key=True)
        if held is None:
            return
        self.send("POST", f"/checkout/reservations/{order_id}/confirm",
                  "/checkout/reservations/{order_id}/confirm", self.token, key=True)


class Backend(Base):
    weight = 3

    @task
    def order(self) -> None:
        member = random.choice(CONFIG["members"])
        self.send("POST", "/orders", "/orders", CONFIG["tokens"]["service"], {
            "order_id": f"o-load-{uuid.uuid4().hex[:16]}", "member_id": member,
            "currency": "CNY", "items": CART["items"], "shipping_fee": 800,
            "placed_at": datetime.now(UTC).isoformat()}, key=True)


class Marketer(Base):
    weight = 1
    wait_time = between(0.5, 1.0)

    @task
    def preview(self) -> None:
        self.send("POST", f"/admin/campaigns/{CONFIG['campaign']}/preview",
                  "/admin/campaigns/{campaign_id}/preview", CONFIG["tokens"]["marketer"],
                  {"samples": 5, "scan_limit": 500})


class Probe(HttpUser):
    weight = 2
    wait_time = between(0.05, 0.2)

    @task
    def health(self) -> None:
        self.client.get("/health", name="/health")


@events.quitting.add_listener
def _report_throttled(environment: Any, **_: Any) -> None:
    out = os.environ.get("LOAD_THROTTLED")
    if out:
        with open(out, "w") as f:
            f.write(str(THROTTLED["count"]))

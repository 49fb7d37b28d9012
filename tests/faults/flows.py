"""Setup and read-back helpers the fault flows share (always called with faults paused)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CART = {"items": [{"sku": "sku-f-1", "category": "tea", "quantity": 2, "unit_price": 10_000},
                  {"sku": "sku-f-2", "category": "ware", "quantity": 1, "unit_price": 5_000}],
        "shipping_fee": 0, "channel": "app", "payment_method": "wechat_pay"}


def ok(resp: Any) -> Any:
    assert resp.status_code < 300, (resp.status_code, resp.json)
    return resp.json


def members(api: Any, ids: list[str]) -> None:
    for m in ids:
        r = api.post("/members", role="service", body={"member_id": m, "name": m,
                                                      "timezone": "Asia/Shanghai"})
        assert r.status_code in (201, 409), r.json


def program(api: Any, *, gift_cost: int = 100) -> None:
    """The sample program, points available at once, and an unlimited gift reward."""
    p = json.loads((ROOT / "campaigns" / "program.json").read_text())
    p.pop("$schema", None)
    p["points"]["pending_days"] = 0
    p["earning"].pop("max_points_per_order", None)
    gift = next(r for r in p["rewards"] if r.get("kind") == "gift")
    gift.update(id="fault-gift", cost_points=gift_cost, stock=None, per_member_limit=None,
                min_tier=None)
    gift.pop("available_from", None)
    gift.pop("available_until", None)
    p["rewards"] = [gift]
    ok(api.put("/admin/program", role="marketer", sub="mk-1", body=p))


def template(api: Any, template_id: str, *, stock: int | None = None,
             per_member_claim: int = 100) -> None:
    now = datetime.now(UTC)
    ok(api.put(f"/admin/coupon-templates/{template_id}", role="marketer", sub="mk-1", body={
        "name": f"{template_id}", "benefit": {"type": "no_threshold", "amount": 500},
        "validity": {"starts_at": (now - timedelta(days=1)).isoformat(),
                     "ends_at": (now + timedelta(days=30)).isoformat()},
        "limits": {"stock": stock, "per_member_claim": per_member_claim,
                   "per_member_use": None}}))


def history(api: Any, member: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        path = "/me/points/history?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = ok(api.get(path, role="member", sub=member))
        entries += page["entries"]
        cursor = page.get("next_cursor")
        if not cursor:
            return entries


def order_body(order_id: str, member: str, **extra: Any) -> dict[str, Any]:
    return {"order_id": order_id, "member_id": member, "currency": "CNY",
            "items": [{k: v for k, v in i.items()} for i in CART["items"]],
            "placed_at": datetime.now(UTC).isoformat(), **extra}

"""Stored items ↔ coupon domain values: templates, wallet coupons, API views."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime
from typing import Any

from chalicelib.adapters.coupons.repository import StockShard
from chalicelib.adapters.dynamo import doc_value
from chalicelib.domain.coupons.eligibility import WalletCoupon
from chalicelib.domain.coupons.rules import Rules, snapshot
from chalicelib.domain.coupons.template import CouponTemplate, TemplateView
from chalicelib.domain.coupons.validity import use_period
from chalicelib.domain.models import Out
from chalicelib.services import clock

_lock = threading.Lock()
_templates: dict[tuple[str, int, str], CouponTemplate] = {}
_rules: dict[tuple[str, str], Rules] = {}
CACHE_SIZE = 512


class CouponView(Out):
    """A coupon in a wallet; ``status`` counts a lapsed hold as released."""

    coupon_id: str
    template_id: str
    name: str
    status: str
    valid_from: str
    valid_until: str
    claimed_at: str
    source: str
    benefit: dict[str, Any]
    scope: dict[str, Any] = {}
    stacking: dict[str, Any] = {}
    windows: list[dict[str, Any]] = []
    code: str | None = None
    order_id: str | None = None


def template_view(item: dict[str, Any], shards: list[StockShard] | None = None) -> TemplateView:
    """A stored template (CURRENT item, and its stock shards when read) as the API shows it."""
    remaining = sum(s.remaining for s in shards) if shards is not None else None
    return TemplateView(template_id=item["template_id"], version=int(item["version"]),
                        updated_at=item.get("updated_at", ""),
                        definition=doc_value(item["definition"]),
                        stock=item.get("stock"),
                        remaining=remaining if item.get("stock") is not None else None)


def template_of(item: dict[str, Any]) -> CouponTemplate:
    """The parsed template of a CURRENT item (cached per id and version)."""
    key = (item["template_id"], int(item["version"]), item.get("fingerprint", ""))
    found = _templates.get(key)
    if found is None:
        found = CouponTemplate.model_validate(doc_value(item["definition"]), strict=False)
        with _lock:
            if len(_templates) > CACHE_SIZE:
                _templates.clear()
            _templates[key] = found
    return found


def new_coupon_id() -> str:
    """Time-ordered (the wallet query returns oldest first) and unguessable."""
    ms = int(clock.now().timestamp() * 1000)
    return f"c{ms:011x}{secrets.token_hex(6)}"


def coupon_record(member_id: str, coupon_id: str, template: CouponTemplate,
                  stored: dict[str, Any], issued_at: datetime, source: str,
                  ref: str | None = None, code: str | None = None) -> dict[str, Any]:
    """The wallet item of a coupon issued from the ``stored`` template item."""
    start, end = use_period(template.validity, issued_at)
    return {"entity": "coupon", "coupon_id": coupon_id, "member_id": member_id,
            "template_id": template.template_id, "template_version": int(stored["version"]),
            "template_fp": stored.get("fingerprint"),
            "name": template.name, "source": source, "source_ref": ref, "code": code,
            "rules": snapshot(template), "valid_from": clock.iso(start),
            "valid_until": clock.iso(end), "claimed_at": clock.iso(issued_at),
            "status": "available", "uses": 0}


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def wallet_coupon(item: dict[str, Any]) -> WalletCoupon:
    """The domain view of a stored coupon (its rules snapshot compiled once per version)."""
    snap = item["rules"]
    key = (item["template_id"], item.get("template_fp") or item["coupon_id"])
    rules = _rules.get(key)
    if rules is None:
        rules = Rules.load(snap)
        with _lock:
            if len(_rules) > CACHE_SIZE:
                _rules.clear()
            _rules[key] = rules
    hold = item.get("hold_until")
    return WalletCoupon(item["coupon_id"], item["template_id"], rules, _dt(item["valid_from"]),
                        _dt(item["valid_until"]), item.get("status", "available"),
                        item.get("hold_order"), int(hold) if hold is not None else None)


def coupon_view(item: dict[str, Any], at: datetime) -> CouponView:
    w = wallet_coupon(item)
    state = w.state(at)
    snap = item["rules"]
    order = item.get("used_order") if state == "used" else (
        item.get("hold_order") if state == "reserved" else None)
    return CouponView(coupon_id=w.coupon_id, template_id=w.template_id,
                      name=item.get("name", ""), status=state, valid_from=item["valid_from"],
                      valid_until=item["valid_until"], claimed_at=item.get("claimed_at", ""),
                      source=item.get("source", "claim"), benefit=snap["benefit"],
                      scope=snap.get("scope") or {}, stacking=snap.get("stacking") or {},
                      windows=snap.get("windows") or [], code=item.get("code"), order_id=order)

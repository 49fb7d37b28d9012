"""Saving a coupon template: a new version, history kept, stock shards moved atomically."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from chalicelib.adapters.coupons.repository import CouponRepository, StockPlan, StockShard
from chalicelib.adapters.dynamo import TransactionCancelled, doc_text, doc_value
from chalicelib.domain.campaigns.diff import diff
from chalicelib.domain.coupons.stock import plan_change, split
from chalicelib.domain.coupons.template import (
    TEMPLATE_ID_RE,
    CouponTemplate,
    TemplateView,
    ensure_valid,
    parse_template,
)
from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.coupons.records import template_view
from chalicelib.services.deps import deps


def repo() -> CouponRepository:
    return deps().coupons


def put(template_id: str, t: CouponTemplate, actor: str) -> TemplateView:
    """Create or replace ``template_id`` (409 when changed concurrently or stock too low)."""
    return save(template_id, t, actor)[0]


def save(template_id: str, t: CouponTemplate, actor: str) -> tuple[TemplateView, bool]:
    """``put``, also saying whether this call created the template (PUT answers 201)."""
    if not re.match(TEMPLATE_ID_RE, template_id):
        raise ValidationFailed("invalid template id", details=[
            {"path": "/template_id", "message": "2-63 of a-z, 0-9 and -, starting with a "
             "letter or digit"}])
    ensure_valid(t, template_id)
    t = t.model_copy(update={"template_id": template_id})
    definition = t.definition()
    fingerprint = _fingerprint(definition)
    cur = repo().template(template_id, consistent=True)
    has_stock = cur is not None and cur.get("stock") is not None
    shards = repo().stock(template_id) if has_stock else []
    if cur is not None and _outcome(cur, fingerprint) == "unchanged":
        return template_view(cur, shards if has_stock else None), False
    version = int(cur["version"]) + 1 if cur else 1
    now = clock.iso()
    record = {"entity": "coupon_template", "template_id": template_id, "version": version,
              "definition": doc_text(definition), "fingerprint": fingerprint, "name": t.name,
              "status": t.status, "claimable": t.claimable, "stock": t.limits.stock,
              "shards": t.limits.stock_shards if t.limits.stock is not None else None,
              "updated_at": now, "updated_by": actor}
    try:
        repo().save_template(record, int(cur["version"]) if cur else None,
                             _stock_plan(cur, shards, t), _changes(cur, definition))
    except TransactionCancelled as e:
        raise Conflict("the template was changed concurrently; read it again and retry",
                       details=[{"path": "/", "message": "concurrent change"}]) from e
    metrics_add("CouponTemplateSaved")
    after = repo().stock(template_id) if t.limits.stock is not None else None
    return template_view({**record}, after), cur is None


def _changes(cur: dict[str, Any] | None, definition: dict[str, Any]) -> Any:
    """What the audit entry saved with the version records as changed (the repository
    stores it as text, like the definition: a diff holds the template's own values)."""
    before = doc_value(cur["definition"]) if cur else {}
    return diff(before if isinstance(before, dict) else {}, definition)


def check(template_id: str, raw: Any) -> dict[str, Any]:
    """The editor's "validate": PUT's validation with nothing stored. Errors raise
    ValidationFailed with every JSON path (400, as PUT answers); a valid template answers
    ``valid`` and what saving it would do (created / updated / unchanged)."""
    t = parse_template(raw, template_id)
    return {"valid": True, "errors": [], "warnings": [], "result": plan(template_id, t)}


def _fingerprint(definition: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()


def _outcome(cur: dict[str, Any] | None, fingerprint: str) -> str:
    """created / updated / unchanged: what saving a definition with ``fingerprint`` does.

    A definition stored as a map (before definitions were stored as text) may have lost
    its nulls, so it counts as changed once and is rewritten as text."""
    if cur is None:
        return "created"
    same = cur.get("fingerprint") == fingerprint and isinstance(cur.get("definition"), str)
    return "unchanged" if same else "updated"


def plan(template_id: str, t: CouponTemplate) -> str:
    """What ``put`` would do with ``t`` (created / updated / unchanged), writing nothing."""
    ensure_valid(t, template_id)
    definition = t.model_copy(update={"template_id": template_id}).definition()
    return _outcome(repo().template(template_id, consistent=True), _fingerprint(definition))


def _stock_plan(cur: dict[str, Any] | None, shards: list[StockShard], t: CouponTemplate
                ) -> StockPlan:
    """Shard writes that take the stock from what is stored to what ``t`` says."""
    stock, k = t.limits.stock, t.limits.stock_shards
    old_stock = cur.get("stock") if cur else None
    fresh = tuple(split(stock, k)) if stock is not None else ()
    drop = tuple(s.no for s in shards)
    if old_stock is None:
        return StockPlan(create=fresh)
    if stock is None:
        return StockPlan(delete=drop)
    if len(shards) != k:
        if sum(s.claimed for s in shards):
            raise Conflict("stock_shards cannot change once coupons were claimed", details=[
                {"path": "/limits/stock_shards", "message": f"keep {len(shards)}"}])
        return StockPlan(reset=fresh, delete=drop[k:])
    if stock == old_stock:
        return StockPlan()
    changes = plan_change([s.remaining for s in shards], stock - old_stock)
    return StockPlan(adjust=tuple((n, c) for n, c in enumerate(changes) if c))

"""Shared coupon test data and helpers: templates, members, carts (integration and API)."""

from __future__ import annotations

import copy
from typing import Any

VALIDITY = {"starts_at": "2020-01-01T00:00:00+08:00", "ends_at": "2099-01-01T00:00:00+08:00"}


def template(name: str = "¥10 off", benefit: dict[str, Any] | None = None,
             **fields: Any) -> dict[str, Any]:
    """A template body (PUT /admin/coupon-templates/{id}), valid for decades."""
    body = {"name": name, "benefit": benefit or {"type": "fixed", "amount": 1000},
            "validity": copy.deepcopy(VALIDITY), **fields}
    return body


def cart(*items: tuple[str, str, int, int], shipping_fee: int = 0, **kw: Any) -> dict[str, Any]:
    """(sku, category, quantity, unit_price) tuples → a cart body."""
    return {"items": [{"sku": s, "category": c, "quantity": q, "unit_price": p}
                      for s, c, q, p in items], "shipping_fee": shipping_fee, **kw}


def save_template(template_id: str, body: dict[str, Any], actor: str = "tester") -> Any:
    """Store a template through the service (no HTTP)."""
    from chalicelib.domain.coupons.template import parse_template
    from chalicelib.services.coupons import coupons

    return coupons.put_template(template_id, parse_template(body, template_id), actor)


def register(member_id: str, **profile: Any) -> None:
    """A member profile through the members service."""
    from chalicelib.domain.members.model import NewMember
    from chalicelib.services.members import members

    members.register(NewMember.model_validate({"member_id": member_id, **profile}))


def set_tier(member_id: str, tier: str, orders_count: int = 1) -> None:
    """Write the LOYALTY attributes coupons read (as the loyalty service would)."""
    from chalicelib.adapters import aws, keys

    aws.table().put_item(Item={**keys.member_loyalty(member_id), "tier": tier,
                               "orders_count": orders_count, "version": 1})


def fast_moto_transactions(monkeypatch: Any) -> None:
    """moto backs a TransactWriteItems up by deep-copying the whole table once per item
    (~0.7 s per claim once a test holds a few hundred items). Back up the touched items
    only and put them back on a cancellation (test speed only; same outcome)."""
    import copy
    import types

    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    real = copy.deepcopy

    def deepcopy(x: Any, memo: Any = None) -> Any:
        return x if isinstance(x, Table) else real(x, memo)

    monkeypatch.setattr(models, "copy", types.SimpleNamespace(deepcopy=deepcopy,
                                                               copy=copy.copy))
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table = self.get_table(op["TableName"])
            source = op["Item"] if op_type == "Put" else op["Key"]
            key = {table.hash_key_attr: source[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = source[table.range_key_attr]
            current = self.get_item(op["TableName"], key)
            saved.append((op["TableName"], key,
                          real(current.to_json()["Attributes"]) if current else None))
        try:
            return original(self, transact_items)
        except Exception:
            for name, key, attrs in saved:
                if attrs is None:
                    self.delete_item(name, key)
                else:
                    self.put_item(name, attrs)
            raise

    monkeypatch.setattr(models.DynamoDBBackend, "transact_write_items", transact_write_items)

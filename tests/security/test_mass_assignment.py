"""Mass assignment: no request body can carry a server-owned field.

Every body model (nested ones included) forbids unknown fields, and every POST/PUT/PATCH
endpoint, called by a documented role with server-owned fields in its body, answers 400 and
names each such field by its JSON pointer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.routes import all_routes, fill, route_id

BODY_ROUTES = [r for r in all_routes() if r.body is not None
               and r.method in ("POST", "PUT", "PATCH")]

# Fields only the server sets: balances, tiers, counters, ownership, lifecycle, audit.
SERVER_OWNED: dict[str, Any] = {
    "tier": "platinum", "points": 1_000_000, "balance": 1_000_000, "available": 1_000_000,
    "pending": 0, "lifetime_earned": 1_000_000, "lifetime_spend": 1_000_000,
    "qualifying_spend": 1_000_000, "qualifying_orders": 99, "orders_count": 99,
    "review_at": "2099-01-01T00:00:00Z", "member_id": "m-victim", "sub": "m-victim",
    "owner": "m-victim", "roles": ["admin"], "version": 999, "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z", "created_by": "someone", "erased": False,
    "erased_at": None, "status": "used", "used_at": "2020-01-01T00:00:00Z", "reserved_by": "x",
    "remaining": 1_000_000, "stock_remaining": 1_000_000, "claimed": 0, "issued": 0,
    "uses": 0, "redeemed": 0, "sent": 0, "spent": 0, "budget_used": 0, "PK": "MEMBER#x",
    "SK": "PROFILE", "GSI1PK": "x", "ttl_epoch": 1,
}
# Where a route legitimately takes one of these (the field is part of its documented body
# model) it is skipped automatically; member-role routes must never take a member id.
MEMBER_SCOPED_FORBIDDEN = {"member_id", "sub", "owner"}


def _models(model: Any) -> dict[str, Any]:
    return model.model_json_schema(mode="validation")


def _object_schemas(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                out.append((where, node))
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(schema, "#")
    return out


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
def test_every_body_model_forbids_unknown_fields_at_every_level(route):
    loose = [where for where, node in _object_schemas(_models(route.body))
             if node.get("additionalProperties") is not False]
    assert not loose, f"objects accepting unknown fields: {loose}"


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
def test_server_owned_fields_in_a_body_are_rejected_with_their_paths(shared_api, route):
    declared = set(route.body.model_fields) | {
        f.alias for f in route.body.model_fields.values() if f.alias}
    extra = {k: v for k, v in SERVER_OWNED.items() if k not in declared}
    role = route.roles[0] if route.roles else None
    resp = shared_api.call(route.method, fill(route.path, {"member_id": "m-sec-1"}),
                           role=role, sub="m-sec-1", body=extra)
    assert resp.status_code == 400, resp.json
    paths = {d["path"] for d in resp.json["error"]["details"]}
    missing = sorted(f"/{k}" for k in extra if f"/{k}" not in paths)
    assert not missing, f"not flagged: {missing}"


@pytest.mark.parametrize("route", [r for r in BODY_ROUTES if r.roles == ("member",)],
                         ids=route_id)
def test_member_only_endpoints_take_no_owner_from_the_body(route):
    declared = set(route.body.model_fields)
    assert not declared & MEMBER_SCOPED_FORBIDDEN, \
        "a member's identity comes only from the token's sub"


def test_a_member_cannot_promote_itself_through_custom_attributes(shared_api):
    created = shared_api.post("/members", role="service", body={"member_id": "m-sec-ma"})
    assert created.status_code in (201, 409)
    before = shared_api.get("/me/tier", role="member", sub="m-sec-ma")
    resp = shared_api.patch("/me", role="member", sub="m-sec-ma", body={
        "attributes": {"tier": "platinum", "points": 99999, "lifetime_spend": 10**9}})
    assert resp.status_code in (200, 400)
    after = shared_api.get("/me/tier", role="member", sub="m-sec-ma")
    assert after.status_code == before.status_code
    if before.status_code == 200:
        assert after.json["tier"] == before.json["tier"] != "platinum"
    points = shared_api.get("/me/points", role="member", sub="m-sec-ma")
    if points.status_code == 200:
        assert points.json["available"] == 0


# What audiences and coupon gates read: operators write it (audited), never a member.
SEGMENTATION = {"tags": ["vip"], "attributes": {"vip_level": 9}, "city": "Shanghai",
                "city_tier": 1}


@pytest.mark.parametrize("route", [r for r in BODY_ROUTES if "member" in r.roles],
                         ids=route_id)
def test_member_endpoints_refuse_segmentation_fields_by_path(shared_api, route):
    from chalicelib.domain.members.model import SEGMENTATION_FIELDS

    assert set(SEGMENTATION) == set(SEGMENTATION_FIELDS)
    assert not set(route.body.model_fields) & set(SEGMENTATION_FIELDS)
    resp = shared_api.call(route.method, fill(route.path), role="member", sub="m-sec-1",
                           body=SEGMENTATION)
    assert resp.status_code == 400, resp.json
    paths = {d["path"] for d in resp.json["error"]["details"]}
    assert {f"/{k}" for k in SEGMENTATION} <= paths, paths


def test_segmentation_is_written_only_through_the_operator_endpoint():
    from chalicelib.domain.members.model import SEGMENTATION_FIELDS

    writers = sorted(route_id(r) for r in BODY_ROUTES
                     if set(r.body.model_fields) & set(SEGMENTATION_FIELDS))
    assert writers == ["PATCH /admin/members/{member_id}/segmentation",
                       "POST /members"], writers  # registration: the trusted backend

"""BOLA (broken object-level authorization): member A, holding a valid member token, aims
every member-scoped endpoint at member B's objects — coupon ids, reservation (order) ids,
inbox message ids, reward redemptions, device tokens — and gets 0 successes; B's state is
unchanged afterwards, and nothing of B's shows up in A's own listings.

The world below seeds B's objects through the real API, one seeder per feature; a seeder
whose endpoints do not exist (yet) contributes nothing. Every member-scoped route with a
path parameter must be covered by a seeded id: the coverage test fails otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.security.routes import all_routes, fill, params_of, route_id

ROOT = Path(__file__).resolve().parents[2]

A, B = "m-bola-a", "m-bola-b"
ROUTES = all_routes()
MEMBER_ROUTES = [r for r in ROUTES if "member" in r.roles]


@dataclass
class World:
    api: Any
    ids: dict[str, str] = field(default_factory=dict)  # path param → one of B's ids
    secrets: set[str] = field(default_factory=set)  # B's ids that must never reach A
    snapshots: dict[str, Callable[[], Any]] = field(default_factory=dict)
    # (method, path, body A sends, what it tries, predicate: did A succeed?)
    bodies: list[tuple[str, str, dict[str, Any], str, Callable[[Any], bool]]] = field(
        default_factory=list)
    # Path parameters naming shared objects (catalogue entries) A may use: calling them must
    # still leave B's state alone.
    shared: dict[str, str] = field(default_factory=dict)

    def has(self, method: str, path: str) -> bool:
        return any(r.method == method and r.path == path for r in ROUTES)

    def as_b(self, method: str, path: str, **kw: Any) -> Any:
        return self.api.call(method, path, role="member", sub=B, **kw)

    def own(self, param: str, value: str) -> None:
        self.ids[param] = value
        self.secrets.add(value)


def _marketer() -> str:
    from tests.conftest import token

    return token("marketer", "mk-1")


def _ok(resp: Any) -> Any:
    assert resp.status_code < 300, resp.json
    return resp.json


def seed_members(w: World) -> None:
    for m in (A, B):
        w.api.post("/members", role="service", body={
            "member_id": m, "name": m, "timezone": "Asia/Shanghai", "locale": "zh-CN",
            "consent": {"push": True, "sms": True, "email": True}})
    device = _ok(w.as_b("POST", "/me/devices", body={"platform": "ios",
                                                      "token": "device-of-b-123456"}))
    w.own("device_id", device["device_id"])  # A addresses B's device by its id: 404
    w.secrets.add("device-of-b-123456")
    w.snapshots["B's profile and devices"] = lambda: w.as_b("GET", "/me/export").json


CART = {"items": [{"sku": "sku-bola-1", "category": "tea", "quantity": 2, "unit_price": 10_000}],
        "shipping_fee": 0, "channel": "app"}


def seed_loyalty(w: World) -> None:
    """B earns points on an order and redeems a gift reward (a catalogue object A may use)."""
    if not (w.has("PUT", "/admin/program") and w.has("POST", "/orders")):
        return
    program = json.loads((ROOT / "campaigns" / "program.json").read_text())
    program.pop("$schema", None)
    program["points"]["pending_days"] = 0
    program["rewards"] = [r for r in program["rewards"] if r.get("kind") == "gift"][:1] or []
    if not program["rewards"]:
        return
    program["rewards"][0].update(id="bola-gift", cost_points=100, stock=None,
                                 per_member_limit=None, min_tier=None)
    program["rewards"][0].pop("available_from", None)
    program["rewards"][0].pop("available_until", None)
    _ok(w.api.put("/admin/program", role="marketer", sub="mk-1", body=program))
    from datetime import UTC, datetime

    _ok(w.api.post("/orders", role="service", sub="svc", body={
        "order_id": "o-bola-b-earn", "member_id": B, "currency": "CNY",
        "items": CART["items"], "placed_at": datetime.now(UTC).isoformat()}))
    redemption = _ok(w.as_b("POST", "/me/rewards/bola-gift/redeem"))
    for key in ("redemption_id", "id"):
        if redemption.get(key):
            w.secrets.add(str(redemption[key]))
    w.shared["reward_id"] = "bola-gift"
    w.snapshots["B's points"] = lambda: w.as_b("GET", "/me/points").json
    w.snapshots["B's points history"] = lambda: w.as_b("GET", "/me/points/history").json
    w.snapshots["B's tier"] = lambda: w.as_b("GET", "/me/tier").json


def seed_coupons(w: World) -> None:
    """B claims a coupon and holds it in a reservation for one of its orders."""
    if not (w.has("PUT", "/admin/coupon-templates/{template_id}") and w.has("POST", "/me/coupons")):
        return
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    _ok(w.api.put("/admin/coupon-templates/bola-5-off", role="marketer", sub="mk-1", body={
        "name": "5 off", "benefit": {"type": "no_threshold", "amount": 500},
        "validity": {"starts_at": (now - timedelta(days=1)).isoformat(),
                     "ends_at": (now + timedelta(days=30)).isoformat()},
        "limits": {"per_member_claim": 10}}))
    held = _ok(w.as_b("POST", "/me/coupons", body={"template_id": "bola-5-off"}))
    spare = _ok(w.as_b("POST", "/me/coupons", body={"template_id": "bola-5-off"}))
    held_id, spare_id = held["coupon_id"], spare["coupon_id"]
    w.secrets |= {held_id, spare_id}
    if w.has("POST", "/checkout/reservations"):
        _ok(w.as_b("POST", "/checkout/reservations", body={
            "order_id": "o-bola-b-1", "coupon_ids": [held_id], "cart": CART}))
        w.own("order_id", "o-bola-b-1")
        w.snapshots["B's reservation"] = lambda: w.as_b(
            "GET", "/checkout/reservations/o-bola-b-1").json
        w.bodies.append(("POST", "/checkout/reservations", {
            "order_id": "o-bola-a-1", "coupon_ids": [spare_id], "cart": CART},
            "A reserves B's coupon", lambda r: r.status_code < 300))
        w.bodies.append(("POST", "/checkout/reservations", {
            "order_id": "o-bola-b-1", "coupon_ids": [spare_id], "cart": CART},
            "A reserves under B's order id", lambda r: r.status_code < 300))
        w.bodies.append(("POST", "/checkout/reservations", {
            "order_id": "o-bola-a-2", "member_id": B, "coupon_ids": [spare_id], "cart": CART},
            "A reserves for B by member_id", lambda r: r.status_code < 300))
    w.snapshots["B's wallet"] = lambda: w.as_b("GET", "/me/coupons").json
    if w.has("POST", "/admin/coupon-templates/{template_id}/codes") and w.has(
            "POST", "/me/coupons/codes"):
        batch = _ok(w.api.post("/admin/coupon-templates/bola-5-off/codes", role="marketer",
                               sub="mk-1", body={"count": 2}))
        csv_text = w.api.client.http.request(
            "GET", batch["csv_path"], headers={"Authorization": "Bearer " + _marketer()},
            body=b"").body.decode()
        codes = [line.split(",")[0] for line in csv_text.splitlines()[1:] if line.strip()]
        bound = _ok(w.as_b("POST", "/me/coupons/codes", body={"code": codes[0]}))
        w.secrets.add(bound["coupon_id"])
        w.bodies.append(("POST", "/me/coupons/codes", {"code": codes[0]},
                         "A binds the code B already bound", lambda r: r.status_code < 300))
    if w.has("POST", "/checkout/quote"):
        w.bodies.append(("POST", "/checkout/quote", {"cart": CART, "coupon_ids": [spare_id]},
                         "A's quote applies B's coupon",
                         lambda r: r.status_code < 300 and spare_id in json.dumps(
                             (r.json or {}).get("best") or {})))
        w.bodies.append(("POST", "/checkout/quote", {"member_id": B, "cart": CART},
                         "A quotes B's wallet by member_id", lambda r: r.status_code < 300))


def seed_inbox(w: World) -> None:
    """A message in B's inbox (written the way the delivery worker writes it)."""
    if not w.has("POST", "/me/inbox/{message_id}/read"):
        return
    from datetime import UTC, datetime

    from chalicelib.adapters import aws
    from chalicelib.adapters.delivery.inbox import InboxRepository

    items = InboxRepository().message_items(B, {"title": "for B", "body": "secret"},
                                             datetime.now(UTC))
    aws.table().meta.client.transact_write_items(TransactItems=items)
    page = _ok(w.as_b("GET", "/me/inbox"))
    messages = page.get("messages") or page.get("items") or []
    w.own("message_id", messages[0]["message_id"])
    w.snapshots["B's inbox"] = lambda: w.as_b("GET", "/me/inbox").json
    if w.has("GET", "/me/inbox/unread"):
        w.snapshots["B's unread count"] = lambda: w.as_b("GET", "/me/inbox/unread").json


def seed_draws(w: World) -> None:
    """B enters a lucky draw (a catalogue object A may enter too, with A's own points)."""
    if not (w.has("PUT", "/admin/draws/{draw_id}") and w.has("PUT", "/admin/program")):
        return
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    _ok(w.api.put("/admin/draws/bola-draw", role="marketer", sub="mk-1", body={
        "id": "bola-draw", "name": {"zh": "抽奖"}, "entry": {"cost_points": 1},
        "window": {"opens_at": (now - timedelta(hours=1)).isoformat(),
                   "closes_at": (now + timedelta(days=1)).isoformat()},
        "prizes": [{"id": "thanks", "kind": "none", "weight": 1}]}))
    entry = _ok(w.as_b("POST", "/me/draws/bola-draw/entries"))
    w.secrets.add(str(entry["entry_id"]))
    w.shared["draw_id"] = "bola-draw"
    w.snapshots["B's draw entries"] = lambda: w.as_b("GET", "/me/draws/bola-draw/entries").json


SEEDERS: list[Callable[[World], None]] = [seed_members, seed_loyalty, seed_coupons, seed_inbox,
                                          seed_draws]


@pytest.fixture(scope="module")
def world(shared_api) -> World:
    w = World(shared_api)
    for seed in SEEDERS:
        seed(w)
    return w


VOLATILE = {"exported_at", "generated_at", "as_of", "now"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _snap(w: World) -> dict[str, str]:
    return {k: json.dumps(_stable(f()), sort_keys=True, default=str)
            for k, f in w.snapshots.items()}


def test_every_member_scoped_route_with_an_id_has_a_bola_case(world):
    uncovered = [route_id(r) for r in MEMBER_ROUTES
                 if any(p not in world.ids and p not in world.shared for p in params_of(r.path))]
    assert not uncovered, f"seed B's objects for: {uncovered}"


@pytest.mark.parametrize("route", [r for r in MEMBER_ROUTES if params_of(r.path)],
                         ids=route_id)
def test_a_member_gets_nothing_from_another_members_objects(world, route):
    values = {**world.shared, **world.ids}
    if any(p not in values for p in params_of(route.path)):
        pytest.skip("no seeded id (see the coverage test)")
    owned = any(p in world.ids for p in params_of(route.path))
    before = _snap(world)
    body = {} if route.method in ("POST", "PUT", "PATCH") else None
    resp = world.api.call(route.method, fill(route.path, values), role="member", sub=A,
                          body=body)
    print(f"{route_id(route)} by A on B's: {resp.status_code}")
    after = _snap(world)
    assert after == before, f"{route_id(route)} by A changed B's state ({resp.status_code})"
    if owned:
        assert resp.status_code >= 400, \
            f"A succeeded on B's object: {resp.status_code} {resp.json}"
    text = json.dumps(resp.json or {})
    sent = fill(route.path, values)
    assert not [s for s in world.secrets if s in text and s not in sent], text


@pytest.mark.parametrize("route", [r for r in MEMBER_ROUTES if r.method == "GET"
                                   and not params_of(r.path)], ids=route_id)
def test_a_members_own_listings_hold_nothing_of_another_member(world, route):
    resp = world.api.call("GET", route.path, role="member", sub=A)
    text = json.dumps(resp.json or {})
    leaked = sorted(s for s in world.secrets if s in text)
    assert not leaked, f"{route_id(route)} shows A B's objects: {leaked}"


def test_body_carried_ids_of_another_member_are_refused(world):
    if not world.bodies:
        pytest.skip("no feature takes another member's ids in a body yet")
    before = _snap(world)
    wins = []
    for method, path, body, what, succeeded in world.bodies:
        resp = world.api.call(method, path, role="member", sub=A, body=body)
        print(f"{what}: {resp.status_code} {(resp.json or {}).get('error', {}).get('code')}")
        if succeeded(resp):
            wins.append((what, resp.status_code, resp.json))
    assert _snap(world) == before
    assert not wins, wins

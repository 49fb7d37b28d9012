"""Role matrix: every endpoint by every role. Only the roles of the hand-written golden table
(``GOLDEN_ROLES`` in routes.py, which must list every route) get past authorization; every
other role gets 403, a missing or bad token 401 (GET /health excepted), and no combination
answers 5xx. The routes' own ``roles=`` (what the OpenAPI document publishes) must equal the
golden table, but are never what the matrix expects."""

from __future__ import annotations

import time

import pytest

from tests.security.routes import (
    GOLDEN_ROLES,
    ROLES,
    all_routes,
    fill,
    golden_roles,
    params_of,
    route_id,
)

ROUTES = all_routes()
PUBLIC = {k for k, roles in GOLDEN_ROLES.items() if not roles}
# Endpoints where a documented role may still be refused for a reason other than its role
# (none today); key → why.
DOCUMENTED_BUT_REFUSED: dict[tuple[str, str], str] = {}


def _call(api, route, **kw):
    body = {} if route.method in ("POST", "PUT", "PATCH") else None
    return api.call(route.method, fill(route.path), body=body, sub="m-sec-1", **kw)


def test_the_registry_lists_every_feature_endpoint():
    assert len(ROUTES) >= 10
    assert all(r.roles or (r.method, r.path) in PUBLIC for r in ROUTES), \
        [route_id(r) for r in ROUTES if not r.roles and (r.method, r.path) not in PUBLIC]


def test_the_golden_table_lists_every_route_and_nothing_else():
    registered = {(r.method, r.path) for r in ROUTES}
    assert not registered - set(GOLDEN_ROLES), \
        f"routes without hand-written roles: {sorted(registered - set(GOLDEN_ROLES))}"
    assert not set(GOLDEN_ROLES) - registered, \
        f"golden entries for routes that do not exist: {sorted(set(GOLDEN_ROLES) - registered)}"


def test_a_route_missing_from_the_golden_table_fails_the_matrix():
    with pytest.raises(pytest.fail.Exception, match="missing from GOLDEN_ROLES"):
        golden_roles("GET", "/a/route/nobody/wrote/down")


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_every_route_declares_exactly_its_golden_roles(route):
    assert sorted(route.roles) == sorted(golden_roles(route.method, route.path))


def test_no_path_parameter_carries_a_personal_identifier():
    personal = {"token", "phone", "email", "birthday", "device_token", "push_token"}
    found = [route_id(r) for r in ROUTES if set(params_of(r.path)) & personal]
    assert not found, "path values reach access logs; address these by an opaque id"


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_only_golden_roles_pass_authorization(shared_api, route):
    allowed = golden_roles(route.method, route.path)
    if not allowed:
        assert _call(shared_api, route).status_code == 200
        return
    seen = {}
    for role in ROLES:
        resp = _call(shared_api, route, role=role)
        seen[role] = resp.status_code
        assert resp.status_code < 500, f"{role}: {resp.status_code} {resp.json}"
        if role in allowed:
            if (route.method, route.path) in DOCUMENTED_BUT_REFUSED:
                continue
            assert resp.status_code not in (401, 403), f"{role} is golden: {resp.json}"
        else:
            assert resp.status_code == 403, f"{role} is not in the golden table: {seen}"
            assert resp.json["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("route", [r for r in ROUTES if (r.method, r.path) not in PUBLIC],
                         ids=route_id)
def test_requests_without_a_valid_token_are_unauthenticated(shared_api, route):
    resp = _call(shared_api, route)
    assert resp.status_code == 401, resp.json
    # Without an Authorization header API Gateway answers itself, before the authorizer runs.
    assert resp.json.get("message") == "Unauthorized" or \
        resp.json["error"]["code"] == "UNAUTHENTICATED"


def _token(**claims):
    import jwt

    from chalicelib.config import get_settings

    s = get_settings()
    now = int(time.time())
    base = {"sub": "m-sec-1", "roles": ["admin"], "iss": s.jwt_issuer, "aud": s.jwt_audience,
            "iat": now, "exp": now + 600}
    base.update(claims)
    secret = base.pop("secret", s.jwt_secret)
    alg = base.pop("alg", "HS256")
    return jwt.encode({k: v for k, v in base.items() if v is not None}, secret, algorithm=alg)


BAD_TOKENS = {
    "expired": lambda: _token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
    "wrong secret": lambda: _token(secret="another-secret-of-sufficient-length-xyz"),
    "wrong audience": lambda: _token(aud="someone-else"),
    "wrong issuer": lambda: _token(iss="evil"),
    "no known role": lambda: _token(roles=["superuser"]),
    "no subject": lambda: _token(sub=None),
    "alg none": lambda: _token(alg="none", secret=None),
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_invalid_tokens_are_unauthenticated_on_every_endpoint(shared_api, kind):
    bad = BAD_TOKENS[kind]()
    codes = {}
    for route in ROUTES:
        if (route.method, route.path) in PUBLIC:
            continue
        body = {} if route.method in ("POST", "PUT", "PATCH") else None
        resp = shared_api.call(route.method, fill(route.path), body=body,
                               headers={"Authorization": f"Bearer {bad}"})
        codes[route_id(route)] = resp.status_code
    assert set(codes.values()) == {401}, {k: v for k, v in codes.items() if v != 401}


def test_a_member_token_cannot_claim_other_roles_through_a_groups_claim(shared_api):
    member = next(r for r in ROUTES if (r.method, r.path) not in PUBLIC
                  and "member" not in GOLDEN_ROLES.get((r.method, r.path), ("member",)))
    tok = _token(roles=["member"], **{"cognito:groups": ["admin"]})
    resp = shared_api.call(member.method, fill(member.path),
                           body={} if member.method in ("POST", "PUT", "PATCH") else None,
                           headers={"Authorization": f"Bearer {tok}"})
    assert resp.status_code == 403

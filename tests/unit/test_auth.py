"""The prod path: RS256 tokens verified against a JWKS URL (served here on loopback)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import config
from chalicelib.api import auth


@pytest.fixture
def jwks(monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "alg": "RS256", "use": "sig"})
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"
    monkeypatch.setenv("JWT_ALGORITHM", "RS256")
    monkeypatch.setenv("JWKS_URL", f"http://127.0.0.1:{server.server_port}/jwks.json")
    monkeypatch.setenv("JWT_ISSUER", issuer)
    monkeypatch.setenv("JWT_AUDIENCE", "app-client-id")
    config.reset()
    auth._jwks.clear()
    yield key, issuer
    server.shutdown()
    auth._jwks.clear()
    config.reset()


def _sign(key, **claims):
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_cognito_id_token_with_groups_is_accepted(jwks):
    key, iss = jwks
    tok = _sign(key, sub="m-9", iss=iss, aud="app-client-id", exp=int(time.time()) + 60,
                **{"cognito:groups": ["member"]})
    claims = auth.verify(tok)
    assert claims["sub"] == "m-9" and auth.roles_of(claims) == ["member"]


def test_cognito_access_token_is_checked_by_client_id(jwks):
    key, iss = jwks
    ok = _sign(key, sub="svc", iss=iss, client_id="app-client-id", token_use="access",
               exp=int(time.time()) + 60, roles="service")
    assert auth.roles_of(auth.verify(ok)) == ["service"]
    other = _sign(key, sub="svc", iss=iss, client_id="another-client", token_use="access",
                  exp=int(time.time()) + 60)
    with pytest.raises(jwt.InvalidTokenError):
        auth.verify(other)


def test_hs256_token_is_refused_when_the_stage_expects_rs256(jwks):
    _, iss = jwks
    forged = jwt.encode({"sub": "m-1", "iss": iss, "aud": "app-client-id",
                         "exp": int(time.time()) + 60}, "x" * 40, algorithm="HS256")
    with pytest.raises(jwt.PyJWTError):
        auth.verify(forged)


def test_unknown_roles_are_ignored():
    assert auth.roles_of({"roles": ["member", "root", "superuser"]}) == ["member"]
    assert auth.roles_of({"roles": "service marketer"}) == ["marketer", "service"]


CONSOLE_SCOPE = "perks-perks-prod/console"


def _console_token(key, iss, **over):
    claims = {"sub": "u-1", "iss": iss, "client_id": "console-client", "token_use": "access",
              "scope": f"openid email profile {CONSOLE_SCOPE}", "exp": int(time.time()) + 60,
              "cognito:groups": ["marketer"], **over}
    return _sign(key, **claims)


def test_console_access_token_is_accepted_by_its_scope(jwks, monkeypatch):
    # The console's own Cognito client (hosted UI + PKCE) is not the app client: its access
    # tokens are accepted because they carry the stack's console scope.
    key, iss = jwks
    monkeypatch.setenv("JWT_CONSOLE_SCOPE", CONSOLE_SCOPE)
    config.reset()
    claims = auth.verify(_console_token(key, iss))
    assert auth.roles_of(claims) == ["marketer"]


@pytest.mark.parametrize("over", [
    {"scope": "openid email profile"},                       # another client of the pool
    {"scope": f"openid {CONSOLE_SCOPE}x"},                   # a look-alike scope
    {"scope": [CONSOLE_SCOPE]},                              # not Cognito's string form
    {"token_use": "id"},                                     # only access tokens carry scopes
])
def test_console_scope_is_required_exactly(jwks, monkeypatch, over):
    key, iss = jwks
    monkeypatch.setenv("JWT_CONSOLE_SCOPE", CONSOLE_SCOPE)
    config.reset()
    with pytest.raises(jwt.InvalidTokenError):
        auth.verify(_console_token(key, iss, **over))


def test_console_scope_is_not_accepted_when_the_stage_names_none(jwks):
    key, iss = jwks
    with pytest.raises(jwt.InvalidTokenError):
        auth.verify(_console_token(key, iss))

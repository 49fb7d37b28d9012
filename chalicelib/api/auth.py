"""JWT bearer authorizer and roles.

HS256 with a shared secret for local and test stages; RS256 verified against a JWKS URL
(a Cognito user pool) in prod. Roles come from a ``roles`` claim or ``cognito:groups``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chalice import AuthResponse, Blueprint

from chalicelib.config import get_settings

if TYPE_CHECKING:  # jwt is imported where it is used: it stays off the cold-start path
    from jwt.types import Options

bp = Blueprint(__name__)


class Role(StrEnum):
    member = "member"
    service = "service"
    marketer = "marketer"
    admin = "admin"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's subject and roles, nothing from the path or body."""

    sub: str
    roles: frozenset[str]

    def has(self, *roles: Role | str) -> bool:
        return any(str(r) in self.roles for r in roles)


_jwks: dict[str, Any] = {}


def verify(token: str) -> dict[str, Any]:
    """Verify a bearer token and return its claims; raises jwt.InvalidTokenError."""
    import jwt

    s = get_settings()
    options: Options = {"require": ["exp", "sub"]}
    if s.jwt_algorithm == "HS256":
        if not s.jwt_secret:
            raise jwt.InvalidTokenError("no signing secret configured")
        return jwt.decode(token, s.jwt_secret, algorithms=["HS256"], audience=s.jwt_audience,
                          issuer=s.jwt_issuer, options=options, leeway=30)
    if "client" not in _jwks:
        _jwks["client"] = jwt.PyJWKClient(s.jwks_url, cache_keys=True, lifespan=3600)
    key = _jwks["client"].get_signing_key_from_jwt(token).key
    claims = jwt.decode(token, key, algorithms=["RS256"], issuer=s.jwt_issuer,
                        options={**options, "verify_aud": False}, leeway=30)
    # Cognito ID tokens carry `aud`; access tokens carry `client_id` instead.
    audience = claims.get("aud") or claims.get("client_id")
    if audience != s.jwt_audience and not _console_access(claims, s.jwt_console_scope):
        raise jwt.InvalidAudienceError("token is not for this API")
    return claims


def _console_access(claims: dict[str, Any], scope: str) -> bool:
    """An access token granted the console's resource-server scope.

    The console's Cognito client is created in the same stack as the API; naming its client id
    here would make the functions depend on the CloudFront distribution that depends on the
    API (a cycle). Only clients allowed the stack's own scope can obtain it, so the scope
    identifies the console as well as its client id would.
    """
    granted = claims.get("scope")
    return bool(scope) and claims.get("token_use") == "access" and \
        isinstance(granted, str) and scope in granted.split()


def roles_of(claims: dict[str, Any]) -> list[str]:
    raw = claims.get("roles", claims.get("cognito:groups", []))
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    return sorted({str(r) for r in raw if str(r) in Role.__members__})


def mint(sub: str, roles: list[str], ttl_seconds: int = 3600, **extra: Any) -> str:
    """An HS256 token for local use (the `perks token` command and tests)."""
    import time

    import jwt

    s = get_settings()
    now = int(time.time())
    claims = {"sub": sub, "roles": roles, "iss": s.jwt_issuer, "aud": s.jwt_audience,
              "iat": now, "exp": now + ttl_seconds, **extra}
    return jwt.encode(claims, s.jwt_secret, algorithm="HS256")


def _unauthorized() -> Exception:
    try:  # chalice local and chalice.test turn this into a real 401
        from chalice.local import NotAuthorizedError
    except ImportError:  # in Lambda, API Gateway maps this exact message to 401
        return Exception("Unauthorized")
    return NotAuthorizedError(
        {"x-amzn-ErrorType": "UnauthorizedException", "Content-Type": "application/json"},
        b'{"error": {"code": "UNAUTHENTICATED", "message": "missing, invalid or expired '
        b'bearer token", "details": []}}',
    )


@bp.authorizer(ttl_seconds=300)
def jwt_auth(auth_request: Any) -> AuthResponse:
    """API Gateway authorizer: a valid bearer token with at least one known role."""
    import jwt

    token = auth_request.token or ""
    scheme, _, value = token.partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise _unauthorized()
    try:
        claims = verify(value.strip())
    except (jwt.PyJWTError, ValueError):
        raise _unauthorized() from None
    roles = roles_of(claims)
    if not roles:
        raise _unauthorized()
    return AuthResponse(routes=["*"], principal_id=str(claims["sub"]),
                        context={"roles": " ".join(roles), "sub": str(claims["sub"])})


def caller_of(request: Any) -> Caller:
    """The verified caller from the authorizer context API Gateway passes through."""
    ctx = (request.context or {}).get("authorizer") or {}
    sub = ctx.get("sub") or ctx.get("principalId")
    if not sub:
        from chalicelib.errors import Unauthenticated

        raise Unauthenticated("missing, invalid or expired bearer token")
    return Caller(sub=str(sub), roles=frozenset(str(ctx.get("roles", "")).split()))

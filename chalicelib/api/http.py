"""One way to declare an endpoint: roles, strict body, idempotency, errors, OpenAPI.

Chalice turns exceptions into 500s before middleware can see them, so errors are
translated here, in the single decorator every route goes through.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Response

from chalicelib.adapters.dynamo import translate
from chalicelib.api.auth import Caller, Role, caller_of, jwt_auth
from chalicelib.api.errors import status_of
from chalicelib.errors import Forbidden, PerksError, ValidationFailed

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# No Perks body nests deeper than ~8 levels; 64 leaves room and stays far below the parser's
# own recursion limit, whose failure would only say "invalid JSON".
MAX_JSON_DEPTH = 64
# A JSON string, or an unclosed one running to the end of the body: every '"' starts a
# match that succeeds, and the possessive loops never backtrack, so one pass over the body
# stays linear (a closing '"' required after a greedy loop rescanned to the end from every
# quote: 80 KB of '\\"' took 12 s).
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]++")
_OPENERS = frozenset(b"[{")
ALL_ROLES = (Role.member, Role.service, Role.marketer, Role.admin)


@dataclass(frozen=True)
class Route:
    """What the OpenAPI writer and the role matrix know about an endpoint."""

    method: str
    path: str
    roles: tuple[str, ...]
    body: Any
    response: Any
    status: int
    summary: str
    query: dict[str, Any]
    errors: tuple[int, ...]
    idempotent: bool
    content_type: str = "application/json"
    also: tuple[int, ...] = ()  # other success statuses the handler may pick (``Status``)


ROUTES: list[Route] = []


@dataclass(frozen=True)
class Status:
    """A handler result answered with ``code`` instead of the route's status (a PUT that
    created its resource is 201, one that replaced it 200). Replays keep the code."""

    code: int
    body: Any


@dataclass
class Ctx:
    """What a handler gets besides its body: the caller, path and query parameters."""

    caller: Caller | None
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    # sha256 of (caller, route, path parameters, Idempotency-Key) when the header is sent.
    # Services that write value without a natural key commit a create-only guard item under
    # it in the same transaction, so a retry after an ambiguous commit cannot apply twice
    # (Powertools forgets the key when the first attempt's answer was lost).
    request_key: str | None = None

    @property
    def sub(self) -> str:
        assert self.caller is not None
        return self.caller.sub

    def is_(self, *roles: Role | str) -> bool:
        return self.caller is not None and self.caller.has(*roles)


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def error_response(e: PerksError) -> Response:
    return Response(body=error_body(e.code, e.message, e.details), status_code=status_of(e),
                    headers={"Content-Type": "application/json", **e.headers})


def json_pointer(loc: Iterable[Any]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "/" + "/".join(parts) if parts else "/"


def validation_details(err: Any) -> list[dict[str, Any]]:
    """pydantic errors → [{path, message}] with JSON pointers; input values are never echoed."""
    out = []
    for e in err.errors(include_input=False, include_url=False):
        loc = [p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith(
            "function-")))]
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown or server-owned field; remove it"
        out.append({"path": json_pointer(loc), "message": msg})
    return out


def json_depth_exceeded(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays/objects in ``raw`` nest deeper than ``limit`` (a flat scan of the
    brackets outside strings: no recursion, linear in the body, tolerant of bad JSON)."""
    if raw.count(b"[") + raw.count(b"{") <= limit:  # the common case, at C speed
        return False
    depth = 0
    for byte in _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", raw)):
        depth += 1 if byte in _OPENERS else -1
        if depth > limit:
            return True
    return False


def parse(model: Any, raw: bytes | None) -> Any:
    """Validate a JSON body strictly; 400 with JSON paths on any problem."""
    from pydantic import ValidationError

    if raw and json_depth_exceeded(raw):
        raise ValidationFailed(
            f"the body nests arrays/objects more than {MAX_JSON_DEPTH} levels deep",
            details=[{"path": "/", "message": f"too deeply nested: at most {MAX_JSON_DEPTH} "
                      "levels of arrays and objects", "reason": "TOO_DEEP",
                      "limit": MAX_JSON_DEPTH}])
    try:
        return model.model_validate_json(raw or b"")
    except ValidationError as e:
        details = validation_details(e)
        if any(d.get("message", "").startswith("Invalid JSON") for d in details):
            raise ValidationFailed("the body is not valid JSON",
                                   details=[{"path": "/", "message": "invalid JSON"}]) from None
        raise ValidationFailed("the request body is invalid", details=details) from None


def to_json(result: Any) -> Any:
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [to_json(r) for r in result]
    return result


class Api:
    """Wraps a chalice Blueprint: ``@api.post(path, roles=..., body=Model, status=201)``."""

    def __init__(self, bp: Blueprint) -> None:
        self.bp = bp

    def route(self, method: str, path: str, *, roles: Iterable[Role | str] | None, body: Any = None,
              response: Any = None, status: int = 200, summary: str = "",
              query: dict[str, Any] | None = None, errors: Iterable[int] = (),
              idempotent: bool | None = None, content_type: str = "application/json",
              also: Iterable[int] = (), accepts: Iterable[str] | None = None,
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        role_names = tuple(str(r) for r in roles) if roles is not None else ()
        idem = method in MUTATING if idempotent is None else idempotent

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(fn)
            def view(**params: str) -> Response:
                from chalicelib.observability import flush_metrics, logger

                request = self.bp.current_request
                started = time.perf_counter()
                log = logger()
                log.append_keys(correlation_id=(request.context or {}).get("requestId"))
                response: Response | None = None
                try:
                    response = self._handle(fn, request, params, role_names, body, status,
                                            idem, method, path, content_type)
                except PerksError as e:
                    response = error_response(e)
                except Exception as e:
                    mapped = translate(e)  # throttling and timeouts the adapter did not wrap
                    if isinstance(mapped, PerksError):
                        log.warning("store unavailable", extra={"route": f"{method} {path}",
                                                                 "error": type(e).__name__})
                        response = error_response(mapped)
                        return response
                    log.exception("unhandled error", extra={"route": f"{method} {path}"})
                    response = Response(
                        body=error_body("INTERNAL", "an internal error occurred; it was logged"),
                        status_code=500, headers={"Content-Type": "application/json"})
                finally:
                    flush_metrics()
                    # Access log: route template, never path values or bodies (they hold PII).
                    log.info("request", extra={
                        "route": f"{method} {path}",
                        "status": response.status_code if response else 500,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
                return response

            # ``accepts``: request content types besides JSON (a form POST; chalice answers
            # 415 to any other)
            extra = {"content_types": list(accepts)} if accepts else {}
            self.bp.route(path, methods=[method],
                          authorizer=jwt_auth if role_names else None, **extra)(view)
            ROUTES.append(Route(method, path, role_names, body, response, status,
                                summary or (fn.__doc__ or "").strip().split("\n")[0],
                                query or {}, tuple(errors), idem, content_type,
                                tuple(also)))
            return view

        return decorate

    def _handle(self, fn: Callable[..., Any], request: Any, params: dict[str, str],
                roles: tuple[str, ...], body_model: Any, status: int, idem: bool, method: str,
                path: str, content_type: str) -> Response:
        caller = caller_of(request) if roles else None
        if caller is not None and not caller.has(*roles):
            need = f"requires one of: {', '.join(roles)}"
            raise Forbidden("this endpoint is not available to your role",
                            details=[{"path": "/", "message": need}])
        ctx = Ctx(caller=caller, params=params, query=dict(request.query_params or {}),
                  headers={k.lower(): v for k, v in (request.headers or {}).items()})
        key = ctx.headers.get("idempotency-key")
        if key and caller is not None and method in MUTATING:
            scope = f"{caller.sub}|{method} {path}|{sorted(params.items())}|{key}"
            ctx.request_key = hashlib.sha256(scope.encode()).hexdigest()
        raw = request.raw_body if method in MUTATING else None

        def run() -> tuple[int, Any]:
            args: dict[str, Any] = {}
            if body_model is not None:
                args["body"] = parse(body_model, raw)
            result = fn(ctx, **params, **args)
            if isinstance(result, Response):
                return result.status_code, result
            if isinstance(result, Status):
                return result.code, to_json(result.body)
            return (status if result is not None or status != 200 else 204), to_json(result)

        key = ctx.headers.get("idempotency-key")
        headers: dict[str, str | list[str]]
        if idem and key and caller is not None:
            from chalicelib.api.idempotency import run_once

            code, payload = run_once(key, caller.sub, method, path, params, raw or b"", run,
                                     getattr(self.bp, "lambda_context", None))
            headers = {"Content-Type": "application/json", "Idempotency-Key": key[:200]}
        else:
            code, payload = run()
            headers = {"Content-Type": content_type}
        if isinstance(payload, Response):
            return payload
        if code == 204:
            return Response(body="", status_code=204)
        body = payload if content_type != "application/json" else json.dumps(payload)
        return Response(body=body, status_code=code, headers=headers)

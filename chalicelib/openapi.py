"""The OpenAPI 3.1 document of the Perks API, generated from the route registry.

Every endpoint is declared once, through ``Api.route`` (``chalicelib/api/http.py``), which
records method, path, roles, body and response models, success status, query parameters and
documented error statuses in ``ROUTES``. This module turns that registry into a document:
pydantic's JSON Schemas as components, a bearer-JWT security scheme, per-operation
``x-roles``, the ``Idempotency-Key`` header on mutating operations, and the one error body
for every error status. ``perks openapi --write infra/openapi.json`` (``make openapi``)
writes it; a unit test fails when the committed copy is stale.

``query=`` values understood: a description string (a string parameter), a Python type
(``int``, ``bool``, ``Literal[...]``, ...), or a dict that is either a JSON Schema or an
OpenAPI parameter fragment with ``schema``/``description``/``required`` keys.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, get_origin

from chalicelib.api.errors import CODES
from chalicelib.api.http import ROUTES, Route

TITLE = "Perks API"
VERSION = "1.0.0"
METHOD_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE")
REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]
SchemaKey = tuple[str, Mode]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error body of every Perks error response.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "enum": [c.code for c in CODES],
                         "description": "Stable machine-readable code (chalicelib/errors.py "
                                        "CODES; the README lists each with its meaning)"},
                "message": {"type": "string", "description": "Human-readable explanation"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["path", "message"],
                        "properties": {
                            "path": {"type": "string",
                                     "description": "JSON pointer into the request, e.g. "
                                                    "/birthday or /headers/Idempotency-Key"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}

ERRORS: dict[int, str] = {
    400: "Invalid request: the body, a query or path parameter or a header is malformed "
         "(details carry JSON pointers)",
    401: "Missing, invalid or expired bearer token",
    403: "The token's roles do not allow this operation",
    404: "Not found",
    409: "Conflict: the resource exists, the state forbids the change, a limit or the stock "
         "is exhausted, or a request with the same Idempotency-Key is still running",
    422: "Unprocessable: well-formed but not acceptable, or the Idempotency-Key was reused "
         "with a different body (IDEMPOTENCY_KEY_REUSED)",
    429: "Too many requests: retry after the number of seconds in Retry-After",
    500: "Internal error; it was logged with the request id",
    503: "The data store is throttling or unreachable; retry with backoff",
}

IDEMPOTENCY_HEADER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the request safe to retry: the same key and body within 24 hours "
                   "replay the first response without re-executing; the same key with another "
                   "body is rejected with 422 IDEMPOTENCY_KEY_REUSED.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}


def load_routes() -> list[Route]:
    """Every route of the app: importing app.py registers every blueprint."""
    from app import app as chalice_app

    if not chalice_app.routes:
        raise RuntimeError("app.py registered no routes")

    return list(ROUTES)


def _operation_id(method: str, path: str) -> str:
    words = re.sub(r"[{}]", "", path).strip("/").replace("/", "_").replace("-", "_")
    return f"{method.lower()}_{words or 'root'}"


def _query_parameter(name: str, spec: Any) -> dict[str, Any]:
    from pydantic import TypeAdapter

    param: dict[str, Any] = {"name": name, "in": "query", "required": False}
    if isinstance(spec, str):
        param.update(description=spec, schema={"type": "string"})
    elif isinstance(spec, dict) and ({"schema", "description", "required"} & set(spec)):
        param.update(spec)
        param.setdefault("schema", {"type": "string"})
    elif isinstance(spec, dict):
        param["schema"] = spec
    else:
        param["schema"] = TypeAdapter(spec).json_schema(schema_generator=_generator())
    return param


TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$"


def _generator() -> type:
    from pydantic.json_schema import GenerateJsonSchema

    class PerksJsonSchema(GenerateJsonSchema):
        def time_schema(self, schema: Any) -> dict[str, Any]:
            # JSON Schema's "time" format is RFC 3339 full-time (seconds and offset
            # required); pydantic reads and Perks writes wall-clock "HH:MM" as well.
            return {"type": "string", "pattern": TIME_PATTERN}

    return PerksJsonSchema


class _Schemas:
    """Collects body and response types; emits component schemas and their $refs."""

    def __init__(self) -> None:
        self._inputs: dict[SchemaKey, Any] = {}

    def key(self, kind: Any, mode: Mode) -> SchemaKey:
        # A generic alias (list[CouponView]) proxies __qualname__ to its origin ("list"): key
        # it by its full repr, or every list response would share the first one's schema.
        if get_origin(kind) is not None:
            name = repr(kind)
        else:
            name = f"{getattr(kind, '__module__', '')}.{getattr(kind, '__qualname__', repr(kind))}"
        k = (name, mode)
        self._inputs.setdefault(k, kind)
        return k

    def build(self) -> tuple[dict[SchemaKey, dict[str, Any]], dict[str, Any]]:
        from pydantic import TypeAdapter

        inputs = [(k, k[1], TypeAdapter(kind)) for k, kind in sorted(self._inputs.items())]
        if not inputs:
            return {}, {}
        refs, defs = TypeAdapter.json_schemas(inputs, ref_template=REF,
                                              schema_generator=_generator())
        return {k: refs[(k, k[1])] for k in self._inputs}, defs.get("$defs", {})


def _error_responses(route: Route) -> set[int]:
    codes = set(route.errors) | {500}
    if route.roles:
        codes |= {401, 403, 503}
    if route.body is not None or route.query or "{" in route.path:
        codes.add(400)
    if route.idempotent:
        codes |= {400, 409, 422}
    return codes


def _response_ref(status: int) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/Error{status}"}


def _parameters(r: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for n in re.findall(r"{(\w+)}", r.path)]
    params += [_query_parameter(n, spec) for n, spec in sorted(r.query.items())]
    if r.idempotent:
        params.append(IDEMPOTENCY_HEADER)
    return params


def _success_responses(r: Route, schema: dict[str, Any] | None) -> dict[str, Any]:
    """The success statuses of ``r``; ``schema`` is its response model's $ref, if any."""
    if r.status == 204:
        return {"204": {"description": "Done; no content"}}
    if schema is None:
        schema = {"type": "object" if r.content_type == "application/json" else "string"}
    responses: dict[str, Any] = {
        str(code): {"description": "Success", "content": {r.content_type: {"schema": schema}}}
        for code in (r.status, *r.also)}
    if r.response is None and r.status == 200 and r.method in ("POST", "PUT", "PATCH",
                                                               "DELETE"):
        # a mutating handler without a response model may return None: 204
        responses["204"] = {"description": "Done; no content"}
    return responses


def _operation(r: Route, body: dict[str, Any] | None, resp: dict[str, Any] | None,
               codes: set[int]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": _operation_id(r.method, r.path),
        "summary": r.summary or f"{r.method} {r.path}",
        "tags": [r.path.strip("/").split("/")[0] or "root"],
        "x-roles": list(r.roles),
        "security": [{"bearer": []}] if r.roles else [],
    }
    params = _parameters(r)
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    responses = _success_responses(r, resp)
    for code in sorted(codes):
        responses[str(code)] = _response_ref(code)
    op["responses"] = dict(sorted(responses.items()))
    return op


def _error_components(codes: set[int]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code in sorted(codes):
        responses[f"Error{code}"] = {"description": ERRORS.get(code, "Error"), "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        if code == 429:
            responses[f"Error{code}"]["headers"] = {"Retry-After": {
                "description": "Seconds to wait before retrying",
                "schema": {"type": "integer", "minimum": 0}}}
    return responses


def build(routes: list[Route]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes`` (deterministic: sorted paths and schemas)."""
    schemas = _Schemas()
    pending: list[tuple[Route, SchemaKey | None, SchemaKey | None]] = []
    for r in routes:
        body = schemas.key(r.body, "validation") if r.body is not None else None
        resp = schemas.key(r.response, "serialization") if r.response is not None else None
        pending.append((r, body, resp))
    refs, components = schemas.build()

    paths: dict[str, dict[str, Any]] = {}
    error_codes: set[int] = set()
    for r, body, resp in pending:
        codes = _error_responses(r)
        error_codes |= codes
        op = _operation(r, refs[body] if body else None, refs[resp] if resp else None, codes)
        paths.setdefault(r.path, {})[r.method.lower()] = op
    for path, ops in paths.items():
        paths[path] = {m.lower(): ops[m.lower()] for m in METHOD_ORDER if m.lower() in ops}
    components["ErrorBody"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Membership, points, coupons and campaigns. Every error has the "
                           "body `{\"error\": {\"code\", \"message\", \"details\"}}`; "
                           "`x-roles` lists the token roles an operation accepts.",
        },
        "servers": [{"url": "http://127.0.0.1:8000", "description": "local stack (make run)"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.items())),
            "responses": _error_components(error_codes),
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "HS256 tokens from `perks token` locally; Cognito RS256 tokens "
                               "in production. Roles come from the `roles` claim or "
                               "`cognito:groups`: member, service, marketer, admin."}},
        },
    }


def render(doc: dict[str, Any]) -> str:
    """The committed form: stable key order, two-space indent, trailing newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def validate(doc: dict[str, Any]) -> None:
    """Raise if ``doc`` is not a valid OpenAPI 3.1 document."""
    from openapi_spec_validator import validate as validate_spec
    from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

    validate_spec(doc, cls=OpenAPIV31SpecValidator)


def document() -> dict[str, Any]:
    """The document for the app as it stands."""
    return build(load_routes())

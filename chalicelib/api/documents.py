"""Shared plumbing of the admin blueprints for versioned, audited JSON documents
(campaigns, segments, draws): the page and version query parameters, their parsing,
and the JSON body parsed by a domain parser whose errors carry JSON paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.api.http import Ctx
from chalicelib.errors import ValidationFailed

LIMIT = {"schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
         "description": "page size"}
CURSOR = "next_cursor of the previous page"
VERSION = {"schema": {"type": "integer", "minimum": 1},
           "description": "a stored version (default: the live one)"}


def page_query() -> dict[str, Any]:
    """The OpenAPI query of a document list: ``limit`` and ``cursor``."""
    return {"limit": LIMIT, "cursor": CURSOR}


def version_query() -> dict[str, Any]:
    """The OpenAPI query of a document read: an optional past ``version``."""
    return {"version": VERSION}


def query_int(ctx: Ctx, name: str, default: int | None, lo: int, hi: int,
              path: str = "/") -> int | None:
    """A whole-number query parameter in [lo, hi]; its error names ``{path}{name}``."""
    raw = ctx.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ValidationFailed(f"{name} must be a whole number from {lo} to {hi}",
                               details=[{"path": f"{path}{name}", "message": f"{lo}-{hi}"}])
    return int(raw)


def page_args(ctx: Ctx, path: str = "/") -> tuple[int, str | None]:
    """The page size (default 50) and cursor of a document list."""
    return query_int(ctx, "limit", 50, 1, 100, path) or 50, ctx.query.get("cursor")


def version_arg(ctx: Ctx, path: str = "/") -> int | None:
    """The requested past version, or None for the live one."""
    return query_int(ctx, "version", None, 1, 10**6, path)


def parse_json_body[T](json_data: Any, parse: Callable[[Any], T]) -> T:
    """Decode a JSON body (400 when it is not JSON) and hand it to the domain parser."""
    try:
        data = json.loads(json_data) if isinstance(json_data, (str, bytes)) else json_data
    except ValueError:
        raise ValidationFailed("the body is not JSON", details=[
            {"path": "/", "message": "expected a JSON object"}]) from None
    return parse(data)

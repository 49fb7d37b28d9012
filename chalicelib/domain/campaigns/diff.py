"""What changed between two JSON documents, as JSON pointers (for the audit log). Pure."""

from __future__ import annotations

import json
from typing import Any

MAX_CHANGES = 50
MAX_VALUE_CHARS = 300


def _esc(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _short(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return value if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """[{path, before, after}] for every leaf that differs (absent values are omitted)."""
    out: list[dict[str, Any]] = []
    _walk(before, after, path, out)
    if len(out) > MAX_CHANGES:
        more = len(out) - MAX_CHANGES
        out = [*out[:MAX_CHANGES], {"path": "/", "note": f"{more} more changes not shown"}]
    return out


def _walk(a: Any, b: Any, path: str, out: list[dict[str, Any]]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            _walk(a.get(k, _MISSING), b.get(k, _MISSING), f"{path}/{_esc(k)}", out)
        return
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{path}/{i}", out)
        return
    if a == b and type(a) is type(b):
        return
    change: dict[str, Any] = {"path": path or "/"}
    if a is not _MISSING:
        change["before"] = _short(a)
    if b is not _MISSING:
        change["after"] = _short(b)
    out.append(change)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()

"""What changed between two JSON documents, as JSON pointers (for the audit log). Pure."""

from __future__ import annotations

import json

MAX_CHANGES = 50
MAX_VALUE_CHARS = 300


def _esc(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _short(value: object) -> object:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return value if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def diff(before: object, after: object, path: str = "") -> list[dict[str, object]]:
    """[{path, before, after}] for every leaf that differs (absent values are omitted)."""
    out: list[dict[str, object]] = []
    _walk(before, after, path, out)
    if len(out) > MAX_CHANGES:
        more = len(out) - MAX_CHANGES
        out = [*out[:MAX_CHANGES], {"path": "/", "note": f"{more} more changes not shown"}]
    return out


def _walk(a: object, b: object, path: str, out: list[dict[str, object]]) -> None:
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
    change: dict[str, object] = {"path": path or "/"}
    if a is not _MISSING:
        change["before"] = _short(a)
    if b is not _MISSING:
        change["after"] = _short(b)
    out.append(change)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: object = _Missing()

"""Hypothesis strategies for JSON documents, built from the committed JSON Schemas.

Small on purpose (the subset pydantic emits for our models): $ref, anyOf/oneOf, const, enum,
strings (pattern, length, date-time), integers and numbers with bounds, booleans, null,
arrays and objects (required properties always, optional ones sometimes, with an explicit
null whenever the schema allows one). Collections stay short so examples are cheap to store.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

MAX_ITEMS = 3
OFFSETS = [timezone(timedelta(hours=h)) for h in (8, 0, -5, 5.5, 14)] + [UTC]


def _dt() -> st.SearchStrategy[str]:
    return st.builds(lambda d, tz: d.replace(tzinfo=tz).isoformat(),
                     st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
                     st.sampled_from(OFFSETS))


def _string(s: dict[str, Any]) -> st.SearchStrategy[str]:
    if s.get("format") == "date-time":
        return _dt()
    lo, hi = s.get("minLength", 0), min(s.get("maxLength", 24), 24)
    pattern = s.get("pattern")
    if pattern is None:
        return st.text(min_size=lo, max_size=hi)
    rx = re.compile(pattern)
    return st.from_regex(rx, fullmatch=True).map(lambda v: v[:hi]).filter(
        lambda v: len(v) >= lo and rx.fullmatch(v) is not None)


def _scalar(kind: str | None, s: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A string, number, boolean or null of schema ``s`` (anything else: null)."""
    if kind == "string":
        return _string(s)
    if kind == "integer":
        lo = s.get("minimum", s.get("exclusiveMinimum", -1 - 10**6) + 1)
        return st.integers(lo, s.get("maximum", 10**9))
    if kind == "number":
        return st.floats(s.get("minimum", s.get("exclusiveMinimum")), s.get("maximum"),
                         exclude_min="exclusiveMinimum" in s, allow_nan=False,
                         allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    return st.none()  # "null", or a type not generated


class Builder:
    """Strategies for one schema document (its ``$defs`` resolved by name)."""

    def __init__(self, schema: dict[str, Any],
                 overrides: dict[str, st.SearchStrategy[Any]] | None = None) -> None:
        self.defs = schema.get("$defs", {})
        self.root = schema
        self.overrides = overrides or {}  # property name → strategy (formats pydantic hides)

    def build(self, s: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
        s = self.root if s is None else s
        if "$ref" in s:
            name = s["$ref"].rsplit("/", 1)[1]
            return st.deferred(lambda: self.build(self.defs[name]))
        if "const" in s:
            return st.just(s["const"])
        if "enum" in s:
            return st.sampled_from(s["enum"])
        for key in ("anyOf", "oneOf"):
            if key in s:
                return st.one_of([self.build(x) for x in s[key]])
        kind = s.get("type")
        if kind == "array":
            return st.lists(self.build(s.get("items", {})), min_size=s.get("minItems", 0),
                            max_size=min(s.get("maxItems", MAX_ITEMS), MAX_ITEMS))
        if kind == "object" or "properties" in s:
            return self._object(s)
        return _scalar(kind, s)

    def _object(self, s: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        props: dict[str, Any] = s.get("properties", {})
        if not props:
            extra = s.get("additionalProperties")
            names = s.get("propertyNames", {"type": "string", "pattern": r"^[a-z_]{1,12}$"})
            values = self.build(extra) if isinstance(extra, dict) else st.none()
            return st.dictionaries(_string({"maxLength": 40, **names}), values,
                                   max_size=min(s.get("maxProperties", MAX_ITEMS), MAX_ITEMS))
        required = set(s.get("required", []))

        def field(name: str, sub: dict[str, Any]) -> st.SearchStrategy[Any]:
            return self.overrides[name] if name in self.overrides else self.build(sub)

        fixed = {k: field(k, v) for k, v in props.items() if k in required}
        optional = {k: field(k, v) for k, v in props.items() if k not in required}
        return st.fixed_dictionaries(fixed, optional=optional)

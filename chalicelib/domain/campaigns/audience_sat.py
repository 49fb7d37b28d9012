"""Can an audience match anybody? A conservative check for the linter. Pure.

``matches_nobody(tree)`` is True only when it can *prove* that no profile matches: an empty
``any``; ``not`` of something that matches everyone; conditions under one ``all`` that
contradict each other on the same attribute (``age > 50`` and ``age < 30``, ``tier = gold``
and ``tier in [silver]``, ``exists: false`` with any other condition on it), or values
outside an attribute's range (``birthday_month = 13`` cannot happen; it is a validation
error anyway). Anything it cannot decide counts as satisfiable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.campaigns.audience import attribute


def matches_nobody(tree: Any) -> bool:
    """True when provably no member can match (the tree must be valid)."""
    return tree is not None and _unsat(tree)


def _unsat(node: dict[str, Any]) -> bool:
    if "segment" in node:  # resolved: its expression; unresolved: unknown, so not provable
        return "audience" in node and _unsat(node["audience"])
    if "any" in node:
        return all(_unsat(c) for c in node["any"])
    if "not" in node:
        return _taut(node["not"])
    conjuncts = _flatten_all(node)
    if any(_unsat(c) for c in conjuncts if "attr" not in c):
        return True
    by_attr: dict[str, list[dict[str, Any]]] = {}
    for c in conjuncts:
        if "attr" in c:
            by_attr.setdefault(c["attr"], []).append(c)
    return any(_conflict(name, leaves) for name, leaves in by_attr.items())


def _taut(node: dict[str, Any]) -> bool:
    if "segment" in node:
        return "audience" in node and _taut(node["audience"])
    if "all" in node:
        return all(_taut(c) for c in node["all"])
    if "any" in node:
        return any(_taut(c) for c in node["any"])
    if "not" in node:
        return _unsat(node["not"])
    return False


def _flatten_all(node: dict[str, Any]) -> list[dict[str, Any]]:
    if "segment" in node and "audience" in node:  # a resolved segment is its expression
        return _flatten_all(node["audience"])
    if "all" in node:
        out: list[dict[str, Any]] = []
        for c in node["all"]:
            out.extend(_flatten_all(c))
        return out
    return [node]


@dataclass
class _Range:
    lo: float = -math.inf
    hi: float = math.inf
    allowed: set[Any] | None = None
    excluded: set[Any] = field(default_factory=set)
    substrings: list[str] = field(default_factory=list)

    def allow(self, values: set[Any]) -> None:
        self.allowed = set(values) if self.allowed is None else self.allowed & set(values)


def _conflict(name: str, leaves: list[dict[str, Any]]) -> bool:
    spec = attribute(name)
    if spec is None:
        return False
    ops = [(c["op"], c.get("value", True)) for c in leaves]
    absent = any(op == "exists" and v is False for op, v in ops)
    present = any(not (op == "exists" and v is False) for op, v in ops)
    if absent and present:
        return True
    if spec.kind == "list":
        return False
    r = _Range()
    integer = spec.kind == "int"
    if spec.lo is not None:
        r.lo = spec.lo
    if spec.hi is not None:
        r.hi = spec.hi
    if spec.kind == "enum":
        r.allow(set(spec.choices))
    if spec.kind == "bool":
        r.allow({True, False})
    for op, v in ops:
        if spec.kind == "any" and not _plain(v):
            return False  # mixed types: do not try to reason
        if op == "eq":
            r.allow({v})
        elif op == "in":
            r.allow(set(v))
        elif op == "ne":
            r.excluded.add(v)
        elif op == "not_in":
            r.excluded.update(v)
        elif op in ("gt", "gte", "lt", "lte", "between"):
            lo, hi = _bounds(op, v, integer)
            r.lo, r.hi = max(r.lo, lo), min(r.hi, hi)
        elif op == "contains" and isinstance(v, str):
            r.substrings.append(v)
    if r.lo > r.hi:
        return True
    if r.allowed is not None:
        left = {x for x in r.allowed if x not in r.excluded and _fits(x, r)}
        return not left
    return False


def _plain(v: Any) -> bool:
    values = v if isinstance(v, list) else [v]
    return all(isinstance(x, str) for x in values) or all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in values)


def _bounds(op: str, v: Any, integer: bool) -> tuple[float, float]:
    if op == "between":
        return float(v[0]), float(v[1])
    if op == "gt":
        return (math.floor(v) + 1 if integer else math.nextafter(v, math.inf)), math.inf
    if op == "gte":
        return (math.ceil(v) if integer else v), math.inf
    if op == "lt":
        return -math.inf, (math.ceil(v) - 1 if integer else math.nextafter(v, -math.inf))
    return -math.inf, (math.floor(v) if integer else v)


def _fits(x: Any, r: _Range) -> bool:
    if isinstance(x, (int, float)) and not isinstance(x, bool) and not r.lo <= x <= r.hi:
        return False
    return not (r.substrings and not (isinstance(x, str) and all(s in x for s in r.substrings)))

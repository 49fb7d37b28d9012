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
from typing import cast

from chalicelib.domain.campaigns.audience import Attr, Leaf, Node, Scalar, Value, attribute


def matches_nobody(tree: object) -> bool:
    """True when provably no member can match (the tree must be valid: lint runs on a
    validated campaign)."""
    return tree is not None and _unsat(cast(Node, tree))


def _unsat(node: Node) -> bool:
    segment = _segment(node)
    if segment is not None:  # resolved: its expression; unresolved: unknown, not provable
        return segment is not False and _unsat(cast(Node, segment))
    if "not" in node:
        return _taut(node["not"])
    if "any" in node:
        return all(_unsat(c) for c in node["any"])
    conjuncts = _flatten_all(node)
    by_attr: dict[str, list[Leaf]] = {}
    for c in conjuncts:
        if "not" in c or "any" in c or "all" in c or "segment" in c:
            if _unsat(c):
                return True
        else:
            by_attr.setdefault(c["attr"], []).append(c)
    return any(_conflict(name, leaves) for name, leaves in by_attr.items())


def _taut(node: Node) -> bool:
    segment = _segment(node)
    if segment is not None:
        return segment is not False and _taut(cast(Node, segment))
    if "not" in node:
        return _unsat(node["not"])
    if "all" in node:
        return all(_taut(c) for c in node["all"])
    if "any" in node:
        return any(_taut(c) for c in node["any"])
    return False


def _segment(node: Node) -> Node | bool | None:
    """A segment reference's pinned expression, False when unresolved, None for other nodes."""
    ref = cast(dict[str, object], node)
    if "segment" not in ref:
        return None
    return cast(Node, ref["audience"]) if "audience" in ref else False


def _flatten_all(node: Node) -> list[Node]:
    segment = _segment(node)
    if segment is not None and segment is not False:  # a resolved segment is its expression
        return _flatten_all(cast(Node, segment))
    if "not" not in node and "all" in node:
        out: list[Node] = []
        for c in node["all"]:
            out.extend(_flatten_all(c))
        return out
    return [node]


@dataclass
class _Range:
    lo: float = -math.inf
    hi: float = math.inf
    allowed: set[Scalar] | None = None
    excluded: set[Scalar] = field(default_factory=set)
    substrings: list[str] = field(default_factory=list)

    def allow(self, values: set[Scalar]) -> None:
        self.allowed = set(values) if self.allowed is None else self.allowed & set(values)


def _conflict(name: str, leaves: list[Leaf]) -> bool:
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
    if spec.kind == "any" and not all(_plain(v) for _, v in ops):
        return False  # mixed types: do not try to reason
    r = _range_of(spec)
    for op, v in ops:
        _narrow(r, op, v, spec.kind == "int")
    if r.lo > r.hi:
        return True
    if r.allowed is not None:
        left = {x for x in r.allowed if x not in r.excluded and _fits(x, r)}
        return not left
    return False


def _range_of(spec: Attr) -> _Range:
    """What an attribute can hold before any condition."""
    r = _Range()
    if spec.lo is not None:
        r.lo = spec.lo
    if spec.hi is not None:
        r.hi = spec.hi
    if spec.kind == "enum":
        r.allow(set(spec.choices))
    if spec.kind == "bool":
        r.allow({True, False})
    return r


def _narrow(r: _Range, op: str, v: Value, integer: bool) -> None:
    """Apply one condition to what the attribute can hold."""
    if op == "eq" and not isinstance(v, list):
        r.allow({v})
    elif op == "in" and isinstance(v, list):
        r.allow(set(v))
    elif op == "ne" and not isinstance(v, list):
        r.excluded.add(v)
    elif op == "not_in" and isinstance(v, list):
        r.excluded.update(v)
    elif op in ("gt", "gte", "lt", "lte", "between"):
        lo, hi = _bounds(op, v, integer)
        r.lo, r.hi = max(r.lo, lo), min(r.hi, hi)
    elif op == "contains" and isinstance(v, str):
        r.substrings.append(v)


def _plain(v: Value) -> bool:
    values = v if isinstance(v, list) else [v]
    return all(isinstance(x, str) for x in values) or all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in values)


def _bounds(op: str, v: Value, integer: bool) -> tuple[float, float]:
    if isinstance(v, list):  # between: [low, high]
        return float(v[0]), float(v[1])
    if isinstance(v, str):  # no order op takes a string in a valid tree
        return -math.inf, math.inf
    if op == "gt":
        return (math.floor(v) + 1 if integer else math.nextafter(v, math.inf)), math.inf
    if op == "gte":
        return (math.ceil(v) if integer else v), math.inf
    if op == "lt":
        return -math.inf, (math.ceil(v) - 1 if integer else math.nextafter(v, -math.inf))
    return -math.inf, (math.floor(v) if integer else v)


def _fits(x: Scalar, r: _Range) -> bool:
    if isinstance(x, (int, float)) and not isinstance(x, bool) and not r.lo <= x <= r.hi:
        return False
    return not (r.substrings and not (isinstance(x, str) and all(s in x for s in r.substrings)))

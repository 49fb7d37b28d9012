"""The audience language: a JSON tree checked once and compiled into a plain Python function.

    {"all": [...]}   {"any": [...]}   {"not": {...}}   {"attr": "tier", "op": "in", "value": [...]}
    {"segment": "lapsing-high-value"}   (a named segment, see segments.py)

A segment leaf is resolved before compilation (``segments.resolve``): the service pins it to
``{"segment": slug, "version": n, "audience": {...}}``, the segment's expression at that
version, so a stored campaign is self-contained. Compiling an unresolved segment leaf fails.

``compile_audience(tree)`` returns ``match(profile) -> bool`` where ``profile`` is the flat
dict built by ``profile.audience_profile`` (keys are attribute names such as ``"tier"``,
``"points.available"``, ``"consent.push"``, ``"attributes.vip_level"``). The tree is turned
into the source of one Python function whose constants are bound as closure variables (no
marketer text ever becomes code), so evaluation is a handful of dict lookups and
comparisons: JSON is never re-read after compilation.

Semantics: a leaf on an attribute the member does not have (None) is false, whatever the op,
except ``exists: false``; ``not`` negates the whole subtree (so ``not`` of a leaf on a missing
attribute is true). ``{"all": []}`` matches everyone, ``{"any": []}`` nobody.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NotRequired, TypedDict, TypeGuard, cast, final

from chalicelib.domain.members.facts import AGE_BAND_NAMES, CITY_LEVELS, KEY_RE
from chalicelib.errors import ValidationFailed

Profile = Mapping[str, object]
Matcher = Callable[[Profile], bool]
Scalar = str | int | float | bool
Value = Scalar | list[Scalar]


# Final, so that ``"all" in node`` tells the node types apart for a type checker; test "not"
# first (a functional TypedDict cannot be final). A checked node has exactly one of the keys.
@final
class Leaf(TypedDict):
    """A condition of a checked tree: ``value`` is a list for the list ops and ``between``."""

    attr: str
    op: str
    value: NotRequired[Value]


@final
class AllOf(TypedDict):
    all: list[Node]


@final
class AnyOf(TypedDict):
    any: list[Node]


NotOf = TypedDict("NotOf", {"not": "Node"})  # "not" is a keyword: the functional form
Node = AllOf | AnyOf | NotOf | Leaf

MAX_DEPTH = 16
MAX_NODES = 400
MAX_LIST = 1000
CUSTOM_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Attr:
    """What an attribute holds: ``int``, ``str``, ``enum``, ``bool``, ``list`` or ``any``."""

    kind: str
    doc: str
    lo: int | None = None
    hi: int | None = None
    choices: tuple[str, ...] = ()


ATTRIBUTES: dict[str, Attr] = {
    "tier": Attr("str", "loyalty tier id, e.g. \"gold\""),
    "points.available": Attr("int", "spendable points balance", lo=0),
    "lifetime_spend": Attr("int", "total net spend ever, in fen", lo=0),
    "qualifying_spend": Attr("int", "spend counted towards the tier in the current period, fen",
                             lo=0),
    "orders_count": Attr("int", "number of orders ever", lo=0),
    "last_order_days_ago": Attr("int", "whole days since the last order (missing: never "
                                "ordered)", lo=0),
    "signup_days_ago": Attr("int", "whole days since signup", lo=0),
    "age": Attr("int", "age in whole years (missing when the birth year is unknown)", lo=0,
                hi=150),
    "gender": Attr("enum", "gender", choices=("female", "male", "other", "unspecified")),
    "city": Attr("str", "city name as stored on the profile"),
    "city_tier": Attr("int", "city tier 1 (Beijing, Shanghai, ...) to 6", lo=1, hi=6),
    "tags": Attr("list", "profile tags"),
    "locale": Attr("str", "preferred locale, e.g. \"zh-CN\""),
    "timezone": Attr("str", "IANA timezone, e.g. \"Asia/Shanghai\""),
    "birthday_month": Attr("int", "birth month 1-12 (missing without a birthday)", lo=1, hi=12),
    "consent.push": Attr("bool", "push marketing consent"),
    "consent.sms": Attr("bool", "SMS marketing consent"),
    "consent.email": Attr("bool", "email marketing consent"),
    # Member facts from behaviour (domain/members/facts.py), kept on the LOYALTY summary with
    # each order and refund. Windows count whole local weeks (Monday-Sunday) touching the
    # last N days; spend is qualifying spend net of refunds, in fen.
    "orders_30d": Attr("int", "orders in the last 30 days (weekly buckets)", lo=0),
    "orders_90d": Attr("int", "orders in the last 90 days (weekly buckets)", lo=0),
    "orders_365d": Attr("int", "orders in the last 365 days (weekly buckets)", lo=0),
    "spend_30d": Attr("int", "spend in the last 30 days, fen, net of refunds", lo=0),
    "spend_90d": Attr("int", "spend in the last 90 days, fen, net of refunds", lo=0),
    "spend_365d": Attr("int", "spend in the last 365 days, fen, net of refunds", lo=0),
    "avg_basket_365d": Attr("int", "average spend per order over 365 days, fen (missing: no "
                            "order)", lo=0),
    "first_order_days_ago": Attr("int", "whole days since the first order (missing: never "
                                 "ordered)", lo=0),
    "favourite_store": Attr("str", "store id with the most orders, recent ones weighing more"),
    "favourite_channel": Attr("str", "order channel with the most orders, recent ones "
                              "weighing more"),
    "top_category": Attr("str", "category with the largest share of spend, recent spend "
                         "weighing more"),
    "age_band": Attr("enum", "age band from the birthday (missing without a birth year)",
                     choices=AGE_BAND_NAMES),
    "city_level": Attr("enum", "city tier by name: 一线 (tier 1), 新一线 (2), 二线 (3), 三线 (4), "
                       "四线 (5), 五线 (6)", choices=CITY_LEVELS),
}
CUSTOM_PREFIX = "attributes."
CUSTOM = Attr("any", "custom profile attribute (string, number or boolean)")
# Attribute families named by a key: affinity.<category> (a category as orders name it).
AFFINITY_PREFIX = "affinity."
AFFINITY = Attr("int", "share of the member's spend in the category, percent 0-100, recent "
                "spend weighing more (missing: no spend in it)", lo=0, hi=100)
PREFIXED: dict[str, tuple[Attr, re.Pattern[str]]] = {
    CUSTOM_PREFIX: (CUSTOM, CUSTOM_KEY_RE),
    AFFINITY_PREFIX: (AFFINITY, KEY_RE),
}

OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "int": ("eq", "ne", "lt", "lte", "gt", "gte", "between", "in", "not_in", "exists"),
    "str": ("eq", "ne", "in", "not_in", "contains", "exists"),
    "enum": ("eq", "ne", "in", "not_in", "exists"),
    "bool": ("eq", "ne", "exists"),
    "list": ("contains", "contains_any", "contains_all", "exists"),
    "any": ("eq", "ne", "lt", "lte", "gt", "gte", "between", "in", "not_in", "contains",
            "exists"),
}
OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "contains_any",
       "contains_all", "exists", "between")
LEAF_KEYS = frozenset({"attr", "op", "value"})
SEGMENT_KEYS = frozenset({"segment", "version", "audience"})
SEGMENT_SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SEGMENT_SLUG_MAX = 64


def attribute(name: str) -> Attr | None:
    if name in ATTRIBUTES:
        return ATTRIBUTES[name]
    for prefix, (spec, key_re) in PREFIXED.items():
        if name.startswith(prefix) and key_re.match(name[len(prefix):]):
            return spec
    return None


def suggest_attribute(name: str) -> str:
    """'did you mean ...? ' for a misspelt attribute, the keyed families included
    ('afinity.coffee' -> 'affinity.coffee', 'attribute.vip' -> 'attributes.vip')."""
    choices = list(ATTRIBUTES)
    _, dot, key = name.partition(".")
    if dot and key:
        choices += [p + key for p, (_, key_re) in PREFIXED.items() if key_re.match(key)]
    return _suggest(name, choices)


def _err(path: str, message: str, hint: str = "") -> dict[str, str]:
    return {"path": path, "message": message, "hint": hint}


def _suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


# --- checking --------------------------------------------------------------------------------

def check_audience(tree: object, path: str = "/audience") -> list[dict[str, str]]:
    """Every problem in an audience tree, each with its JSON path; [] when it is valid."""
    errors: list[dict[str, str]] = []
    budget = [MAX_NODES]
    _check(tree, path, 0, errors, budget)
    return errors


def checked(tree: object) -> Node:
    """``tree`` as the audience it is; raises ValidationFailed when it is not one."""
    errors = check_audience(tree)
    if errors:
        raise ValidationFailed("the audience is invalid", details=errors)
    return cast(Node, tree)  # every node's shape was checked just above


def _check(node: object, path: str, depth: int, errors: list[dict[str, str]],
           budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        if budget[0] == -1:
            errors.append(_err(path, f"the audience has more than {MAX_NODES} nodes",
                               "simplify it, or use a tag computed upstream"))
        return
    if depth > MAX_DEPTH:
        errors.append(_err(path, f"the audience is nested deeper than {MAX_DEPTH} levels",
                           "flatten nested all/any groups"))
        return
    if not isinstance(node, dict):
        errors.append(_err(path, "an audience node must be an object",
                           'use {"all": [...]}, {"any": [...]}, {"not": {...}} or '
                           '{"attr": ..., "op": ..., "value": ...}'))
        return
    groups = [k for k in ("all", "any", "not") if k in node]
    if groups:
        _check_group(node, groups[0], path, depth, errors, budget)
    elif "segment" in node:
        _check_segment(node, path, depth, errors, budget)
    elif _leaf_shape_ok(node, path, errors):
        _check_leaf(node, path, errors)


def _check_group(node: dict[str, object], key: str, path: str, depth: int,
                 errors: list[dict[str, str]], budget: list[int]) -> None:
    if len(node) != 1:
        extra = sorted(k for k in node if k != key)
        errors.append(_err(f"{path}/{extra[0]}" if extra else path,
                           f"a '{key}' node must have no other fields",
                           "wrap sibling conditions in their own node"))
        return
    child = node[key]
    if key == "not":
        _check(child, f"{path}/not", depth + 1, errors, budget)
        return
    if not isinstance(child, list):
        errors.append(_err(f"{path}/{key}", f"'{key}' takes a list of conditions",
                           f'write {{"{key}": [{{...}}, {{...}}]}}'))
        return
    for i, c in enumerate(child):
        _check(c, f"{path}/{key}/{i}", depth + 1, errors, budget)


def _leaf_shape_ok(node: dict[str, object], path: str, errors: list[dict[str, str]]) -> bool:
    unknown = sorted(set(node) - LEAF_KEYS)
    if unknown:
        errors.append(_err(f"{path}/{_esc(unknown[0])}", f"unknown field '{unknown[0]}'",
                           _suggest(unknown[0], ["attr", "op", "value", "all", "any", "not",
                                                 "segment"])
                           + "a condition has attr, op and value"))
        return False
    if "attr" not in node:
        errors.append(_err(f"{path}/attr", "a condition needs an 'attr'",
                           "e.g. \"attr\": \"tier\""))
        return False
    if "op" not in node:
        errors.append(_err(f"{path}/op", "a condition needs an 'op'",
                           "one of: " + ", ".join(OPS)))
        return False
    return True


def valid_slug(slug: object) -> bool:
    return isinstance(slug, str) and len(slug) <= SEGMENT_SLUG_MAX \
        and SEGMENT_SLUG_RE.match(slug) is not None


def _check_segment(node: dict[str, object], path: str, depth: int, errors: list[dict[str, str]],
                   budget: list[int]) -> None:
    """``{"segment": slug}``, or as pinned ``{"segment", "version", "audience"}``."""
    extra = sorted(set(node) - SEGMENT_KEYS)
    if extra:
        errors.append(_err(f"{path}/{_esc(extra[0])}", f"unknown field '{extra[0]}'",
                           'a segment reference is {"segment": "<slug>"} alone'))
        return
    if not valid_slug(node["segment"]):
        errors.append(_err(f"{path}/segment", "a segment slug is lower-case letters, digits "
                           f"and dashes (at most {SEGMENT_SLUG_MAX})",
                           'e.g. "segment": "lapsing-high-value"'))
        return
    version = node.get("version")
    if "version" in node and (not isinstance(version, int) or isinstance(version, bool)
                              or version < 1):
        errors.append(_err(f"{path}/version", "a pinned segment version is a whole number "
                           ">= 1", "leave it out: saving the campaign pins the current one"))
        return
    if "audience" in node:
        _check(node["audience"], f"{path}/audience", depth + 1, errors, budget)


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _check_leaf(node: dict[str, object], path: str, errors: list[dict[str, str]]) -> None:
    name, op = node["attr"], node["op"]
    if not isinstance(name, str) or attribute(name) is None:
        shown = name if isinstance(name, str) else repr(name)
        hint = suggest_attribute(shown) if isinstance(name, str) else ""
        errors.append(_err(f"{path}/attr", f"unknown attribute {shown[:60]!r}",
                           hint + "known: " + ", ".join(ATTRIBUTES)
                           + ", affinity.<category>, attributes.<key>"))
        return
    spec = attribute(name)
    assert spec is not None
    allowed = OPS_BY_KIND[spec.kind]
    if not isinstance(op, str) or op not in allowed:
        shown = op if isinstance(op, str) else repr(op)
        known = isinstance(op, str) and op in OPS
        msg = (f"'{shown}' does not apply to {name} ({spec.kind})" if known
               else f"unknown op {shown[:30]!r}")
        errors.append(_err(f"{path}/op", msg,
                           (_suggest(shown, allowed) if isinstance(op, str) else "")
                           + f"ops for {name}: " + ", ".join(allowed)))
        return
    if "value" not in node:
        if op == "exists":
            return
        errors.append(_err(f"{path}/value", f"'{op}' needs a value", _value_hint(spec, op)))
        return
    problem = _value_problem(spec, op, node["value"])
    if problem:
        errors.append(_err(f"{path}/value", problem, _value_hint(spec, op)))


def _is_num(v: object) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _scalar_ok(spec: Attr, v: object) -> str | None:
    """None when ``v`` fits the attribute, else what is wrong."""
    if spec.kind == "int":
        if not isinstance(v, int) or isinstance(v, bool):
            return "must be a whole number"
        if (spec.lo is not None and v < spec.lo) or (spec.hi is not None and v > spec.hi):
            return f"must be between {spec.lo} and {spec.hi}" if spec.hi is not None \
                else f"must be at least {spec.lo}"
        return None
    if spec.kind in ("str", "list"):
        return None if isinstance(v, str) and 0 < len(v) <= 200 else \
            "must be a non-empty string (at most 200 characters)"
    if spec.kind == "enum":
        return None if v in spec.choices else "must be one of: " + ", ".join(spec.choices)
    if spec.kind == "bool":
        return None if isinstance(v, bool) else "must be true or false"
    ok = (isinstance(v, str) and len(v) <= 200) or isinstance(v, bool) or (
        _is_num(v) and v == v and abs(v) < 1e18)
    return None if ok else "must be a string, number or boolean"


def _scalar_kind(v: object) -> str:
    return "bool" if isinstance(v, bool) else "str" if isinstance(v, str) else "num"


LIST_OPS = ("in", "not_in", "contains_any", "contains_all")
ORDER_OPS = ("lt", "lte", "gt", "gte")


def _value_problem(spec: Attr, op: str, v: object) -> str | None:
    if op == "exists":
        return None if isinstance(v, bool) else "exists takes true or false"
    if op in LIST_OPS:
        return _list_problem(spec, op, v)
    if op == "between":
        return _between_problem(spec, v)
    if op in ORDER_OPS:
        if spec.kind == "any":
            return None if _is_num(v) and v == v and abs(v) < 1e18 else "must be a number"
        return _scalar_ok(spec, v) if _is_num(v) or spec.kind != "int" else "must be a number"
    if op == "contains":
        return None if isinstance(v, str) and 0 < len(v) <= 200 else "contains takes a string"
    return _scalar_ok(spec, v)  # eq, ne


def _list_problem(spec: Attr, op: str, v: object) -> str | None:
    if not isinstance(v, list) or not v or len(v) > MAX_LIST:
        return f"{op} takes a non-empty list (at most {MAX_LIST} values)"
    for item in v:
        p = _scalar_ok(spec, item)
        if p:
            return f"every value {p}"
    if spec.kind == "any" and len({_scalar_kind(x) for x in v}) > 1:
        return "list values must all have the same type"
    return None


def _between_problem(spec: Attr, v: object) -> str | None:
    if not (isinstance(v, list) and len(v) == 2 and all(_is_num(x) for x in v)):
        return "between takes [low, high] (two numbers, inclusive)"
    if spec.kind == "int":
        for x in v:
            p = _scalar_ok(spec, x)
            if p:
                return f"bounds {p}"
    if v[0] > v[1]:
        return "the low bound is above the high bound"
    return None


def _value_hint(spec: Attr, op: str) -> str:
    examples = {"int": "12", "str": '"Shanghai"', "enum": f'"{spec.choices[0]}"'
                if spec.choices else '"x"', "bool": "true", "list": '"vip"', "any": '"x"'}
    ex = examples[spec.kind]
    if op in LIST_OPS:
        return f'e.g. "value": [{ex}, ...]'
    if op == "between":
        return 'e.g. "value": [18, 35]'
    if op == "exists":
        return '"value": true or false'
    return f'e.g. "value": {ex}'


# --- compiling -------------------------------------------------------------------------------

def compile_audience(tree: object) -> Matcher:
    """A predicate over an audience profile; raises ValidationFailed on an invalid tree."""
    if tree is None:
        return _everyone
    node = checked(tree)
    consts: list[object] = []
    counter = [0]
    expr = _emit(node, consts, counter)
    params = ", ".join(f"k{i}" for i in range(len(consts)))
    src = (f"def _factory(_NUM{', ' + params if params else ''}):\n"
           f"    def match(p):\n"
           f"        g = p.get\n"
           f"        return {expr}\n"
           f"    return match\n")
    namespace: dict[str, object] = {}
    exec(compile(src, "<audience>", "exec"), _SAFE_GLOBALS.copy(), namespace)  # noqa: S102
    factory = namespace["_factory"]
    assert callable(factory)
    fn = cast(Matcher, factory(frozenset({int, float}), *consts))  # the `match` defined above
    fn.__doc__ = "compiled audience"
    return fn


_SAFE_GLOBALS = {"__builtins__": {}, "type": type, "bool": bool, "str": str}


def _everyone(profile: Profile) -> bool:
    return True


def _emit(node: Node, consts: list[object], counter: list[int]) -> str:
    if "not" in node:
        return f"(not {_emit(node['not'], consts, counter)})"
    if "all" in node:
        parts = [_emit(c, consts, counter) for c in node["all"]]
        return "(" + " and ".join(parts) + ")" if parts else "True"
    if "any" in node:
        parts = [_emit(c, consts, counter) for c in node["any"]]
        return "(" + " or ".join(parts) + ")" if parts else "False"
    if "segment" in node:
        if "audience" not in node:
            raise ValidationFailed(f"segment '{node['segment']}' is not resolved", details=[
                {"path": "/audience", "message": "save the campaign (or preview it) so the "
                 "segment is resolved and pinned", "hint": ""}])
        return _emit(node["audience"], consts, counter)
    return _emit_leaf(node, consts, counter)


Const = Callable[[object], str]  # binds a constant, returns the name it is bound to


def _listed(value: Value) -> list[Scalar]:
    """A list op's value (a checked tree holds a list there)."""
    return value if isinstance(value, list) else [value]


def _emit_leaf(node: Leaf, consts: list[object], counter: list[int]) -> str:
    name, op = node["attr"], node["op"]
    spec = attribute(name)
    assert spec is not None
    value = node.get("value", True)

    def k(v: object) -> str:
        consts.append(v)
        return f"k{len(consts) - 1}"

    counter[0] += 1
    v = f"v{counter[0]}"
    get = f"g({name!r})"
    if op == "exists":
        return f"({get} is {'not ' if value else ''}None)"
    if spec.kind == "any":
        return _emit_custom(op, value, get, v, k)
    if op in ("eq", "ne", *ORDER_OPS, "between"):
        return _emit_compare(op, spec.kind, value, get, v, k)
    return _emit_member(op, spec.kind, value, get, v, k)


def _emit_compare(op: str, kind: str, value: Value, get: str, v: str, k: Const) -> str:
    if op == "eq":
        if kind == "bool":
            return f"({get} is {k(value)})"
        return f"({get} == {k(value)})"
    if op == "ne":
        if kind == "bool":
            return f"(({v} := {get}) is not None and {v} is not {k(value)})"
        return f"(({v} := {get}) is not None and {v} != {k(value)})"
    if op in ORDER_OPS:
        sym = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[op]
        return f"(({v} := {get}) is not None and {v} {sym} {k(value)})"
    low, high = _listed(value)[:2]  # between
    guard = f"({v} := {get}) is not None"
    return f"({guard} and {k(low)} <= {v} <= {k(high)})"


def _emit_member(op: str, kind: str, value: Value, get: str, v: str, k: Const) -> str:
    if op == "in":
        return f"({get} in {k(frozenset(_listed(value)))})"
    if op == "not_in":
        return f"(({v} := {get}) is not None and {v} not in {k(frozenset(_listed(value)))})"
    if op == "contains":
        if kind == "list":
            return f"({k(value)} in ({get} or ()))"
        return f"(type({v} := {get}) is str and {k(value)} in {v})"
    if op == "contains_any":
        return f"(not {k(frozenset(_listed(value)))}.isdisjoint({get} or ()))"
    if op == "contains_all":
        return f"({k(frozenset(_listed(value)))}.issubset({get} or ()))"
    raise AssertionError(op)


def _type_guard(sample: object, v: str) -> str:
    """Custom attributes hold any scalar; ``True == 1`` in Python, so compare like with like."""
    if isinstance(sample, bool):
        return f"type({v}) is bool"
    if isinstance(sample, str):
        return f"type({v}) is str"
    return f"type({v}) in _NUM"


def _emit_custom(op: str, value: Value, get: str, v: str, k: Const) -> str:
    sample = value[0] if isinstance(value, list) else value
    guard = _type_guard(sample, v)
    if op == "eq":
        return f"(({v} := {get}) is not None and {guard} and {v} == {k(value)})"
    if op == "ne":
        return f"(({v} := {get}) is not None and not ({guard} and {v} == {k(value)}))"
    if op == "in":
        return f"(({v} := {get}) is not None and {guard} and {v} in {k(frozenset(_listed(value)))})"
    if op == "not_in":
        return (f"(({v} := {get}) is not None and not ({guard} and {v} in "
                f"{k(frozenset(_listed(value)))}))")
    if op in ORDER_OPS:
        sym = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[op]
        return f"(type({v} := {get}) in _NUM and {v} {sym} {k(value)})"
    if op == "between":
        low, high = _listed(value)[:2]
        return f"(type({v} := {get}) in _NUM and {k(low)} <= {v} <= {k(high)})"
    if op == "contains":
        return f"(type({v} := {get}) is str and {k(value)} in {v})"
    raise AssertionError(op)


# --- introspection ---------------------------------------------------------------------------

def leaves(tree: object, path: str = "/audience", negated: bool = False
           ) -> list[tuple[str, Leaf, bool]]:
    """(path, leaf, under an odd number of 'not') for every condition in a valid tree."""
    if not isinstance(tree, dict):
        return []
    out: list[tuple[str, Leaf, bool]] = []
    for key in ("all", "any"):
        children = tree.get(key)
        if isinstance(children, list):
            for i, c in enumerate(children):
                out.extend(leaves(c, f"{path}/{key}/{i}", negated))
            return out
    if "not" in tree:
        return leaves(tree["not"], f"{path}/not", not negated)
    if "segment" in tree:  # a resolved segment's conditions; an unresolved one has none
        return leaves(tree.get("audience"), f"{path}/audience", negated)
    return [(path, cast(Leaf, tree), negated)]  # a valid tree's other nodes are conditions

"""The audience language: compiled predicates agree with a plain interpreter; checks; profiles."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.campaigns.audience import (
    ATTRIBUTES,
    OPS_BY_KIND,
    attribute,
    check_audience,
    compile_audience,
)
from chalicelib.domain.campaigns.audience_sat import matches_nobody
from chalicelib.domain.campaigns.profile import audience_profile
from chalicelib.errors import ValidationFailed


# The specification is one flat chain of cases, one per operator, so that it can be read
# against docs/campaigns.md; its complexity is the audience language's, on purpose.
def reference(node: dict[str, Any], p: dict[str, Any]) -> bool:  # noqa: C901
    """The specification, written as naively as possible."""
    if "all" in node:
        return all(reference(c, p) for c in node["all"])
    if "any" in node:
        return any(reference(c, p) for c in node["any"])
    if "not" in node:
        return not reference(node["not"], p)
    v, op, x = p.get(node["attr"]), node["op"], node.get("value", True)
    if op == "exists":
        return (v is not None) == x
    if v is None:
        return False

    def same(a: Any, b: Any) -> bool:
        kinds = {type(a) is bool, type(b) is bool}
        return len(kinds) == 1 and a == b and (isinstance(a, str) == isinstance(b, str))

    def num(a: Any) -> bool:
        return isinstance(a, (int, float)) and not isinstance(a, bool)

    if op == "eq":
        return same(v, x)
    if op == "ne":
        return not same(v, x)
    if op == "in":
        return any(same(v, y) for y in x)
    if op == "not_in":
        return not any(same(v, y) for y in x)
    if op in ("lt", "lte", "gt", "gte", "between"):
        if not num(v):
            return False
        lo, hi = (x if op == "between" else (None, None))
        return {"lt": lambda: v < x, "lte": lambda: v <= x, "gt": lambda: v > x,
                "gte": lambda: v >= x, "between": lambda: lo <= v <= hi}[op]()
    if op == "contains":
        return x in v
    if op == "contains_any":
        return any(t in v for t in x)
    if op == "contains_all":
        return all(t in v for t in x)
    raise AssertionError(op)


TIERS = ["silver", "gold", "platinum"]
CITIES = ["Shanghai", "Beijing", "Chengdu"]
TAGS = ["vip", "churned", "student", "no-promotions"]
NUMERIC = [n for n, a in ATTRIBUTES.items() if a.kind == "int"]


def _value(name: str, op: str) -> st.SearchStrategy[Any]:
    spec = attribute(name)
    assert spec is not None
    if op == "exists":
        return st.booleans()
    if spec.kind == "int":
        lo, hi = spec.lo if spec.lo is not None else 0, spec.hi if spec.hi is not None else 500
        one = st.integers(lo, min(hi, 500))
    elif spec.kind == "enum":
        one = st.sampled_from(list(spec.choices))
    elif spec.kind == "bool":
        one = st.booleans()
    elif spec.kind == "list":
        one = st.sampled_from(TAGS)
    elif spec.kind == "any":
        one = st.integers(0, 5)
    else:
        one = st.sampled_from(TIERS + CITIES + ["zh-CN", "en-US", "Asia/Shanghai"])
    if op in ("in", "not_in", "contains_any", "contains_all"):
        return st.lists(one, min_size=1, max_size=3)
    if op == "between":
        return st.tuples(one, one).map(lambda t: [min(t), max(t)])
    if op == "contains" and spec.kind == "str":
        return st.sampled_from(["Shang", "ai", "gold", "zh"])
    return one


@st.composite
def leaves(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from([*ATTRIBUTES, "attributes.level"]))
    spec = attribute(name)
    assert spec is not None
    op = draw(st.sampled_from(OPS_BY_KIND[spec.kind]))
    if spec.kind == "any" and op == "contains":
        op = "eq"
    return {"attr": name, "op": op, "value": draw(_value(name, op))}


trees = st.recursive(
    leaves(),
    lambda kids: st.lists(kids, max_size=4).map(lambda c: {"all": c})
    | st.lists(kids, max_size=4).map(lambda c: {"any": c}) | kids.map(lambda c: {"not": c}),
    max_leaves=12,
)


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    def maybe(s: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | s)

    p: dict[str, Any] = {
        "tier": maybe(st.sampled_from(TIERS)), "gender": maybe(st.sampled_from(
            ["female", "male", "other", "unspecified"])),
        "city": maybe(st.sampled_from(CITIES)), "locale": maybe(st.sampled_from(
            ["zh-CN", "en-US"])), "timezone": maybe(st.just("Asia/Shanghai")),
        "tags": frozenset(draw(st.lists(st.sampled_from(TAGS), max_size=3))),
        "consent.push": draw(st.booleans()), "consent.sms": draw(st.booleans()),
        "consent.email": draw(st.booleans()),
        "attributes.level": maybe(st.integers(0, 5) | st.booleans() | st.just("3")),
    }
    for name in NUMERIC:
        p[name] = maybe(st.integers(0, 520))
    return p


@settings(max_examples=120, deadline=None)
@given(trees, st.lists(profiles(), min_size=1, max_size=8))
def test_compiled_audience_agrees_with_the_reference_interpreter(
        tree: dict[str, Any], ps: list[dict[str, Any]]) -> None:
    assert check_audience(tree) == []
    match = compile_audience(tree)
    for p in ps:
        assert match(p) is reference(tree, p), (tree, p)


@settings(max_examples=80, deadline=None)
@given(trees, st.lists(profiles(), min_size=1, max_size=10))
def test_an_audience_said_to_match_nobody_matches_nobody(tree: dict[str, Any],
                                                         ps: list[dict[str, Any]]) -> None:
    if matches_nobody(tree):
        match = compile_audience(tree)
        assert not any(match(p) for p in ps)


def test_a_missing_attribute_is_false_except_exists_false_and_under_not() -> None:
    gt = compile_audience({"attr": "age", "op": "gt", "value": 30})
    ne = compile_audience({"attr": "gender", "op": "ne", "value": "male"})
    absent = compile_audience({"attr": "age", "op": "exists", "value": False})
    negated = compile_audience({"not": {"attr": "age", "op": "gt", "value": 30}})
    assert (gt({}), ne({}), absent({}), negated({})) == (False, False, True, True)


def test_custom_attributes_compare_like_with_like() -> None:
    one = compile_audience({"attr": "attributes.level", "op": "eq", "value": 1})
    true = compile_audience({"attr": "attributes.vip", "op": "eq", "value": True})
    assert one({"attributes.level": 1}) and not one({"attributes.level": True})
    assert true({"attributes.vip": True}) and not true({"attributes.vip": 1})


def test_no_audience_matches_everyone() -> None:
    assert compile_audience(None)({})


def test_compiled_code_never_contains_marketer_text() -> None:
    evil = "'); import os; os.system('x'); ('"
    match = compile_audience({"attr": "city", "op": "eq", "value": evil})
    assert match({"city": evil}) and not match({"city": "x"})


def test_compile_rejects_an_invalid_tree_with_paths() -> None:
    with pytest.raises(ValidationFailed) as e:
        compile_audience({"all": [{"attr": "tier", "op": "between", "value": [1, 2]}]})
    assert e.value.details[0]["path"] == "/audience/all/0/op"


@pytest.mark.parametrize(("tree", "path"), [
    ({"attr": "teir", "op": "eq", "value": "gold"}, "/audience/attr"),
    ({"attr": "tier", "op": "equals", "value": "gold"}, "/audience/op"),
    ({"attr": "age", "op": "gt"}, "/audience/value"),
    ({"attr": "age", "op": "gt", "value": True}, "/audience/value"),
    ({"attr": "points.available", "op": "gte", "value": 1.5}, "/audience/value"),
    ({"attr": "tags", "op": "contains_any", "value": "vip"}, "/audience/value"),
    ({"attr": "attributes.x", "op": "in", "value": [1, "1"]}, "/audience/value"),
    ({"attr": "attributes.bad-key", "op": "eq", "value": 1}, "/audience/attr"),
    ({"all": [], "any": []}, "/audience/any"),
    ({"not": []}, "/audience/not"),
    ([1], "/audience"),
])
def test_audience_errors_point_at_the_offending_part(tree: Any, path: str) -> None:
    errors = check_audience(tree)
    assert errors and errors[0]["path"] == path and errors[0]["hint"]


def test_unknown_attribute_hint_suggests_the_closest_name() -> None:
    err = check_audience({"attr": "point.available", "op": "gt", "value": 1})[0]
    assert err["hint"].startswith("did you mean 'points.available'?")


@pytest.mark.parametrize(("tree", "nobody"), [
    ({"all": [{"attr": "age", "op": "gt", "value": 50}, {"attr": "age", "op": "lt",
                                                          "value": 30}]}, True),
    ({"all": [{"attr": "tier", "op": "eq", "value": "gold"},
              {"attr": "tier", "op": "in", "value": ["silver"]}]}, True),
    ({"all": [{"attr": "city", "op": "exists", "value": False},
              {"attr": "city", "op": "eq", "value": "Shanghai"}]}, True),
    ({"any": []}, True),
    ({"not": {"all": []}}, True),
    ({"all": [{"attr": "age", "op": "gt", "value": 20}, {"attr": "age", "op": "lt",
                                                          "value": 22}]}, False),
    ({"any": [{"attr": "tier", "op": "eq", "value": "gold"}, {"any": []}]}, False),
    ({"not": {"attr": "age", "op": "gt", "value": 30}}, False),
])
def test_provably_empty_audiences_are_detected(tree: dict[str, Any], nobody: bool) -> None:
    assert matches_nobody(tree) is nobody


def test_audience_profile_flattens_profile_and_loyalty_items() -> None:
    profile = {"member_id": "m-1", "birthday": "1990-05-20", "city": "Shanghai",
               "gender": "female", "tags": ["vip"], "locale": "zh-CN",
               "timezone": "Asia/Shanghai", "signup_at": "2026-01-01T00:00:00.000Z",
               "consent": {"push": True}, "attributes": {"level": 3, "nested": {"x": 1}}}
    loyalty = {"tier": "gold", "points": 1200, "orders_count": 4,
               "last_order_at": "2026-02-25T10:00:00.000Z",
               "window": {"2025-02": {"spend": 999, "orders": 1},
                          "2025-04": {"spend": 100, "orders": 1},
                          "2026-02": {"spend": 5000, "orders": 2}}}
    p = audience_profile(profile, loyalty, today=date(2026, 3, 1))
    assert p["tier"] == "gold" and p["points.available"] == 1200
    assert p["qualifying_spend"] == 5100  # Feb 2025 is outside Apr 2025 - Mar 2026
    assert p["last_order_days_ago"] == 4 and p["signup_days_ago"] == 59
    assert p["age"] == 35 and p["birthday_month"] == 5 and p["city_tier"] == 1
    assert p["tags"] == frozenset({"vip"}) and p["consent.push"] is True
    assert p["consent.sms"] is False and p["attributes.level"] == 3
    assert "attributes.nested" not in p


def test_a_member_without_loyalty_state_has_no_tier_and_no_orders_data() -> None:
    p = audience_profile({"member_id": "m-2", "birthday": "--02-29"}, None,
                         today=date(2026, 3, 1))
    assert p["tier"] is None and p["orders_count"] is None and p["age"] is None
    assert p["birthday_month"] == 2

"""Templates, codes, rounding, stock shards, windows and reasons: the pure coupon rules."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.coupons import codes
from chalicelib.domain.coupons.allocation import largest_remainder
from chalicelib.domain.coupons.cart import lines_of
from chalicelib.domain.coupons.eligibility import WalletCoupon, check, coverage
from chalicelib.domain.coupons.quote import quote
from chalicelib.domain.coupons.rules import Rules, compile_template, snapshot
from chalicelib.domain.coupons.stock import plan_change, split
from chalicelib.domain.coupons.template import TemplateBody, parse_template
from chalicelib.domain.coupons.validity import claim_problem, use_period
from chalicelib.errors import Conflict, ValidationFailed
from tests.unit.coupon_factories import NOW, VALIDITY, cart, coupon, ctx, template

ROOT = Path(__file__).resolve().parents[2]


def problems(body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationFailed) as e:
        parse_template(body, body.get("template_id"))
    return [d["path"] for d in e.value.details]


BASE = {"template_id": "t-1", "name": "x", "validity": VALIDITY,
        "benefit": {"type": "fixed", "amount": 500}}


def test_field_errors_carry_json_pointers_into_the_document() -> None:
    assert problems({**BASE, "benefit": {"type": "stepped", "step": 100, "amount": 10}}) == [
        "/benefit/max_steps"]
    assert problems({**BASE, "benefit": {"type": "percent", "percent_off": 120}}) == [
        "/benefit/percent_off"]
    assert problems({**BASE, "scope": {"channels": ["fax"]}}) == ["/scope/channels/0"]
    assert problems({**BASE, "colour": "red"}) == ["/colour"]
    assert problems({**BASE, "validity": {"starts_at": "2026-01-01T00:00:00"}}) == [
        "/validity/starts_at", "/validity/ends_at"]


def test_cross_field_rules_point_at_the_offending_value() -> None:
    assert problems({**BASE, "validity": {**VALIDITY, "ends_at": "2025-01-01T00:00:00Z"}}) == [
        "/validity/ends_at", "/validity/claim_ends_at"]
    assert problems({**BASE, "limits": {"stock": 2, "stock_shards": 3}}) == [
        "/limits/stock_shards"]
    assert problems({**BASE, "scope": {"include_skus": ["A"], "exclude_skus": ["A"]}}) == [
        "/scope/exclude_skus"]
    assert problems({**BASE, "benefit": {"type": "no_threshold", "amount": 5},
                     "scope": {"min_spend": 100}}) == ["/scope/min_spend"]
    assert problems({**BASE, "audience": {"tiers": ["gold"], "min_tier": "gold"}}) == [
        "/audience/min_tier"]
    assert problems({**BASE, "validity": {**VALIDITY, "windows": [
        {"start": "14:00", "end": "11:00"}]}}) == ["/validity/windows/0/end"]
    with pytest.raises(ValidationFailed) as e:
        parse_template(BASE, "another-id")
    assert e.value.details[0]["path"] == "/template_id"


def test_the_put_body_reports_paths_without_the_union_tag() -> None:
    raw = json.dumps({**BASE, "benefit": {"type": "threshold", "threshold": -1, "amount": 1}})
    with pytest.raises(ValidationFailed) as e:
        TemplateBody.model_validate_json(raw)
    assert [d["path"] for d in e.value.details] == ["/benefit/threshold"]


def test_committed_json_schema_is_current() -> None:
    from chalicelib.cli.coupons import SCHEMA_PATH, schema_text

    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), \
        "stale: run `perks coupons schema --write`"


def test_a_snapshot_compiles_to_the_same_rules_as_the_template() -> None:
    t = template("t-9", {"type": "stepped", "step": 10000, "amount": 1000, "max_steps": 3},
                 scope={"include_categories": ["food"], "payment_methods": ["alipay"]},
                 audience={"min_tier": "gold"}, stacking={"group": "shop"},
                 validity={**VALIDITY, "windows": [{"weekdays": [6, 7], "start": "10:00",
                                                     "end": "12:30"}]})
    stored = json.loads(json.dumps(snapshot(t)))
    assert Rules.load(stored) == compile_template(t)
    assert compile_template(t).nominal(45000) == 4000 - 1000


def test_days_after_claim_are_capped_by_the_end() -> None:
    t = template(validity={**VALIDITY, "days_after_claim": 7})
    start, end = use_period(t.validity, NOW)
    assert (start, end) == (NOW, NOW + timedelta(days=7))
    late = t.validity.ends_at - timedelta(days=2)
    assert use_period(t.validity, late)[1] == t.validity.ends_at
    early = template(validity={**VALIDITY, "claim_starts_at": "2025-12-01T00:00:00+08:00"})
    assert claim_problem(early.validity, datetime.fromisoformat(
        "2025-11-30T23:59:00+08:00")) == "CLAIM_NOT_STARTED"


# --- codes ----------------------------------------------------------------------------------

def test_codes_carry_at_least_60_random_bits_and_a_valid_check_symbol() -> None:
    batch = [codes.generate("D11") for _ in range(2000)]
    assert len(set(batch)) == 2000
    assert codes.ENTROPY_BITS >= 60
    for c in batch[:200]:
        assert c.startswith("D11") and len(c) == 3 + 13 + 1
        assert codes.is_valid(c)
        assert c.isalnum() and not set(c[:-1]) & set("ILOU")
    body_symbols = Counter(ch for c in batch for ch in c[3:-1])
    assert len(body_symbols) == 32  # every symbol in use: no bias towards a subset


@given(st.integers(0, 2**65 - 1), st.integers(0, 15), st.sampled_from(codes.ALPHABET))
@settings(max_examples=200, deadline=None)
def test_any_single_symbol_typo_is_caught_by_the_check(n: int, pos: int, wrong: str) -> None:
    body = "".join(codes.ALPHABET[(n >> (5 * i)) & 31] for i in range(13))
    code = "AB" + body + codes.check_symbol("AB" + body)
    i = pos % (len(code) - 1)
    typo = code[:i] + wrong + code[i + 1:]
    assert codes.is_valid(typo) == (typo == code)


def test_reading_a_code_forgives_case_separators_and_look_alikes() -> None:
    c = codes.generate()
    typed = "-".join(c[i:i + 4] for i in range(0, len(c), 4)).lower()
    assert codes.normalize(typed) == c
    assert codes.normalize("o1l-i") == "0111"
    assert not codes.is_valid(codes.normalize("hello"))


# --- rounding and stock ---------------------------------------------------------------------

@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**6), min_size=1, max_size=30))
@settings(max_examples=200, deadline=None)
def test_largest_remainder_sums_exactly_and_stays_within_each_share(total: int,
                                                                    weights: list[int]) -> None:
    if sum(weights) == 0:
        total = 0
    parts = largest_remainder(total, weights)
    assert sum(parts) == total
    whole = sum(weights) or 1
    for p, w in zip(parts, weights, strict=True):
        assert total * w // whole <= p <= -(-total * w // whole)


@given(st.integers(0, 10**6), st.integers(1, 50))
@settings(max_examples=100, deadline=None)
def test_stock_splits_evenly_over_shards(stock: int, shards: int) -> None:
    parts = split(stock, shards)
    assert sum(parts) == stock and max(parts) - min(parts) <= 1


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=20), st.integers(-5000, 5000))
@settings(max_examples=200, deadline=None)
def test_stock_changes_never_take_a_shard_below_zero(left: list[int], delta: int) -> None:
    if -delta > sum(left):
        with pytest.raises(Conflict):
            plan_change(left, delta)
        return
    changes = plan_change(left, delta)
    assert sum(changes) == delta
    assert all(x + c >= 0 for x, c in zip(left, changes, strict=True))


# --- eligibility -----------------------------------------------------------------------------

def test_each_check_reports_its_own_reason() -> None:
    c = cart(("A", "food", 1, 10000), channel="web", store_id="s-1", payment_method="alipay")
    cases = {
        "WRONG_CHANNEL": {"scope": {"channels": ["app"]}},
        "WRONG_STORE": {"scope": {"store_ids": ["s-2"]}},
        "WRONG_PAYMENT_METHOD": {"scope": {"payment_methods": ["wechat_pay"]}},
        "TIER_REQUIRED": {"audience": {"tiers": ["gold"]}},
        "NOT_IN_TIME_WINDOW": {"validity": {**VALIDITY, "windows": [{"weekdays": [6, 7]}]}},
    }
    for reason, extra in cases.items():
        w = coupon(reason.lower().replace("_", "-"), {"type": "fixed", "amount": 100}, **extra)
        got = check(w, c, ctx())
        assert got is not None and got.reason == reason, (reason, got)
    w = coupon("scoped", {"type": "fixed", "amount": 100}, scope={"include_skus": ["B"]})
    assert coverage(w.rules, lines_of(c)) == (0, 0)
    q = quote(c, [w], ctx())
    assert q.rejected[0].reason == "OUT_OF_SCOPE"


def test_held_and_used_coupons_are_rejected_with_their_state() -> None:
    base = coupon("c1", {"type": "fixed", "amount": 100})
    until = int((NOW + timedelta(minutes=5)).timestamp())
    held = WalletCoupon(base.coupon_id, base.template_id, base.rules, base.valid_from,
                        base.valid_until, "reserved", "o-1", until)
    c = cart(("A", "food", 1, 10000))
    assert quote(c, [held], ctx()).rejected[0].reason == "RESERVED"
    assert quote(c, [held], ctx(order_id="o-1")).best.coupon_ids == ["c1"]
    lapsed = WalletCoupon(base.coupon_id, base.template_id, base.rules, base.valid_from,
                          base.valid_until, "reserved", "o-1", int(NOW.timestamp()) - 1)
    assert quote(c, [lapsed], ctx()).best.coupon_ids == ["c1"]
    used = WalletCoupon(base.coupon_id, base.template_id, base.rules, base.valid_from,
                        base.valid_until, "used")
    assert quote(c, [used], ctx(), ["c1"]).rejected[0].reason == "USE_LIMIT_REACHED"
    assert quote(c, [used], ctx()).rejected == []  # used coupons are history, not offers
    assert quote(c, [], ctx(), ["nope"]).rejected[0].reason == "NOT_FOUND"


def test_explicit_choice_rejects_the_later_coupon_of_a_clashing_pair() -> None:
    c = cart(("A", "food", 1, 10000))
    a = coupon("a", {"type": "fixed", "amount": 100}, stacking={"group": "shop"})
    b = coupon("b", {"type": "fixed", "amount": 200}, stacking={"group": "shop"})
    x = coupon("x", {"type": "fixed", "amount": 300}, stacking={"exclusive": True})
    q = quote(c, [a, b, x], ctx(), ["a", "b"])
    assert q.best.coupon_ids == ["a"] and q.alternatives == []
    assert q.rejected[0].details == {"rule": "stack_group", "with": ["a"]}
    q = quote(c, [a, b, x], ctx(), ["x", "a"])
    assert q.best.coupon_ids == ["x"]
    assert q.rejected[0].details == {"rule": "exclusive", "with": ["x"]}
    q = quote(c, [a, b, x], ctx())
    assert q.best.coupon_ids == ["x"] and len(q.alternatives) == 2
    assert {r.details["rule"] for r in q.rejected} == {"exclusive"}

"""The optimiser is exact: it agrees with brute-force enumeration of every stack."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.coupons.cart import lines_of
from chalicelib.domain.coupons.eligibility import WalletCoupon, check_spend, coverage
from chalicelib.domain.coupons.optimizer import search
from chalicelib.domain.coupons.quote import quote
from chalicelib.domain.coupons.stacking import Space
from tests.unit.coupon_factories import cart, coupon, ctx

CATEGORIES = ["food", "wine", "toys"]
PHASES = {"fixed": 0, "no_threshold": 0, "threshold": 0, "stepped": 0, "percent": 1,
          "free_shipping": 2, "gift": 3}


def brute_force(c: Any, wallet: list[WalletCoupon], max_count: int, top: int = 4,
                ) -> list[tuple[Any, tuple[str, ...], int, int]]:
    """Every valid stack evaluated line by line with Fractions; the ``top`` best."""
    lines = lines_of(c)
    cands = []
    for w in wallet:
        mask, eligible = coverage(w.rules, lines)
        if check_spend(w, mask, eligible, c.shipping_fee) is None:
            cands.append((w, [i for i in range(len(lines)) if mask >> i & 1], eligible))
    found = []
    for size in range(1, min(max_count, len(cands)) + 1):
        for combo in combinations(cands, size):
            if size > 1 and any(w.rules.exclusive for w, _, _ in combo):
                continue
            groups = [w.rules.group for w, _, _ in combo if w.rules.group]
            tpls = [w.template_id for w, _, _ in combo]
            if len(set(groups)) < len(groups) or len(set(tpls)) < len(tpls):
                continue
            res = _evaluate_lines(lines, c.shipping_fee, combo)
            if res is not None:
                found.append(res)
    found.sort(key=lambda r: r[0])
    return found[:top]


def _evaluate_lines(lines: Any, fee: int, combo: Any) -> Any:
    order = sorted(combo, key=lambda x: (PHASES[x[0].rules.kind], x[2] if PHASES[
        x[0].rules.kind] < 2 else 0, x[0].coupon_id))
    left = [Fraction(ln.amount) for ln in lines]
    fee_left = fee
    items = ship = gift = 0
    for w, idx, eligible in order:
        r = w.rules
        if r.kind == "gift":
            gift += r.gift_value * r.gift_quantity
            continue
        if r.kind == "free_shipping":
            take = fee_left if r.max_discount is None else min(fee_left, r.max_discount)
            fee_left -= take
            ship += take
            if not take:
                return None
            continue
        remaining = sum((left[i] for i in idx), Fraction(0))
        if r.kind == "percent":
            take = int(remaining * r.percent_off / 100)
            if r.max_discount is not None:
                take = min(take, r.max_discount)
        else:
            take = min(r.nominal(eligible), int(remaining))
        if take <= 0:
            return None
        for i in idx:
            left[i] -= left[i] * take / remaining
        items += take
    expiries = tuple(sorted(w.valid_until.timestamp() for w, _, _ in combo))
    ids = tuple(sorted(w.coupon_id for w, _, _ in combo))
    key = (-(items + ship), -gift, len(combo), expiries, ids)
    return key, ids, items, ship


benefits = st.one_of(
    st.builds(lambda a: {"type": "fixed", "amount": a}, st.integers(1, 30000)),
    st.builds(lambda a: {"type": "no_threshold", "amount": a}, st.integers(1, 3000)),
    st.builds(lambda t, a: {"type": "threshold", "threshold": t, "amount": min(a, t)},
              st.integers(1000, 60000), st.integers(1, 20000)),
    st.builds(lambda s, a, m: {"type": "stepped", "step": s, "amount": min(a, s),
                               "max_steps": m},
              st.integers(1000, 20000), st.integers(1, 5000), st.integers(1, 4)),
    st.builds(lambda p, m: {"type": "percent", "percent_off": p, **({"max_discount": m}
                                                                     if m else {})},
              st.integers(1, 60), st.one_of(st.none(), st.integers(100, 20000))),
    st.builds(lambda m: {"type": "free_shipping", **({"max_amount": m} if m else {})},
              st.one_of(st.none(), st.integers(100, 1500))),
    st.builds(lambda v: {"type": "gift", "sku": "G", "value": v}, st.integers(0, 5000)),
)


@st.composite
def scenarios(draw: Any, max_coupons: int = 12) -> tuple[Any, list[WalletCoupon], int]:
    n_lines = draw(st.integers(1, 6))
    items = [(f"S{i}", draw(st.sampled_from(CATEGORIES)), draw(st.integers(1, 3)),
              draw(st.integers(0, 40000))) for i in range(n_lines)]
    c = cart(*items, shipping_fee=draw(st.sampled_from([0, 800, 1200])))
    wallet = []
    for k in range(draw(st.integers(0, max_coupons))):
        benefit = draw(benefits)
        scope: dict[str, Any] = {}
        if draw(st.booleans()):
            scope["include_categories"] = draw(st.lists(st.sampled_from(CATEGORIES),
                                                        min_size=1, max_size=2, unique=True))
        elif draw(st.integers(0, 4)) == 0:
            scope["exclude_skus"] = ["S0"]
        if benefit["type"] in ("free_shipping", "gift") and scope.get("include_categories"):
            scope["min_spend"] = draw(st.integers(1, 20000))
        elif benefit["type"] != "no_threshold" and draw(st.integers(0, 3)) == 0:
            scope["min_spend"] = draw(st.integers(0, 30000))
        extra: dict[str, Any] = {"scope": scope}
        group = draw(st.sampled_from([None, None, "shop", "platform"]))
        exclusive = draw(st.integers(0, 7)) == 0
        if group or exclusive:
            extra["stacking"] = {"group": group, "exclusive": exclusive}
        tid = f"t{draw(st.integers(0, 9))}"
        wallet.append(coupon(f"c{k:02d}", benefit, f"{tid}-{k}" if draw(st.booleans())
                             else tid, expires_in_days=draw(st.sampled_from([5, 10, 30])),
                             **extra))
    return c, wallet, draw(st.integers(1, 5))


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_search_finds_the_same_top_stacks_as_brute_force(s: Any) -> None:
    c, wallet, max_count = s
    expected = brute_force(c, wallet, max_count)
    usable = []
    lines = lines_of(c)
    for w in wallet:
        mask, eligible = coverage(w.rules, lines)
        if check_spend(w, mask, eligible, c.shipping_fee) is None:
            usable.append((w, mask, eligible))
    got = search(Space(lines, c.shipping_fee, usable), max_count, top=4)
    assert [o.key() for o in got] == [e[0] for e in expected]
    assert [(o.discount, o.shipping_discount) for o in got] == [(e[2], e[3]) for e in expected]


@settings(max_examples=60, deadline=None)
@given(scenarios(max_coupons=12))
def test_quote_best_is_the_brute_force_optimum_and_lines_add_up(s: Any) -> None:
    c, wallet, max_count = s
    q = quote(c, wallet, ctx(max_per_order=max_count))
    expected = brute_force(c, wallet, max_count, top=1)
    best_value = q.best.discount + q.best.shipping_discount
    assert best_value == (-expected[0][0][0] if expected else 0)
    assert sorted(q.best.coupon_ids) == sorted(expected[0][1] if expected else [])
    assert sum(ln.discount for ln in q.best.lines) == q.best.discount
    for line, item in zip(q.best.lines, c.items, strict=True):
        assert 0 <= line.discount <= item.unit_price * item.quantity
    assert 0 <= q.best.total == q.subtotal + q.shipping_fee - best_value
    every = {r.coupon_id for r in q.rejected} | set(q.best.coupon_ids)
    assert every == {w.coupon_id for w in wallet}


def test_percent_applies_after_threshold_on_what_is_left_of_its_items() -> None:
    c = cart(("A", "snacks", 2, 30000), ("B", "wine", 1, 50000))
    wallet = [coupon("c1", {"type": "threshold", "threshold": 100000, "amount": 20000}),
              coupon("c2", {"type": "percent", "percent_off": 20},
                     scope={"include_categories": ["snacks"]})]
    q = quote(c, wallet, ctx())
    # 满1000减200 spreads over 600 + 500: snacks keep 600 - 200*600/1100 = 490.909…;
    # 20% of that rounds down to 98.18.
    assert q.best.discount == 20000 + 9818
    assert [ln.discount for ln in q.best.lines] == [20727, 9091]


def test_narrowest_amount_off_goes_first_so_capping_wastes_least() -> None:
    c = cart(("A", "food", 1, 10000), ("B", "toys", 1, 10000))
    wallet = [coupon("wide", {"type": "fixed", "amount": 15000}),
              coupon("narrow", {"type": "fixed", "amount": 10000},
                     scope={"include_skus": ["A"]})]
    q = quote(c, wallet, ctx())
    assert q.best.discount == 20000 and q.best.total == 0
    assert [ln.discount for ln in q.best.lines] == [10000, 10000]


def test_thirty_coupons_on_fifty_lines_prunes_to_a_small_search() -> None:
    items = [(f"S{i}", CATEGORIES[i % 3], 1 + i % 2, 1000 + 137 * i) for i in range(50)]
    c = cart(*items, shipping_fee=1000)
    wallet = [coupon(f"c{k:02d}", {"type": "threshold", "threshold": 5000 + 1000 * k,
                                   "amount": 500 + 50 * k},
                     stacking={"group": f"g{k % 5}"},
                     scope={"include_categories": [CATEGORIES[k % 3]]} if k % 2 else {})
              for k in range(30)]
    q = quote(c, wallet, ctx(max_per_order=4))
    assert len(q.best.coupon_ids) == 4
    assert len(q.rejected) == 26

"""Audience evaluation throughput: Perks' compiled audiences vs three rule engines from PyPI.

One 10-leaf rule ("engaged gold and platinum members in big cities"), written in each
engine's own language, evaluated over the same synthetic member profiles in one run:

* Perks            ``compile_audience(tree)`` → a plain Python function (compiled once)
* panzi-json-logic ``jsonLogic(rule, data)``
* business-rules   ``run_all([rule], variables, actions)`` (no ``between`` and no ``in`` for
                   strings: age is two leaves, tier/city are one-element select_multiple
                   variables with ``is_contained_by``, so its rule has 11 leaves)
* rule-engine      ``Rule(text).matches(data)`` (parsed once)

Perks evaluates every one of the ``--profiles`` profiles (default 1,000,000, generated in
chunks so memory stays flat). The peers are much slower, so each evaluates the same
every-``N``th profile of each chunk (``--peer-sample``, default 100,000 in total); all
throughputs are profiles per second of evaluation time only (generating and converting
profiles is not timed), and on the shared sample every engine must agree with Perks.
The ratio printed is Perks' throughput ÷ the fastest peer's; goal ≥ 5.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from common import summary

from chalicelib.domain.campaigns.audience import compile_audience

TREE: dict[str, Any] = {"all": [
    {"attr": "tier", "op": "in", "value": ["gold", "platinum"]},
    {"attr": "points.available", "op": "gte", "value": 500},
    {"any": [{"attr": "city", "op": "in", "value": ["Shanghai", "Beijing"]},
             {"attr": "city_tier", "op": "lte", "value": 2}]},
    {"attr": "orders_count", "op": "gte", "value": 3},
    {"attr": "last_order_days_ago", "op": "lte", "value": 90},
    {"not": {"attr": "tags", "op": "contains", "value": "churned"}},
    {"attr": "consent.push", "op": "eq", "value": True},
    {"attr": "age", "op": "between", "value": [25, 45]},
    {"attr": "lifetime_spend", "op": "gt", "value": 100_000},
]}

JSON_LOGIC: dict[str, Any] = {"and": [
    {"in": [{"var": "tier"}, ["gold", "platinum"]]},
    {">=": [{"var": "points.available"}, 500]},
    {"or": [{"in": [{"var": "city"}, ["Shanghai", "Beijing"]]},
            {"<=": [{"var": "city_tier"}, 2]}]},
    {">=": [{"var": "orders_count"}, 3]},
    {"<=": [{"var": "last_order_days_ago"}, 90]},
    {"!": {"in": ["churned", {"var": "tags"}]}},
    {"==": [{"var": "consent.push"}, True]},
    {"<=": [25, {"var": "age"}, 45]},
    {">": [{"var": "lifetime_spend"}, 100_000]},
]}

RULE_ENGINE = ("tier in ['gold', 'platinum'] and points_available >= 500"
               " and (city in ['Shanghai', 'Beijing'] or city_tier <= 2)"
               " and orders_count >= 3 and last_order_days_ago <= 90"
               " and not 'churned' in tags and consent_push == true"
               " and age >= 25 and age <= 45 and lifetime_spend > 100000")

BUSINESS_RULES: dict[str, Any] = {"conditions": {"all": [
    {"name": "tier_set", "operator": "is_contained_by", "value": ["gold", "platinum"]},
    {"name": "points_available", "operator": "greater_than_or_equal_to", "value": 500},
    {"any": [{"name": "city_set", "operator": "is_contained_by",
              "value": ["Shanghai", "Beijing"]},
             {"name": "city_tier", "operator": "less_than_or_equal_to", "value": 2}]},
    {"name": "orders_count", "operator": "greater_than_or_equal_to", "value": 3},
    {"name": "last_order_days_ago", "operator": "less_than_or_equal_to", "value": 90},
    {"name": "tags", "operator": "does_not_contain", "value": "churned"},
    {"name": "consent_push", "operator": "is_true", "value": None},
    {"name": "age", "operator": "greater_than_or_equal_to", "value": 25},
    {"name": "age", "operator": "less_than_or_equal_to", "value": 45},
    {"name": "lifetime_spend", "operator": "greater_than", "value": 100_000},
]}, "actions": [{"name": "matched", "params": {}}]}

TIERS = ["base", "silver", "gold", "gold", "platinum"]
CITIES = ["Shanghai", "Beijing", "Chengdu", "Hangzhou", "Xining", "Lhasa"]
CITY_TIER = {"Shanghai": 1, "Beijing": 1, "Chengdu": 2, "Hangzhou": 2, "Xining": 4,
             "Lhasa": 5}
TAGS = ["vip", "churned", "student", "parent", "night-owl"]


def profiles(n: int, chunk: int, seed: int = 7) -> Iterator[list[dict[str, Any]]]:
    """Audience profiles (the dict compiled audiences read), ``chunk`` at a time."""
    rnd = random.Random(seed)
    made = 0
    while made < n:
        size = min(chunk, n - made)
        out = []
        for _ in range(size):
            city = rnd.choice(CITIES)
            out.append({
                "tier": rnd.choice(TIERS), "points.available": rnd.randrange(0, 5000),
                "city": city, "city_tier": CITY_TIER[city],
                "orders_count": rnd.randrange(0, 40),
                "last_order_days_ago": rnd.randrange(0, 400),
                "tags": frozenset(rnd.sample(TAGS, rnd.randrange(0, 3))),
                "consent.push": rnd.random() < 0.7, "age": rnd.randrange(16, 80),
                "lifetime_spend": rnd.randrange(0, 2_000_000),
            })
        made += size
        yield out


def for_json_logic(p: dict[str, Any]) -> dict[str, Any]:
    d = {k: v for k, v in p.items() if "." not in k}
    d.update(points={"available": p["points.available"]},
             consent={"push": p["consent.push"]}, tags=sorted(p["tags"]))
    return d


def for_rule_engine(p: dict[str, Any]) -> dict[str, Any]:
    d = {k.replace(".", "_"): v for k, v in p.items()}
    d["tags"] = tuple(sorted(p["tags"]))
    return d


def _business_rules_variables() -> Any:
    """business-rules reads a profile through a class of decorated variables."""
    from business_rules.variables import (
        BaseVariables,
        boolean_rule_variable,
        numeric_rule_variable,
        select_multiple_rule_variable,
        select_rule_variable,
    )

    class Variables(BaseVariables):
        def __init__(self, p: dict[str, Any]) -> None:
            self.p = p

        @select_multiple_rule_variable()
        def tier_set(self) -> list[str]:
            return [self.p["tier"]]

        @select_multiple_rule_variable()
        def city_set(self) -> list[str]:
            return [self.p["city"]]

        @select_rule_variable()
        def tags(self) -> list[str]:
            return list(self.p["tags"])

        @boolean_rule_variable()
        def consent_push(self) -> bool:
            return bool(self.p["consent.push"])

        @numeric_rule_variable()
        def points_available(self) -> int:
            return int(self.p["points.available"])

        @numeric_rule_variable()
        def city_tier(self) -> int:
            return int(self.p["city_tier"])

        @numeric_rule_variable()
        def orders_count(self) -> int:
            return int(self.p["orders_count"])

        @numeric_rule_variable()
        def last_order_days_ago(self) -> int:
            return int(self.p["last_order_days_ago"])

        @numeric_rule_variable()
        def age(self) -> int:
            return int(self.p["age"])

        @numeric_rule_variable()
        def lifetime_spend(self) -> int:
            return int(self.p["lifetime_spend"])

    return Variables


def business_rules_engine() -> tuple[Callable[[dict[str, Any]], bool], Callable[..., Any]]:
    from business_rules import engine
    from business_rules.actions import BaseActions, rule_action

    Variables = _business_rules_variables()

    class Actions(BaseActions):
        hit = False

        @rule_action(params={})
        def matched(self) -> None:
            Actions.hit = True

    rules = [BUSINESS_RULES]
    actions = Actions()

    def match(p: dict[str, Any]) -> bool:
        return bool(engine.run_all(rules, Variables(p), actions, stop_on_first_trigger=True))

    return match, Variables


def timed(fn: Callable[[Any], bool], data: list[Any]) -> tuple[float, list[bool]]:
    t0 = time.perf_counter()
    out = [fn(d) for d in data]
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profiles", type=int, default=1_000_000)
    ap.add_argument("--peer-sample", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=50_000)
    args = ap.parse_args()

    from json_logic import jsonLogic
    from rule_engine import Rule

    t0 = time.perf_counter()
    match = compile_audience(TREE)
    compile_ms = (time.perf_counter() - t0) * 1000
    rule = Rule(RULE_ENGINE)
    br_match, _ = business_rules_engine()
    peers: dict[str, tuple[Callable[[Any], bool], Callable[[dict[str, Any]], Any]]] = {
        "panzi-json-logic": (lambda d: bool(jsonLogic(JSON_LOGIC, d)), for_json_logic),
        "business-rules": (br_match, lambda p: p),
        "rule-engine": (rule.matches, for_rule_engine),
    }
    every = max(1, args.profiles // max(1, args.peer_sample))
    perks_time = 0.0
    perks_n = perks_hits = 0
    peer_time = dict.fromkeys(peers, 0.0)
    peer_n = dict.fromkeys(peers, 0)
    disagreements = 0
    for chunk in profiles(args.profiles, args.chunk):
        seconds, results = timed(match, chunk)
        perks_time += seconds
        perks_n += len(chunk)
        perks_hits += sum(results)
        sample = chunk[::every]
        expected = results[::every]
        for name, (fn, convert) in peers.items():
            data = [convert(p) for p in sample]
            seconds, got = timed(fn, data)
            peer_time[name] += seconds
            peer_n[name] += len(data)
            disagreements += sum(g != e for g, e in zip(got, expected, strict=True))
    perks_rate = perks_n / perks_time
    print(f"rule: 10 leaves (business-rules: 11); Perks compiled in {compile_ms:.2f} ms")
    print(f"profiles: Perks {perks_n:,} (matched {perks_hits:,}, "
          f"{100 * perks_hits / perks_n:.1f} %); peers every {every}th profile")
    print(f"{'engine':<18}{'profiles':>12}{'seconds':>10}{'profiles/s':>14}{'Perks x':>10}")
    print(f"{'perks':<18}{perks_n:>12,}{perks_time:>10.2f}{perks_rate:>14,.0f}{1:>10.1f}")
    rates = {}
    for name in peers:
        rates[name] = peer_n[name] / peer_time[name]
        print(f"{name:<18}{peer_n[name]:>12,}{peer_time[name]:>10.2f}{rates[name]:>14,.0f}"
              f"{perks_rate / rates[name]:>10.1f}")
    fastest = max(rates, key=lambda k: rates[k])
    ratio = perks_rate / rates[fastest]
    print(f"disagreements with Perks on the shared sample: {disagreements}")
    ok = ratio >= 5 and disagreements == 0
    print(f"Perks {perks_rate:,.0f} profiles/s over {perks_n:,} profiles; fastest peer "
          f"{fastest} {rates[fastest]:,.0f}/s over {peer_n[fastest]:,}")
    summary(f"SUMMARY audience: Perks/fastest peer {fastest}={ratio:.1f}x (goal >=5), "
            f"disagreements={disagreements} (goal ==0) {'PASS' if ok else 'FAIL'}")

if __name__ == "__main__":
    main()

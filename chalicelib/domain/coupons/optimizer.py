"""The exact best stacks for a cart: branch and bound over the valid stacks.

A *valid stack* is a non-empty set of eligible coupons with at most ``max_count`` coupons,
at most one per stacking group and one per template, an exclusive coupon only alone, and
every coupon contributing something (see ``Outcome.valid``). Stacks rank by
``Outcome.key()``: most discount (items + shipping), then most gift value, fewest coupons,
soonest-expiring coupons, coupon ids.

Why the search is exact:
* coupons are added in canonical evaluation order, so adding a coupon never changes what
  the coupons before it took;
* a coupon takes at most its stand-alone discount (it only ever sees less of the cart), so
  ``discount(S + T) <= discount(S) + sum(stand-alone of T)``, also capped by what is left of
  the cart — a subtree whose bound cannot beat the k-th best stack found is skipped;
* a coupon that takes nothing keeps taking nothing when more come after it, so such a
  subtree holds no valid stack at all.
A greedy stack and its one-smaller subsets seed the results so that pruning starts early.
"""

from __future__ import annotations

from bisect import bisect_left

from chalicelib.domain.coupons.rules import GIFT
from chalicelib.domain.coupons.stacking import Outcome, Prepared, Space, State, apply, evaluate

Key = tuple[int, int, int, tuple[float, ...], tuple[str, ...]]  # Outcome.key()


class _Top:
    """The ``size`` best outcomes seen so far, best first, without duplicates."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.keys: list[Key] = []
        self.outs: list[Outcome] = []

    def offer(self, out: Outcome, value: int | None = None, gift: int = 0,
              checked: bool = False) -> None:
        """Keep ``out`` if it ranks among the best (``value``/``gift`` given: a cheap
        pre-check against the worst kept before the full key is built)."""
        if not out.stack or not (checked or out.valid):
            return
        if value is not None and len(self.keys) >= self.size and (
                -value, -gift, len(out.stack)) > self.keys[-1][:3]:
            return
        k = out.key()
        if len(self.keys) >= self.size and k >= self.keys[-1]:
            return
        i = bisect_left(self.keys, k)
        if i < len(self.keys) and self.keys[i] == k:
            return
        self.keys.insert(i, k)
        self.outs.insert(i, out)
        del self.keys[self.size:], self.outs[self.size:]

    def can_beat(self, discount: int, gift: int, count: int) -> bool:
        if len(self.keys) < self.size:
            return True
        return (-discount, -gift, count) <= self.keys[-1][:3]


def _suffix_tops(values: list[int], limit: int) -> list[list[int]]:
    """tops[j][k] = sum of the k largest of values[j:] (k ≤ limit)."""
    tops: list[list[int]] = [[0] * (limit + 1) for _ in range(len(values) + 1)]
    best: list[int] = []
    for j in range(len(values) - 1, -1, -1):
        best = sorted([*best, values[j]], reverse=True)[:limit]
        acc = 0
        row = tops[j]
        for k in range(1, limit + 1):
            if k <= len(best):
                acc += best[k - 1]
            row[k] = acc
    return tops


def _greedy(space: Space, cands: list[Prepared], max_count: int) -> Outcome | None:
    chosen: list[Prepared] = []
    best: Outcome | None = None
    for p in sorted(cands, key=lambda p: (-(p.standalone + p.gift_value), p.order)):
        if len(chosen) >= max_count:
            break
        g = p.coupon.rules.group
        if any(q.template_id == p.template_id or (g and q.coupon.rules.group == g)
               for q in chosen):
            continue
        trial = evaluate(space, [*chosen, p])
        if trial.valid and (best is None or trial.key() < best.key()):
            chosen.append(p)
            best = trial
    return best


def search(space: Space, max_count: int, top: int = 4) -> list[Outcome]:
    """The ``top`` best valid stacks, best first (exact)."""
    results = _Top(top)
    cands = [p for p in space.prepared if not p.coupon.rules.exclusive]
    for p in space.prepared:
        if p.coupon.rules.exclusive:
            results.offer(evaluate(space, [p]))
    if not cands or max_count < 1:
        return results.outs
    seed = _greedy(space, cands, max_count)
    if seed is not None:
        results.offer(seed)
        for i in range(len(seed.stack)):
            results.offer(evaluate(space, [*seed.stack[:i], *seed.stack[i + 1:]]))
    limit = max_count
    tops = _suffix_tops([p.standalone for p in cands], limit)
    gift_tops = _suffix_tops([p.gift_value for p in cands], limit)
    n = len(cands)
    subtotal = space.subtotal

    def dfs(start: int, state: State, chosen: tuple[Prepared, ...], takes: tuple[int, ...],
            ships: tuple[int, ...], items: int, ship: int, gift: int, groups: frozenset[str],
            templates: frozenset[str]) -> None:
        k_left = limit - len(chosen)
        room = subtotal - items + state.fee_left
        for j in range(start, n):
            bound = items + ship + min(tops[j][k_left], room)
            if not results.can_beat(bound, gift + gift_tops[j][k_left], len(chosen) + 1):
                return
            p = cands[j]
            group = p.coupon.rules.group
            if (group is not None and group in groups) or p.template_id in templates:
                continue
            new_state, t, s = apply(state, p)
            if not (t or s or p.phase == GIFT):
                continue
            out = Outcome((*chosen, p), (*takes, t), (*ships, s), new_state)
            results.offer(out, items + t + ship + s, gift + p.gift_value, checked=True)
            if k_left > 1:
                dfs(j + 1, new_state, out.stack, out.takes, out.ship_takes, items + t,
                    ship + s, gift + p.gift_value,
                    groups | {group} if group is not None else groups,
                    templates | {p.template_id})

    dfs(0, space.start(), (), (), (), 0, 0, 0, frozenset(), frozenset())
    return results.outs

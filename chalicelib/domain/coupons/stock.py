"""Stock spread over shards (flash sales): how to split it and how to change it. Pure.

A template with ``stock: S`` and ``stock_shards: K`` keeps S on K items (``STOCK#000`` …),
each holding ``remaining``. A claim takes one unit from one shard with a conditional write,
so no shard — and no template — can go below zero. Shards only ever go down while claims
run, so once every shard reads zero the template is sold out for good.
"""

from __future__ import annotations

from chalicelib.errors import Conflict


def split(stock: int, shards: int) -> list[int]:
    """``stock`` over ``shards`` as evenly as possible (the first ones get the extra unit)."""
    base, extra = divmod(stock, shards)
    return [base + (1 if k < extra else 0) for k in range(shards)]


def plan_change(remaining: list[int], delta: int) -> list[int]:
    """Per-shard changes that add ``delta`` units to the stock (negative: take them away).

    Adding spreads evenly, to the emptiest shards first; taking away draws from the fullest
    shards first and fails (409) if fewer units than that are left unclaimed.
    """
    n = len(remaining)
    changes = [0] * n
    if delta >= 0:
        for k, extra in zip(sorted(range(n), key=lambda i: (remaining[i], i)), split(delta, n),
                            strict=True):
            changes[k] = extra
        return changes
    need = -delta
    if need > sum(remaining):
        raise Conflict(f"stock can only go down by the {sum(remaining)} units not yet claimed",
                       details=[{"path": "/limits/stock", "message": "too low: more coupons "
                                 "were already claimed"}])
    left = remaining[:]
    while need:
        k = max(range(n), key=lambda i: (left[i], -i))
        take = min(need, max(1, left[k] - max(x for i, x in enumerate(left) if i != k)
                             if n > 1 else left[k]))
        take = min(take, left[k])
        left[k] -= take
        changes[k] -= take
        need -= take
    return changes

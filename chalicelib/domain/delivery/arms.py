"""Results per arm: each variant (or the whole treated group when there is none) and the
holdout, with 95 % intervals, the difference to the holdout, and a sample-ratio-mismatch
(SRM) check of the split. Pure (no I/O, no clock).

**Unit.** An *assignment*: a member decided for one occurrence of the campaign, what
``assigned`` (treated, intent to treat) and ``held_out`` count. A member of a recurring
campaign counts once per occurrence, and the holdout draw is fixed per (campaign, member), so
repeated occurrences are not independent: intervals over many occurrences are too narrow.

**Conversion** = converters / members, with a Wilson score interval; its difference to the
holdout with Newcombe's hybrid score interval (``results.compare``).

**Revenue per member** = attributed revenue / members (integer minor units, fen), with a
normal-approximation interval from the arm's sum ``S`` (``revenue_<group>``) and sum of
squares ``Q`` (``revenue_sq_<group>``) of each assignment's attributed revenue over ``n``
members: mean ``S/n``, variance ``s² = (Q - S²/n)/(n - 1)``, interval ``mean ± z·s/√n``; the
difference to the holdout is Welch's (``se = √(s₁²/n₁ + s₀²/n₀)``). Members without an order
count as 0, so the sums need only the orders. ``Q`` is exact integer arithmetic: an order of
``t`` credited to an assignment whose attributed revenue was ``p`` adds ``(p+t)² - p²`` in
the same conditional transaction that moves the send record's ``attributed_revenue`` from
``p`` to ``p+t`` (``order_adds``). A counter lands on its order's day, so for a range that
starts after an assignment's first order the added squares overstate that assignment's
spread (``(p+t)² - p² ≥ t²``): the interval is then wider, never narrower. Orders credited
before these counters existed added no square; ``orders_sq_<group>`` counts the orders that
did, and when it falls short of ``orders_<group>`` the interval is withheld (``unavailable``).
Figures are rounded to whole fen: the mean to the nearest, bounds outwards.

**SRM.** Assigned counts against the configured split: the holdout draw takes
``holdout_percent`` % and the variants share the rest by weight (``policy.held_out``,
``policy.variant``: independent draws), so arm *i* expects ``(1 - h)·wᵢ/Σw`` of the members.
Pearson's chi-square goodness of fit with k - 1 degrees of freedom; its p-value is the
regularized upper incomplete gamma ``Q(df/2, χ²/2)`` (series or Lentz continued fraction,
Numerical Recipes §6.2). Flagged when p < 0.001. Not tested when an arm expects fewer than 5
members, when there is one arm only, with counters from before ``assigned`` existed, or when
the data holds an arm the configured split does not (the split changed). A split changed
mid-range, deliveries deferred by quiet hours into a later day in one arm only (variants with
different channels) or dead-lettered tasks are what usually trips it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypedDict

from chalicelib.domain.delivery.results import (
    MAX_RANGE_DAYS,
    MIN_GROUP,
    Z95,
    compare,
    day_range,
    verdict,
    wilson,
)

SRM_ALPHA = 0.001    # flag a split whose counts are this unlikely under the configured one
SRM_MIN_EXPECTED = 5  # Pearson's rule of thumb: every arm expects at least this many
TREATED, HOLDOUT, VARIANT = "treated", "holdout", "variant"  # arm kinds

SRM_MESSAGES = {
    "ok": ("分流比例正常：各组人数与配置一致。",  # noqa: RUF001
           "The split looks healthy: assigned counts match the configured split."),
    "mismatch": (
        "样本比例不匹配（SRM）：各组实际人数与配置的分流比例不符（p = {p} < 0.001），"  # noqa: RUF001
        "分流可能已损坏，本页结果不可信。请检查活动期间是否改过变体权重或对照比例，"  # noqa: RUF001
        "以及是否有投放被延迟或进入死信队列。",
        "Sample ratio mismatch (SRM): the members assigned to each arm do not match the "
        "configured split (p = {p} < 0.001). The split may be broken and these results are "
        "not trustworthy: check whether variant weights or the holdout share changed during "
        "the campaign, and whether deliveries were deferred or dead-lettered."),
    "insufficient": ("样本不足，暂不检查分流比例。",  # noqa: RUF001
                     "Not enough members yet to check the split."),
    "not_applicable": ("只有一个组，无需检查分流比例。",  # noqa: RUF001
                       "One group only: there is no split to check."),
    "legacy": ("部分数据早于按组计数，无法检查分流比例。",  # noqa: RUF001
               "Some counters predate per-arm assignment counts: the split cannot be "
               "checked."),
    "split_changed": ("数据中有当前配置里没有的组（分流配置已更改），无法检查分流比例。",  # noqa: RUF001
                      "The data has an arm the current split does not (the split was "
                      "changed): the split cannot be checked."),
}
REVENUE_UNAVAILABLE = ("部分订单早于收入离散度计数，无法给出区间。",  # noqa: RUF001
                       "Some orders predate the revenue spread counters: no interval.")


# --- writing -----------------------------------------------------------------------------

def order_adds(group: str, prior: int, total: int) -> dict[str, int]:
    """The counters an order of ``total`` (fen) credited to an assignment adds, when that
    assignment's attributed revenue was ``prior``: orders, revenue, the exact change of the
    sum of squares, and one ``orders_sq`` (an order whose square is counted)."""
    return {f"orders_{group}": 1, f"revenue_{group}": total,
            f"revenue_sq_{group}": total * (2 * prior + total), f"orders_sq_{group}": 1}


# --- the math ----------------------------------------------------------------------------

def gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x) = Γ(a, x)/Γ(a)."""
    if a <= 0 or x < 0:
        raise ValueError("gamma_q needs a > 0 and x >= 0")
    if x == 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # the series of P(a, x) converges fast here
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    return min(1.0, _gamma_q_fraction(a, x) * math.exp(log_front))


def _gamma_q_fraction(a: float, x: float) -> float:
    """The continued fraction of Q(a, x)·Γ(a)·eˣ·x⁻ᵃ (modified Lentz), for x >= a + 1."""
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < 1e-16:
            break
    return h


def chi2_sf(chi2: float, df: int) -> float:
    """P(X >= chi2) for a chi-square variable with ``df`` degrees of freedom."""
    return gamma_q(df / 2, chi2 / 2)


def mean_interval(n: int, total: int, squares: int, z: float = Z95
                  ) -> tuple[float, float, float, float] | None:
    """(mean, variance, low, high) of a per-member value from n, Σx and Σx² (None for
    fewer than 2 members). The variance is never negative: Σx² < (Σx)²/n can only come
    from counters missing squares, and is clamped at 0."""
    if n < 2:
        return None
    mean = total / n
    var = max(0.0, (squares - total * total / n) / (n - 1))
    half = z * math.sqrt(var / n)
    return mean, var, mean - half, mean + half


def welch(a: tuple[int, float, float], b: tuple[int, float, float], z: float = Z95
          ) -> tuple[float, float, float]:
    """mean_a - mean_b and its normal-approximation interval, from (n, mean, variance)."""
    d = a[1] - b[1]
    half = z * math.sqrt(a[2] / a[0] + b[2] / b[0])
    return d, d - half, d + half


# --- per arm -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Arm:
    """An arm's counters over a range (members: assigned, or delivered in older data)."""

    key: str
    kind: str
    members: int
    assigned: int
    converters: int
    orders: int
    revenue: int
    revenue_sq: int
    orders_sq: int

    @property
    def moments_complete(self) -> bool:
        return self.orders_sq >= self.orders


def gather(rows: Iterable[Mapping[str, Any]], first: str, last: str) -> dict[str, int]:
    """Sum every numeric attribute of the DAY#<day>#<shard> rows of ``first``..``last``."""
    out: dict[str, int] = {}
    for row in rows:
        day = str(row.get("SK", ""))[4:14]
        if not first <= day <= last:
            continue
        for k, v in row.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                out[k] = out.get(k, 0) + int(v)
    return out


def _arm(total: Mapping[str, int], kind: str, key: str) -> Arm:
    group = HOLDOUT if kind == HOLDOUT else TREATED
    sfx = f"@{key}" if kind == VARIANT else ""

    def get(name: str) -> int:
        return int(total.get(f"{name}_{group}{sfx}", 0))

    if kind == HOLDOUT:
        assigned = members = int(total.get("held_out", 0))
    else:
        assigned = int(total.get(f"assigned{sfx}", 0))
        members = assigned or int(total.get(f"delivered{sfx}", 0))
    return Arm(key, kind, members, assigned, get("converters"), get("orders"),
               get("revenue"), get("revenue_sq"), get("orders_sq"))


def arms_of(total: Mapping[str, int], variants: Sequence[str], holdout: bool
            ) -> list[Arm]:
    """The configured variants, then any other arm in the data, or the whole treated group
    when there are none; the holdout last (when configured or counted)."""
    seen = sorted({k.split("@", 1)[1] for k in total if "@" in k} - set(variants))
    keys = [*variants, *seen]
    out = [_arm(total, VARIANT, k) for k in keys] or [_arm(total, TREATED, TREATED)]
    if holdout or total.get("held_out"):
        out.append(_arm(total, HOLDOUT, HOLDOUT))
    return out


def split(holdout_percent: float, weights: Sequence[tuple[str, int]]
          ) -> dict[tuple[str, str], float]:
    """The configured share of each arm, keyed (kind, key); shares add up to 1."""
    h = max(0.0, min(100.0, holdout_percent)) / 100
    w = sum(x for _, x in weights)
    out = ({(VARIANT, k): (1 - h) * x / w for k, x in weights} if w > 0
           else {(TREATED, TREATED): 1 - h})
    if h > 0:
        out[(HOLDOUT, HOLDOUT)] = h
    return out


def _money(x: float, how: str = "round") -> int:
    """Whole fen: the nearest, or outwards for an interval's bounds."""
    if how == "floor":
        return math.floor(x)
    if how == "ceil":
        return math.ceil(x)
    return round(x)


def revenue_per_member(a: Arm) -> dict[str, Any]:
    """Mean revenue per member (fen) and its 95 % interval (bounds outwards, low >= 0)."""
    out: dict[str, Any] = {"mean": _money(a.revenue / a.members) if a.members else None,
                           "ci_low": None, "ci_high": None, "status": "ok"}
    if not a.moments_complete:
        zh, en = REVENUE_UNAVAILABLE
        return {**out, "status": "unavailable", "note_zh": zh, "note_en": en}
    got = mean_interval(a.members, a.revenue, a.revenue_sq)
    if got is None:
        return {**out, "status": "insufficient"}
    _, _, lo, hi = got
    return {**out, "ci_low": max(0, _money(lo, "floor")), "ci_high": _money(hi, "ceil")}


def revenue_versus(a: Arm, held: Arm) -> dict[str, Any]:
    """Revenue per member minus the holdout's (fen), Welch interval, verdict."""
    out: dict[str, Any] = {"diff": None, "ci_low": None, "ci_high": None}
    if held.members <= 0:
        return {**out, **verdict("no_holdout")}
    if not (a.moments_complete and held.moments_complete):
        zh, en = REVENUE_UNAVAILABLE
        return {**out, "verdict": "unavailable", "verdict_zh": zh, "verdict_en": en}
    mine = mean_interval(a.members, a.revenue, a.revenue_sq)
    theirs = mean_interval(held.members, held.revenue, held.revenue_sq)
    if mine is None or theirs is None:
        return {**out, **verdict("insufficient")}
    d, lo, hi = welch((a.members, mine[0], mine[1]), (held.members, theirs[0], theirs[1]))
    out.update(diff=_money(d), ci_low=_money(lo, "floor"), ci_high=_money(hi, "ceil"))
    if a.members < MIN_GROUP or held.members < MIN_GROUP or a.orders + held.orders == 0:
        return {**out, **verdict("insufficient")}
    code = "significant_lift" if lo > 0 else "significant_drop" if hi < 0 else "no_difference"
    return {**out, **verdict(code)}


def _r(x: float) -> float:
    return round(x, 6)


def arm_row(a: Arm, held: Arm | None, shares: Mapping[tuple[str, str], float],
            assigned_total: int) -> dict[str, Any]:
    lo, hi = wilson(a.converters, a.members)
    expected = shares.get((a.kind, a.key))
    row: dict[str, Any] = {
        "arm": a.key, "kind": a.kind, "members": a.members, "assigned": a.assigned,
        "converters": a.converters, "orders": a.orders, "revenue": a.revenue,
        "share": _r(a.assigned / assigned_total) if assigned_total else None,
        "expected_share": None if expected is None else _r(expected),
        "conversion": {"rate": _r(a.converters / a.members) if a.members else None,
                       "ci_low": _r(lo) if a.members else None,
                       "ci_high": _r(hi) if a.members else None},
        "revenue_per_member": revenue_per_member(a), "vs_holdout": None}
    if held is not None and a.kind != HOLDOUT:
        conv = compare(a.converters, a.members, held.converters, held.members)
        row["vs_holdout"] = {
            "conversion": {k: conv[k] for k in ("lift", "relative_lift", "ci_low", "ci_high",
                                                "verdict", "verdict_zh", "verdict_en")},
            "revenue_per_member": revenue_versus(a, held)}
    return row


# --- sample ratio mismatch ---------------------------------------------------------------

def srm(arms: Sequence[Arm], shares: Mapping[tuple[str, str], float]) -> dict[str, Any]:
    """Chi-square goodness of fit of the assigned counts against the configured split."""
    observed = {(a.kind, a.key): a.assigned for a in arms}
    rows: list[dict[str, Any]] = [
        {"arm": key, "kind": kind, "observed": observed.get((kind, key), 0), "expected": None,
         "expected_share": _r(p)} for (kind, key), p in shares.items()]
    out: dict[str, Any] = {"flagged": False, "chi2": None, "df": None, "p_value": None,
                           "threshold": SRM_ALPHA, "arms": rows}
    n = sum(r["observed"] for r in rows)
    if len(shares) < 2:
        return {**out, **_srm_status("not_applicable")}
    if any(a.members and (a.kind, a.key) not in shares for a in arms):
        return {**out, **_srm_status("split_changed")}
    if any(a.kind != HOLDOUT and a.members and not a.assigned for a in arms):
        return {**out, **_srm_status("legacy")}
    for r, p in zip(rows, shares.values(), strict=True):
        r["expected"] = round(n * p, 3)
    if n == 0 or min(shares.values()) * n < SRM_MIN_EXPECTED:
        return {**out, **_srm_status("insufficient")}
    chi2 = sum((r["observed"] - n * p) ** 2 / (n * p)
               for r, p in zip(rows, shares.values(), strict=True))
    df = len(shares) - 1
    p_value = chi2_sf(chi2, df)
    code = "mismatch" if p_value < SRM_ALPHA else "ok"
    return {**out, "flagged": code == "mismatch", "chi2": round(chi2, 4), "df": df,
            "p_value": float(f"{p_value:.4g}"), **_srm_status(code, p_value)}


def _srm_status(code: str, p: float | None = None) -> dict[str, Any]:
    zh, en = SRM_MESSAGES[code]
    shown = f"{p:.2g}" if p is not None else ""
    return {"status": code, "message_zh": zh.format(p=shown), "message_en": en.format(p=shown)}


# --- the results section -----------------------------------------------------------------

class ArmSummary(TypedDict):
    """What ``summary`` adds to the results: one object per arm, and the SRM check."""

    arms: list[dict[str, Any]]
    srm: dict[str, Any]


def span(start_day: str, today: str, first: str | None, last: str | None
         ) -> tuple[str, str] | str:
    """The days of a per-arm read: ``first``..``last`` when given, else from the campaign's
    first day (at most ``MAX_RANGE_DAYS`` back) up to today; or what is wrong with them."""
    try:
        hi = date.fromisoformat(last or today)
    except ValueError:
        return "dates must be yyyy-mm-dd"
    earliest = (hi - timedelta(days=MAX_RANGE_DAYS - 1)).isoformat()
    return day_range(first or max(min(start_day, hi.isoformat()), earliest), last, today)


def summary(rows: Iterable[Mapping[str, Any]], first: str, last: str,
            holdout_percent: float, weights: Sequence[tuple[str, int]]) -> ArmSummary:
    """``arms`` (each variant, or the treated group, then the holdout) and ``srm`` for the
    days ``first``..``last`` of the daily counter rows."""
    total = gather(rows, first, last)
    shares = split(holdout_percent, weights)
    arms = arms_of(total, [k for k, _ in weights], holdout_percent > 0)
    held = next((a for a in arms if a.kind == HOLDOUT), None)
    assigned = sum(a.assigned for a in arms)
    return {"arms": [arm_row(a, held, shares, assigned) for a in arms],
            "srm": srm(arms, shares)}

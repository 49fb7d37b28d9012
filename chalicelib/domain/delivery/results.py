"""Campaign results: daily counters, per-variant conversion, lift over the holdout with a
95 % confidence interval, and a plain-language verdict. Pure (no I/O).

Days are calendar days in the campaign's timezone (what a marketer in Shanghai calls
"Tuesday"), not UTC days. Every counter is added on the day its event happened: a member is
counted ``delivered`` on the day of the send and a ``converter`` on the day of the order, so
a range's conversion rate is converters in the range over delivered in the range.

Variant arms: a write tied to a treated member's arm (delivered, suppressed or failed) also
adds ``<counter>@<arm>`` for the ``VARIANT_COUNTERS`` (and ``suppressed@<arm>``, every
reason); the holdout is its own group (``held_out``, ``converters_holdout``).

Unsubscribes: a consent withdrawn through a campaign's message (its one-click link, an SES
complaint or permanent bounce) adds ``unsubscribed`` on the day of the withdrawal, in the
consent change's own transaction, and ``unsubscribed@<arm>`` for the arm of the member's
latest send of the campaign (``arm_of``).

Lift is intent to treat: the treated group is every member assigned to it (``assigned``),
not only those delivered, since the holdout is drawn before consent, quiet hours and caps.

The lift interval is Newcombe's hybrid score interval (method 10, Newcombe 1998) for the
difference of two proportions, built from two Wilson score intervals: it behaves at small
counts and near 0 % where the normal approximation does not.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import TypedDict
from zoneinfo import ZoneInfo

from chalicelib.domain.delivery.stats import (
    CHANNELS,
    COUNTERS,
    SUPPRESS_REASONS,
    treated_members,
)

Z95 = 1.959963984540054   # the standard normal's 97.5th percentile
MIN_GROUP = 30            # fewer members in a group: "not enough data", whatever the interval
MAX_RANGE_DAYS = 366
RECENT_DAYS = 7           # the campaign list's sparkline
VARIANT_COUNTERS = ("targeted", "assigned", "delivered", "suppressed", "coupons_issued",
                    "coupons_redeemed", "points_awarded", "cost_minor", "orders_treated",
                    "revenue_treated", "converters_treated", "unsubscribed")
SPARK_COUNTERS = ("delivered", "coupons_redeemed")  # what the list's sparkline draws
# Revenue per assignment's sum of squares and the orders it counts (domain/delivery/arms.py):
# daily and per arm, never in the CSV or the totals.
MOMENT_COUNTERS = ("revenue_sq_treated", "orders_sq_treated")

VERDICTS = {
    "significant_lift": ("显著提升", "Significant lift"),
    "significant_drop": ("显著下降", "Significant drop"),
    "no_difference": ("无显著差异", "No significant difference"),
    "insufficient": ("样本不足", "Not enough data yet"),
    "no_holdout": ("无对照组", "No holdout group to compare with"),
}


# What ``assemble`` returns ("from" is a keyword: the functional form). A day row holds
# "day" and every counter; a variant, the lift and the holdout are JSON objects for the console.
Results = TypedDict("Results", {
    "from": str, "to": str, "days": list[dict[str, str | int]], "totals": dict[str, int],
    "suppressed": dict[str, int], "sent": dict[str, int], "variants": list[dict[str, object]],
    "holdout": dict[str, object], "lift": dict[str, object]})


# --- writing ---------------------------------------------------------------------------------

def local_day(at: datetime | str, timezone: str) -> str:
    """The calendar day (yyyy-mm-dd) of an instant in ``timezone``."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return at.astimezone(ZoneInfo(timezone)).date().isoformat()


def daily_adds(counters: Mapping[str, int], variant: str | None) -> dict[str, int]:
    """What the daily item ADDs: the counters, and per arm the variant counters."""
    out = {k: int(v) for k, v in counters.items() if v}
    if variant:
        out.update({f"{k}@{variant}": int(v) for k, v in counters.items()
                    if v and (k in VARIANT_COUNTERS or k in MOMENT_COUNTERS)})
        # one per-arm suppression total (whatever the reason): the arm's reach
        suppressed = sum(int(v) for k, v in counters.items() if k.startswith("suppressed_"))
        if suppressed:
            out[f"suppressed@{variant}"] = suppressed
    return out


def arm_of(sends: Iterable[Mapping[str, object]], campaign_id: str) -> str | None:
    """The arm of the member's latest send record of ``campaign_id`` that has one (None: no
    variant, the holdout, or no send record left)."""
    armed = [s for s in sends if s.get("campaign_id") == campaign_id and s.get("variant")]
    if not armed:
        return None
    return str(max(armed, key=lambda s: str(s.get("decided_at") or ""))["variant"])


def recent_adds(counters: Mapping[str, int], day: str) -> dict[str, int]:
    """The sparkline counters of one day (``delivered@2025-01-31``); empty when none."""
    return {f"{k}@{day}": int(counters[k]) for k in SPARK_COUNTERS if counters.get(k)}


def recent_stale(day: str) -> list[str]:
    """Sparkline attributes old enough to drop when ``day`` is written: the week before the
    sparkline's window, so the item stays a few hundred bytes."""
    d = date.fromisoformat(day)
    return [f"{k}@{(d - timedelta(days=n)).isoformat()}" for n in
            range(RECENT_DAYS + 1, 2 * RECENT_DAYS + 2) for k in SPARK_COUNTERS]


# --- reading ---------------------------------------------------------------------------------

def day_range(first: str | None, last: str | None, today: str, default_days: int = 30
              ) -> tuple[str, str] | str:
    """(first, last) as ISO days, or a message saying what is wrong with them."""
    try:
        hi = date.fromisoformat(last) if last else date.fromisoformat(today)
        lo = date.fromisoformat(first) if first else hi - timedelta(days=default_days - 1)
    except ValueError:
        return "dates must be yyyy-mm-dd"
    if lo > hi:
        return "from must not be after to"
    if (hi - lo).days + 1 > MAX_RANGE_DAYS:
        return f"at most {MAX_RANGE_DAYS} days at a time"
    return lo.isoformat(), hi.isoformat()


def days_between(first: str, last: str) -> list[str]:
    lo, hi = date.fromisoformat(first), date.fromisoformat(last)
    return [(lo + timedelta(days=n)).isoformat() for n in range((hi - lo).days + 1)]


def _add(into: dict[str, int], row: Mapping[str, object]) -> None:
    for k, v in row.items():
        if (k in COUNTERS or "@" in k) and isinstance(v, (int, float)) and not isinstance(
                v, bool):
            into[k] = into.get(k, 0) + int(v)


def _flat(c: Mapping[str, int]) -> dict[str, int]:
    return {k: int(c.get(k, 0)) for k in COUNTERS}


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (0, 0 for an empty group)."""
    if n <= 0:
        return 0.0, 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95
             ) -> tuple[float, float, float]:
    """p1 - p2 and its hybrid score interval (Newcombe 1998, method 10)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return (d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def compare(converters: int, members: int, held_converters: int, held: int
            ) -> dict[str, object]:
    """Conversion of a treated group against the holdout: rates, lift, interval, verdict."""
    rate = converters / members if members else None
    out: dict[str, object] = {"members": members, "converters": converters,
                           "conversion_rate": _r(rate), "lift": None, "relative_lift": None,
                           "ci_low": None, "ci_high": None}
    if held <= 0:
        return {**out, **verdict("no_holdout")}
    if members <= 0:
        return {**out, **verdict("insufficient")}
    d, lo, hi = newcombe(converters, members, held_converters, held)
    p2 = held_converters / held
    out.update(lift=_r(d), relative_lift=_r(d / p2) if p2 else None, ci_low=_r(lo),
               ci_high=_r(hi))
    if members < MIN_GROUP or held < MIN_GROUP or converters + held_converters == 0:
        return {**out, **verdict("insufficient")}
    if lo > 0:
        return {**out, **verdict("significant_lift")}
    if hi < 0:
        return {**out, **verdict("significant_drop")}
    return {**out, **verdict("no_difference")}


def verdict(code: str) -> dict[str, str]:
    zh, en = VERDICTS[code]
    return {"verdict": code, "verdict_zh": zh, "verdict_en": en}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def assemble(rows: Iterable[Mapping[str, object]], first: str, last: str,
             variants: Iterable[str] = ()) -> Results:
    """Per day (every day of the range, zeros included), totals, per variant and the lift of
    the whole treated group over the holdout, from the DAY#<day>#<shard> rows."""
    by_day: dict[str, dict[str, int]] = {d: {} for d in days_between(first, last)}
    total: dict[str, int] = {}
    for row in rows:
        day = str(row.get("SK", ""))[4:14]
        if day in by_day:
            _add(by_day[day], row)
            _add(total, row)
    held, held_conv = total.get("held_out", 0), total.get("converters_holdout", 0)
    arms = list(dict.fromkeys([*variants, *sorted(
        {k.split("@", 1)[1] for k in total if "@" in k})]))
    per_variant: list[dict[str, object]] = []
    for arm in arms:
        got = {k: total.get(f"{k}@{arm}", 0) for k in VARIANT_COUNTERS}
        per_variant.append({"variant": arm, **got, **compare(
            got["converters_treated"], treated_members(got), held_conv, held)})
    flat = _flat(total)
    return {
        "from": first, "to": last,
        "days": [{"day": d, **_flat(c)} for d, c in by_day.items()],
        "totals": flat,
        "suppressed": {r: flat[f"suppressed_{r}"] for r in SUPPRESS_REASONS},
        "sent": {ch: flat[f"sent_{ch}"] for ch in CHANNELS},
        "variants": per_variant,
        "holdout": {"members": held, "converters": held_conv,
                    "conversion_rate": _r(held_conv / held) if held else None},
        "lift": compare(flat["converters_treated"], treated_members(flat), held_conv, held),
    }


def recent(rows: Iterable[Mapping[str, object]], today: str) -> dict[str, list[str] | list[int]]:
    """The last ``RECENT_DAYS`` days of the sparkline counters, oldest first."""
    days = days_between((date.fromisoformat(today) - timedelta(days=RECENT_DAYS - 1))
                        .isoformat(), today)
    sums: dict[str, int] = {}
    for row in rows:
        for k, v in row.items():
            if "@" in k and isinstance(v, (int, float)) and not isinstance(v, bool):
                sums[k] = sums.get(k, 0) + int(v)
    return {"days": days, **{k: [sums.get(f"{k}@{d}", 0) for d in days]
                             for k in SPARK_COUNTERS}}


def to_csv(result: Results) -> str:
    """One line per day and a total line; counters only (no member data)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["day", *COUNTERS])
    for d in result["days"]:
        w.writerow([d["day"], *(d[k] for k in COUNTERS)])
    w.writerow(["total", *(result["totals"][k] for k in COUNTERS)])
    return buf.getvalue()

"""Audience size from a uniform sample of the member index, with its 95 % margin. Pure.

The sample is every member whose index rank falls in the rank ranges read; ranks are a hash
of the member id, so each member is in the sample independently with probability ``rate``
(the share of the whole rank space covered: the covered share of each bucket read, summed,
over the 64 buckets). That is Bernoulli (Poisson) sampling, and the Horvitz-Thompson total
``matched / rate`` is unbiased, with variance ``size x (1 - rate) / rate``. The margin is
1.96 standard deviations (normal approximation to the binomial), rounded up; with no match
in the sample the 95 % upper bound of a zero count (3, "rule of three") is used instead, so
a margin is never falsely 0 while the sample is partial.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import NotRequired, TypedDict

Z95 = 1.96


class Estimate(TypedDict):
    """An audience size: exact when every member was read, else with its 95 % margin."""

    size: int
    exact: bool
    profiles_read: int
    margin: NotRequired[int | None]
    low: NotRequired[int]
    high: NotRequired[int]
    confidence: NotRequired[float]
    matched_in_sample: NotRequired[int]
    population: NotRequired[int]
    sampled_share: NotRequired[float]
    method: NotRequired[str]


class TimezoneShare(TypedDict):
    timezone: str
    share: float


def estimate(matched: int, read: int, rate: float) -> Estimate:
    """Size estimate of an audience from ``matched`` of ``read`` sampled members."""
    rate = min(max(rate, 0.0), 1.0)
    if rate >= 1.0:
        return {"size": matched, "exact": True, "profiles_read": read}
    if rate <= 0.0:
        return {"size": 0, "exact": False, "margin": None, "profiles_read": read,
                "sampled_share": 0.0, "method": "no member sampled"}
    size = matched / rate
    spread = (Z95 * math.sqrt(matched * (1 - rate)) if matched else 3 * (1 - rate)) / rate
    return {"size": round(size), "exact": False, "margin": math.ceil(spread),
            "low": max(0, math.floor(size - spread)), "high": math.ceil(size + spread),
            "confidence": 0.95, "profiles_read": read, "matched_in_sample": matched,
            "population": round(read / rate), "sampled_share": round(rate, 6),
            "method": "uniform sample of the member index (hash-ranked buckets): "
                      "matched / sampled share, 95 % margin (binomial, normal approximation)"}


def largest_timezones(zones: Iterable[str | None], n: int = 3) -> list[TimezoneShare]:
    """The ``n`` most common timezones of the sample with their share (ties by name)."""
    counts = Counter(z for z in zones if z)
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"timezone": z, "share": round(c / total, 3)} for z, c in ranked]

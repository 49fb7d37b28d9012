"""Largest-remainder rounding: exact shares → whole fen that sum exactly to the total."""

from __future__ import annotations


def round_shares(nums: list[int], dens: list[int], total: int) -> list[int]:
    """Round exact non-negative shares ``nums[i] / dens[i]`` (summing to ``total``).

    Every share is rounded down, then the fen still missing go one each to the shares with
    the largest fractional parts (ties to the earlier share). A share never rises above
    ``ceil(share)``, so a line is never discounted below zero if its exact share was not.
    Fractional parts are compared exactly through integers scaled by ``K >= 2·d_i·d_j``
    (two different fractions differ by at least ``1 / (d_i·d_j)``).
    """
    floors = [n // d for n, d in zip(nums, dens, strict=True)]
    missing = total - sum(floors)
    if missing == 0:
        return floors
    rests = [(i, n % d, d) for i, (n, d) in enumerate(zip(nums, dens, strict=True)) if n % d]
    if missing < 0 or missing > len(rests):
        raise ValueError("shares do not sum to the total")
    shift = 2 * max(d for _, _, d in rests).bit_length() + 1
    ranked = sorted(rests, key=lambda x: (-((x[1] << shift) // x[2]), x[0]))
    for i, _, _ in ranked[:missing]:
        floors[i] += 1
    return floors


def largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to non-negative integer ``weights`` (exact sum)."""
    whole = sum(weights)
    if whole == 0:
        if total:
            raise ValueError("cannot split a non-zero total over zero weights")
        return [0] * len(weights)
    return round_shares([total * w for w in weights], [whole] * len(weights), total)

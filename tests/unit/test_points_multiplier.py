"""Campaign point multipliers use the earning rule: exact decimals, one floor, never float."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.campaigns.model import AwardPoints
from chalicelib.domain.loyalty.earning import Line, earn, scale_points
from chalicelib.domain.loyalty.program import parse_program
from tests.loyalty_support import program as loyalty_program

# Multipliers as a marketer writes them: up to 4 decimal places, (0, 20].
multipliers = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(20), places=4,
                          allow_nan=False, allow_infinity=False)
points = st.integers(min_value=0, max_value=10_000_000)


def award(m: Decimal) -> AwardPoints:
    """The multiplier as it arrives from JSON (json.loads gives a float)."""
    return AwardPoints.model_validate({"type": "award_points", "multiplier": float(m)})


def test_the_float_example_is_exact() -> None:
    a = award(Decimal("1.15"))
    assert a.multiplier == Decimal("1.15")
    assert scale_points(100, a.multiplier) == 115  # int(100 * 1.15) was 114
    assert scale_points(1000, award(Decimal("0.29")).multiplier) == 290  # float: 289


@given(points, multipliers)
def test_scaling_is_the_exact_product_floored_once(p: int, m: Decimal) -> None:
    a = award(m)
    assert a.multiplier == m  # parsed as the decimal written, not the binary float
    assert scale_points(p, a.multiplier) == floor(Fraction(p) * Fraction(m))


@given(points, st.integers(min_value=1, max_value=20))
def test_whole_multipliers_scale_exactly(p: int, k: int) -> None:
    assert scale_points(p, award(Decimal(k)).multiplier) == p * k


@given(points, multipliers)
def test_scaling_a_multiple_of_the_denominator_has_no_rounding(p: int, m: Decimal) -> None:
    denominator = Fraction(m).denominator
    assert scale_points(p * denominator, m) == p * Fraction(m).numerator


@given(st.integers(min_value=0, max_value=100_000), multipliers)
def test_same_result_as_the_earning_rule_bonus_multiplier(yuan: int, m: Decimal) -> None:
    """An order of whole yuan earns floor(yuan x bonus) under the earning rule; a campaign
    multiplier on the same base points gives exactly the same."""
    program = parse_program(loyalty_program(earning={"points_per_unit": 1}))
    line = [Line("sku", None, 1, yuan * 100)]
    assert earn(program, line, 0, 1.0).uncapped_points == yuan
    with_bonus = earn(program, line, 0, 1.0, float(m)).uncapped_points
    assert scale_points(yuan, award(m).multiplier) == with_bonus


def test_multipliers_survive_a_json_round_trip_as_numbers() -> None:
    a = award(Decimal("1.15"))
    dumped = a.model_dump(mode="json")
    assert dumped["multiplier"] == 1.15 and isinstance(dumped["multiplier"], float)
    assert AwardPoints.model_validate(dumped) == a
    assert award(Decimal(2)).model_dump(mode="json")["multiplier"] == 2
    assert AwardPoints.model_validate({"type": "award_points",
                                       "multiplier": Decimal("1.15")}) == a

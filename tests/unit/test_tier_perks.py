"""Tier perks that act (issue 13): every benefit does something or is refused, with a path;
the grant, month and birthday rules are pure and checked here."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.api.http import validation_details
from chalicelib.domain.delivery.policy import DEFAULT_CAPS, Cap, LiveCaps
from chalicelib.domain.loyalty import perks
from chalicelib.domain.loyalty.earning import Line, earn
from chalicelib.domain.loyalty.program import Benefits, parse_program
from tests.loyalty_support import PROGRAM

ROOT = Path(__file__).resolve().parents[2]


def _program(**benefits: Any) -> dict[str, Any]:
    p = copy.deepcopy(PROGRAM)
    p["tiers"][2]["benefits"].update(benefits)
    return p


def _errors(doc: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as e:
        parse_program(doc)
    return validation_details(e.value)


# --- validation: every benefit acts, or the program is refused -----------------------------

def test_every_benefit_field_is_one_that_acts() -> None:
    """A new benefit must be wired to something before it can be declared (issue 13)."""
    acting = {"points_multiplier": "earning", "coupon_templates": "tier entry",
              "free_shipping_coupons_per_month": "monthly job + upgrade",
              "free_shipping_template": "monthly job + upgrade",
              "birthday_points_multiplier": "order earning", "upgrade_gift": "upgrade"}
    declared = {n for n, f in Benefits.model_fields.items() if not f.exclude}
    assert declared == set(acting)


@pytest.mark.parametrize(("field", "value", "hint"), [
    ("free_shipping", True, "free_shipping_coupons_per_month"),
    ("free_shipping", False, "free_shipping_template"),
    ("birthday_bonus_points", 800, "birthday_points_multiplier"),
])
def test_inert_benefits_are_refused_with_their_path_and_what_to_use(field: str, value: Any,
                                                                    hint: str) -> None:
    [err] = _errors(_program(**{field: value}))
    assert err["path"] == f"/tiers/2/benefits/{field}"
    assert "did nothing" in err["message"] and hint in err["message"]


def test_unknown_benefits_are_refused_with_their_path() -> None:
    [err] = _errors(_program(lounge_access=True))
    assert err["path"] == "/tiers/2/benefits/lounge_access"


def test_a_program_published_with_inert_benefits_still_reads_and_drops_them() -> None:
    stored = _program(free_shipping=True, birthday_bonus_points=800)
    program = parse_program(stored, stored=True)
    benefits = program.document()["tiers"][2]["benefits"]
    assert "free_shipping" not in benefits and "birthday_bonus_points" not in benefits
    assert parse_program(program.document()) == program  # and re-publishes cleanly


@pytest.mark.parametrize(("benefits", "path", "text"), [
    ({"free_shipping_coupons_per_month": 2}, "/tiers/2/benefits", "needs a free_shipping_tem"),
    ({"free_shipping_template": "fs"}, "/tiers/2/benefits", "needs free_shipping_coupons"),
    ({"free_shipping_coupons_per_month": 11, "free_shipping_template": "fs"},
     "/tiers/2/benefits/free_shipping_coupons_per_month", "less than or equal to 10"),
    ({"upgrade_gift": {}}, "/tiers/2/benefits/upgrade_gift", "coupon_templates and/or"),
    ({"upgrade_gift": {"points": -1}}, "/tiers/2/benefits/upgrade_gift/points", "greater"),
    ({"birthday_points_multiplier": 0.5}, "/tiers/2/benefits/birthday_points_multiplier",
     "greater than or equal to 1"),
    ({"birthday_points_multiplier": "2"}, "/tiers/2/benefits/birthday_points_multiplier",
     "must be a number"),
])
def test_perk_fields_are_validated_with_paths(benefits: dict[str, Any], path: str,
                                              text: str) -> None:
    [err] = _errors(_program(**benefits))
    assert err["path"] == path and text in err["message"], err


def test_the_base_tier_cannot_have_monthly_coupons() -> None:
    p = copy.deepcopy(PROGRAM)
    p["tiers"][0]["benefits"] = {"free_shipping_coupons_per_month": 1,
                                 "free_shipping_template": "fs"}
    [err] = _errors(p)
    assert err["path"] == "/tiers" and "base" in err["message"]


@pytest.mark.parametrize(("caps", "path", "text"), [
    ({"spam": {"per_day": 1}}, "/caps/spam", "'marketing' or 'service'"),
    ({"marketing": {"per_day": 3, "per_week": 2}}, "/caps/marketing", "at least per_day"),
    ({"marketing": {"per_hour": 1}}, "/caps/marketing/per_hour", "unknown"),
])
def test_caps_are_validated_per_cap_class(caps: dict[str, Any], path: str, text: str) -> None:
    [err] = _errors({**PROGRAM, "caps": caps})
    assert err["path"] == path and text in err["message"], err


def test_the_birthday_multiplier_is_the_exact_decimal_written() -> None:
    program = parse_program(_program(birthday_points_multiplier=1.15))
    m = program.tiers[2].benefits.birthday_points_multiplier
    assert m == Decimal("1.15")
    assert json.loads(json.dumps(program.document()))["tiers"][2]["benefits"][
        "birthday_points_multiplier"] == 1.15
    # exact: 100 points x 1.15 = 115, where the binary float would floor to 114
    e = earn(program, [Line("s", None, 1, 10000)], 0, 1.0, m)
    assert e.points == 115


def test_the_sample_program_declares_every_perk_and_reads() -> None:
    doc = json.loads((ROOT / "campaigns" / "program.json").read_text(encoding="utf-8"))
    program = parse_program(doc)
    gold = program.tiers[2].benefits
    assert gold.free_shipping_coupons_per_month == 2 and gold.upgrade_gift is not None
    assert program.caps is not None and program.birthday_window == "month"


# --- grants -----------------------------------------------------------------------------

def _benefits(**kw: Any) -> Benefits:
    return Benefits.model_validate_json(json.dumps(kw))


def test_an_upgrade_gift_is_granted_once_per_tier() -> None:
    b = _benefits(upgrade_gift={"points": 500, "coupon_templates": ["a", "b"]})
    g = perks.gift_grant("m-1", "gold", b, already=False)
    assert g is not None and g.record == "gift:gold" and g.points == 500
    assert g.coupons == (("a", "m-1:gift:gold:0"), ("b", "m-1:gift:gold:1"))
    assert perks.gift_grant("m-1", "gold", b, already=True) is None
    assert perks.gift_grant("m-1", "gold", _benefits(), already=False) is None


def test_a_month_is_topped_up_to_the_tier_count_and_never_twice() -> None:
    silver = _benefits(free_shipping_coupons_per_month=1, free_shipping_template="fs")
    gold = _benefits(free_shipping_coupons_per_month=3, free_shipping_template="fs")
    first = perks.month_grant("m-1", "2026-05", silver, 0)
    assert first is not None and first.coupons == (("fs", "m-1:fs:2026-05:0"),)
    assert first.count == 1 and first.granted_before == 0
    assert perks.month_grant("m-1", "2026-05", silver, 1) is None  # the month is done
    top_up = perks.month_grant("m-1", "2026-05", gold, 1)  # upgraded mid-month
    assert top_up is not None and [r for _, r in top_up.coupons] == [
        "m-1:fs:2026-05:1", "m-1:fs:2026-05:2"]
    assert (top_up.granted_before, top_up.count) == (1, 3)
    assert perks.month_grant("m-1", "2026-05", silver, 3) is None  # downgraded: keeps them
    assert perks.month_grant("m-1", "2026-05", _benefits(), 0) is None


# --- member-local months ----------------------------------------------------------------

def test_month_starts_lists_each_zone_once_in_the_order_months_began() -> None:
    zones = ["America/Los_Angeles", "Asia/Shanghai", "UTC", "Not/AZone"]
    after = datetime(2026, 4, 30, 15, 0, tzinfo=UTC)
    # Shanghai's May begins 16:00 UTC on 30 April, UTC's at midnight, LA's at 07:00 UTC
    assert perks.month_starts(zones, after, datetime(2026, 4, 30, 16, 0, tzinfo=UTC)) == [
        ("Asia/Shanghai", "2026-05")]
    assert perks.month_starts(zones, after, datetime(2026, 5, 1, 7, 0, tzinfo=UTC)) == [
        ("Asia/Shanghai", "2026-05"), ("UTC", "2026-05"), ("America/Los_Angeles", "2026-05")]
    # (after, until]: a start at ``after`` belongs to the previous run
    assert perks.month_starts(["Asia/Shanghai"], datetime(2026, 4, 30, 16, tzinfo=UTC),
                              datetime(2026, 5, 20, tzinfo=UTC)) == []
    # a long gap covers several months
    assert perks.month_starts(["UTC"], datetime(2026, 1, 15, tzinfo=UTC),
                              datetime(2026, 3, 2, tzinfo=UTC)) == [("UTC", "2026-02"),
                                                                    ("UTC", "2026-03")]


def test_month_of_is_member_local() -> None:
    at = datetime(2026, 4, 30, 17, 0, tzinfo=UTC)
    assert perks.month_of(at, "Asia/Shanghai") == "2026-05"
    assert perks.month_of(at, "America/Los_Angeles") == "2026-04"


# --- birthdays --------------------------------------------------------------------------

BDAY = _benefits(birthday_points_multiplier=2)


def _profile(birthday: str = "1990-07-15", **kw: Any) -> dict[str, Any]:
    return {"birthday": birthday, "timezone": "Asia/Shanghai", **kw}


def _at(y: int, m: int, d: int, h: int = 4) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


@pytest.mark.parametrize(("window", "day", "expected"), [
    ("day", (2026, 7, 15), 2), ("day", (2026, 7, 16), 1),
    ("week", (2026, 7, 12), 2), ("week", (2026, 7, 18), 2), ("week", (2026, 7, 19), 1),
    ("month", (2026, 7, 1), 2), ("month", (2026, 7, 31), 2), ("month", (2026, 8, 1), 1),
])
def test_the_birthday_window(window: perks.BirthdayWindow, day: tuple[int, int, int],
                             expected: int) -> None:
    got = perks.birthday_multiplier(BDAY, window, _profile(), _at(*day), "Asia/Shanghai")
    assert got == Decimal(expected)


def test_the_birthday_week_spans_new_year_and_the_member_time_zone_decides() -> None:
    p = _profile("--01-01")
    assert perks.birthday_multiplier(BDAY, "week", p, _at(2026, 12, 30), "UTC") == 2
    # 23:30 UTC on 14 July is 07:30 on the 15th in Shanghai: the birthday
    late = datetime(2026, 7, 14, 23, 30, tzinfo=UTC)
    assert perks.birthday_multiplier(BDAY, "day", _profile(), late, "UTC") == 2
    assert perks.birthday_multiplier(BDAY, "day", _profile(timezone="UTC"), late, "UTC") == 1


def test_a_birthday_set_by_the_member_counts_after_30_days_and_none_is_one() -> None:
    fresh = _profile(birthday_set_by="member", birthday_set_at="2026-07-01T00:00:00Z")
    assert perks.birthday_multiplier(BDAY, "month", fresh, _at(2026, 7, 20), "UTC") == 1
    old = _profile(birthday_set_by="member", birthday_set_at="2026-01-01T00:00:00Z")
    assert perks.birthday_multiplier(BDAY, "month", old, _at(2026, 7, 20), "UTC") == 2
    assert perks.birthday_multiplier(BDAY, "month", {"timezone": "UTC"}, _at(2026, 7, 20),
                                     "UTC") == 1
    assert perks.birthday_multiplier(_benefits(), "month", _profile(), _at(2026, 7, 20),
                                     "UTC") == 1


def test_29_february_birthdays_fall_on_28_february_in_common_years() -> None:
    assert perks.in_window(date(2027, 2, 28), date(2027, 2, 28), "day")
    p = _profile("2000-02-29")
    assert perks.birthday_multiplier(BDAY, "day", p, _at(2027, 2, 28), "UTC") == 2


# --- program checks against coupon templates --------------------------------------------

def test_perk_templates_must_be_able_to_do_their_job() -> None:
    program = parse_program(_program(
        free_shipping_coupons_per_month=1, free_shipping_template="ten-off",
        upgrade_gift={"coupon_templates": ["silver-only", "missing", "gold-up"]}))
    templates = {
        "ten-off": {"benefit": {"type": "fixed", "amount": 1000}},
        "silver-only": {"benefit": {"type": "fixed", "amount": 1000},
                        "audience": {"tiers": ["silver"]}},
        "gold-up": {"benefit": {"type": "fixed", "amount": 1000},
                    "audience": {"min_tier": "gold"}},
    }
    problems = perks.template_problems([(t.id, t.benefits) for t in program.tiers],
                                       templates.get)
    assert problems == [
        {"path": "/tiers/2/benefits/free_shipping_template",
         "message": "template ten-off is not a free_shipping coupon (benefit.type)"},
        {"path": "/tiers/2/benefits/upgrade_gift/coupon_templates/0",
         "message": "template silver-only's audience leaves out tier gold, which grants it"}]


# --- caps -------------------------------------------------------------------------------

def test_live_caps_read_their_source_on_every_lookup() -> None:
    source = {"marketing": Cap(1, 3)}
    caps = LiveCaps(lambda: source)
    assert caps.get("marketing") == Cap(1, 3) and caps.get("service") is None
    source["marketing"] = Cap(2, 5)
    assert caps["marketing"] == Cap(2, 5) and list(caps) == ["marketing"] and len(caps) == 1
    assert DEFAULT_CAPS["marketing"] == Cap(per_day=1, per_week=3)

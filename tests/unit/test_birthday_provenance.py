"""A birthday a member set itself counts for birthday campaigns and perks only once it has
been on file 30 days before the birthday (issue 10 follow-up): the rule is pure."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.campaigns.profile import audience_profile
from chalicelib.domain.members.model import (
    BIRTHDAY_WAIT_DAYS,
    MemberPatch,
    apply_patch,
    birthday_counts,
    birthday_on,
)


def _profile(set_by: str | None, set_at: str | None, birthday: str = "1990-11-22",
             tz: str = "Asia/Shanghai") -> dict:
    p = {"member_id": "m-1", "birthday": birthday, "timezone": tz}
    if set_by:
        p.update(birthday_set_by=set_by, birthday_set_at=set_at)
    return p


@pytest.mark.parametrize(("set_at", "counts"), [
    ("2026-11-22T00:00:00.000Z", False),  # set to today
    ("2026-10-24T00:00:00.000Z", False),  # 29 days before
    ("2026-10-23T00:00:00.000Z", True),   # 30 days before
    ("2026-10-22T15:59:00.000Z", True),   # 23:59 in Shanghai on the 22nd: 31 days
    ("2026-10-23T16:00:00.000Z", False),  # 00:00 on the 24th in Shanghai: 29 days
])
def test_a_member_set_birthday_waits_30_days(set_at: str, counts: bool) -> None:
    assert BIRTHDAY_WAIT_DAYS == 30
    assert birthday_counts(_profile("member", set_at), 2026) is counts
    assert birthday_counts(_profile("member", set_at), "2027")  # the next year it counts


@pytest.mark.parametrize("set_by", ["registration", "operator", None])
def test_trusted_and_legacy_birthdays_count_at_once(set_by: str | None) -> None:
    assert birthday_counts(_profile(set_by, "2026-11-22T00:00:00.000Z"), 2026)


def test_no_birthday_or_an_unreadable_record_never_counts() -> None:
    assert not birthday_counts({"member_id": "m"}, 2026)
    assert not birthday_counts(_profile("member", "yesterday"), 2026)
    assert not birthday_counts(_profile("member", "2020-01-01T00:00:00Z"), "x-1")
    assert birthday_counts(_profile("member", "2020-01-01T00:00:00Z"), "2026-11-22")
    assert birthday_counts(_profile(None, None), "x-1")  # not member-set: the key is moot


def test_29_february_is_celebrated_on_28_february_in_common_years() -> None:
    assert birthday_on("2000-02-29", 2027) == date(2027, 2, 28)
    assert birthday_on("--02-29", 2028) == date(2028, 2, 29)
    assert not birthday_counts(_profile("member", "2027-01-30T00:00:00Z", "2000-02-29"), 2027)
    assert birthday_counts(_profile("member", "2027-01-29T00:00:00Z", "2000-02-29"), 2027)


def test_patches_record_who_set_the_birthday_and_when() -> None:
    now = "2026-11-22T01:00:00.000Z"
    base = {"member_id": "m-1", "timezone": "Asia/Shanghai", "locale": "zh-CN"}
    own = apply_patch(base, MemberPatch(birthday="1990-11-22"), by_member=True, now=now)
    assert (own["birthday_set_by"], own["birthday_set_at"]) == ("member", now)
    same = apply_patch(own, MemberPatch(birthday="1990-11-22"), by_member=True, now="later")
    assert same["birthday_set_at"] == now  # unchanged value: the record stays
    fixed = apply_patch(own, MemberPatch(birthday="1990-11-23"), now="later")
    assert (fixed["birthday_set_by"], fixed["birthday_set_at"]) == ("operator", "later")
    cleared = apply_patch(fixed, MemberPatch(birthday=None), now="later")
    assert not {"birthday", "birthday_set_by", "birthday_set_at"} & set(cleared)
    named = apply_patch(own, MemberPatch(name="Li"), now="later")
    assert named["birthday_set_at"] == now  # other fields leave it alone


def test_birthday_month_audiences_wait_too() -> None:
    fresh = _profile("member", "2026-11-20T00:00:00Z")
    old = _profile("member", "2025-01-01T00:00:00Z")
    assert audience_profile(fresh, today=date(2026, 11, 25))["birthday_month"] is None
    assert audience_profile(old, today=date(2026, 11, 25))["birthday_month"] == 11
    assert audience_profile(fresh, today=date(2027, 11, 1))["birthday_month"] == 11
    january = _profile("member", "2026-11-20T00:00:00Z", birthday="1990-01-05")
    assert audience_profile(january, today=date(2026, 12, 1))["birthday_month"] == 1

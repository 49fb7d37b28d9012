"""Traditional festivals and solar terms 2027-2030: the published dates, checked three ways.

The table below is the published calendar (万年历 / 紫金山天文台 dates, as printed in every
Chinese almanac). Each row is checked against festivals.py (lunar-python), against borax (a
second, independent lunar calendar implementation), and, for the public holidays among them,
against the ``holidays`` package.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from borax.calendars.lunardate import LunarDate, TermUtils

from chalicelib.domain.campaigns import festivals as fest
from chalicelib.domain.campaigns import occurrences as occ

# name: ((lunar month, day) or (12, 0) for the eve, {year: "MM-DD"})
PUBLISHED = {
    "除夕": ((12, 0), {2027: "02-05", 2028: "01-25", 2029: "02-12", 2030: "02-02"}),
    "春节": ((1, 1), {2027: "02-06", 2028: "01-26", 2029: "02-13", 2030: "02-03"}),
    "元宵节": ((1, 15), {2027: "02-20", 2028: "02-09", 2029: "02-27", 2030: "02-17"}),
    "龙抬头": ((2, 2), {2027: "03-09", 2028: "02-26", 2029: "03-16", 2030: "03-05"}),
    "端午节": ((5, 5), {2027: "06-09", 2028: "05-28", 2029: "06-16", 2030: "06-05"}),
    "七夕节": ((7, 7), {2027: "08-08", 2028: "08-26", 2029: "08-16", 2030: "08-05"}),
    "中元节": ((7, 15), {2027: "08-16", 2028: "09-03", 2029: "08-24", 2030: "08-13"}),
    "中秋节": ((8, 15), {2027: "09-15", 2028: "10-03", 2029: "09-22", 2030: "09-12"}),
    "重阳节": ((9, 9), {2027: "10-08", 2028: "10-26", 2029: "10-16", 2030: "10-05"}),
    "腊八节": ((12, 8), {2027: "01-15", 2028: "01-04", 2029: "01-22", 2030: "01-11"}),
    "北方小年": ((12, 23), {2027: "01-30", 2028: "01-19", 2029: "02-06", 2030: "01-26"}),
    "南方小年": ((12, 24), {2027: "01-31", 2028: "01-20", 2029: "02-07", 2030: "01-27"}),
}
TERMS = {
    "小寒": {2027: "01-05", 2028: "01-06", 2029: "01-05", 2030: "01-05"},
    "立春": {2027: "02-04", 2028: "02-04", 2029: "02-03", 2030: "02-04"},
    "清明": {2027: "04-05", 2028: "04-04", 2029: "04-04", 2030: "04-05"},
    "夏至": {2027: "06-21", 2028: "06-21", 2029: "06-21", 2030: "06-21"},
    "立秋": {2027: "08-08", 2028: "08-07", 2029: "08-07", 2030: "08-07"},
    "冬至": {2027: "12-22", 2028: "12-21", 2029: "12-21", 2030: "12-22"},
}
# Public holidays the ``holidays`` package also dates (its own lunar tables).
PUBLIC = {"春节": "Spring Festival", "端午节": "Dragon Boat Festival",
          "中秋节": "Mid-Autumn Festival"}
YEARS = (2027, 2028, 2029, 2030)


def day(year: int, md: str) -> date:
    return date(year, int(md[:2]), int(md[3:]))


def borax_dates(rule: tuple[int, int], year: int) -> list[date]:
    """The same festival computed by borax, for the dates falling in ``year``."""
    month, dd = rule
    out = []
    for lunar_year in (year - 1, year):
        if dd == 0:
            d = LunarDate(lunar_year + 1, 1, 1).to_solar_date() - timedelta(days=1)
        else:
            d = LunarDate(lunar_year, month, dd).to_solar_date()
        if d.year == year:
            out.append(d)
    return out


CASES = [(name, year, day(year, md)) for name, (_, dates) in PUBLISHED.items()
         for year, md in dates.items()]


@pytest.mark.parametrize(("name", "year", "expected"), CASES,
                         ids=[f"{n}-{y}" for n, y, _ in CASES])
def test_every_festival_falls_on_its_published_date_by_two_libraries(
        name: str, year: int, expected: date) -> None:
    assert fest.festival_dates(name, year) == [expected]
    assert borax_dates(PUBLISHED[name][0], year) == [expected]
    if name in PUBLIC:
        assert occ.resolve_holiday("CN", PUBLIC[name], year) == expected


@pytest.mark.parametrize(("name", "year"), [(n, y) for n in TERMS for y in YEARS])
def test_solar_terms_fall_on_their_published_dates_by_two_libraries(name: str, year: int,
                                                                    ) -> None:
    expected = day(year, TERMS[name][year])
    assert fest.festival_dates(name, year) == [expected]
    assert TermUtils.nth_term_day(year, term_name=name) == expected


@pytest.mark.parametrize("year", YEARS)
def test_all_24_solar_terms_agree_with_borax_and_fall_once_a_year(year: int) -> None:
    found = {f.name: fest.festival_dates(f.name, year) for f in fest.TERMS}
    assert all(len(v) == 1 for v in found.values())
    assert {n: v[0] for n, v in found.items()} == {
        f.name: TermUtils.nth_term_day(year, term_name=f.name) for f in fest.TERMS}
    assert sorted(v[0] for v in found.values()) == [v[0] for v in found.values()]


@pytest.mark.parametrize(("name", "canonical"), [
    ("七夕", "七夕节"), ("Qixi Festival", "七夕节"), ("chinese valentine\u2019s day", "七夕节"),
    ("重陽節", "重阳节"), ("Double Ninth Festival", "重阳节"), ("double ninth festival", "重阳节"),
    ("臘八節", "腊八节"), ("Lantern Festival", "元宵节"), ("二月二", "龙抬头"),
    ("Ghost Festival", "中元节"), ("Chinese New Year's Eve", "除夕"), ("大年三十", "除夕"),
    ("小年\uff08北方\uff09", "北方小年"), ("Little New Year (south)", "南方小年"),
    ("Winter Solstice", "冬至"), ("Start of Spring", "立春"), ("驚蟄", "惊蛰"),
    ("Singles' Day", "双十一"), ("母亲节", "母亲节"),
])
def test_festivals_are_found_by_chinese_traditional_and_english_names(name: str,
                                                                      canonical: str) -> None:
    found = fest.find_festival(name)
    assert found is not None and found.name == canonical


def test_laba_falls_twice_in_2022_and_the_eve_can_be_the_29th() -> None:
    assert fest.festival_dates("腊八节", 2022) == [date(2022, 1, 10), date(2022, 12, 30)]
    assert fest.festival_dates("除夕", 2027) == [date(2027, 2, 5)]  # 腊月廿九: no 三十 that year


def test_floating_retail_days() -> None:
    assert fest.festival_dates("母亲节", 2027) == [date(2027, 5, 9)]
    assert fest.festival_dates("父亲节", 2027) == [date(2027, 6, 20)]
    assert fest.festival_dates("感恩节", 2027) == [date(2027, 11, 25)]
    assert fest.festival_dates("双十一", 2027) == [date(2027, 11, 11)]


def test_the_bare_little_new_year_is_ambiguous_not_guessed() -> None:
    assert fest.find_festival("小年") is None
    assert "北方小年" in (fest.ambiguity("小年") or "")


def test_festivals_resolve_in_any_holiday_calendar_and_years_out_of_range_are_empty() -> None:
    assert occ.resolve_holiday("US", "中秋节", 2027) == date(2027, 9, 15)
    assert occ.resolve_holiday("CN", "七夕", 2027) == date(2027, 8, 8)
    assert fest.festival_dates("七夕节", 2150) == []
    assert fest.festival_dates("no such day", 2027) == []

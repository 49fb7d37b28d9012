"""Traditional festivals, the 24 solar terms and retail days, by Chinese or English name. Pure.

Lunar dates come from ``lunar-python`` (6tail's calendar: lunar months and solar terms computed
from astronomical algorithms, Beijing time), imported on first use only (it costs ~75 ms)::

    festival_dates("七夕节", 2027) == [date(2027, 8, 8)]
    festival_dates("Double Ninth Festival", 2027) == [date(2027, 10, 8)]
    festival_dates("冬至", 2027) == [date(2027, 12, 22)]
    festival_dates("腊八节", 2022) == [date(2022, 1, 10), date(2022, 12, 30)]   # twice

A date belongs to the Gregorian year it falls in, so a festival of the last lunar month
(腊八, 小年, 除夕) can fall twice in one year, or in January of the next. 小年 is kept apart
as 北方小年 (腊月廿三) and 南方小年 (腊月廿四); the bare word is ambiguous and refused.
Names match case-insensitively, in simplified or traditional characters.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

# Names the bare word cannot pick between: name → the hint.
AMBIGUOUS = {"小年": "write 北方小年 (腊月廿三, most of the north) or 南方小年 (腊月廿四)",
             "little new year": "write 'Little New Year (north)' or 'Little New Year (south)'"}
# Simplified → traditional for the characters of these names (重阳节 → 重陽節).
_TRADITIONAL = str.maketrans("节阳腊龙头惊蛰谷满种处国庆劳动儿妇圣诞亲师岁双",
                             "節陽臘龍頭驚蟄穀滿種處國慶勞動兒婦聖誕親師歲雙")


@dataclass(frozen=True)
class Festival:
    name: str                 # the Chinese name shown (七夕节)
    english: str              # the English name shown (Qixi Festival)
    kind: str                 # lunar | term | solar
    aliases: tuple[str, ...]  # other accepted names
    rule: tuple[int, ...]     # lunar (month, day) or (12, 0) for the eve; term index; solar

    @property
    def names(self) -> tuple[str, ...]:
        base = (self.name, self.english, *self.aliases)
        return base + tuple(t for n in base if (t := n.translate(_TRADITIONAL)) != n)


def _f(name: str, english: str, kind: str, rule: tuple[int, ...], *aliases: str) -> Festival:
    return Festival(name, english, kind, aliases, rule)


# (month, day) in the lunar calendar; (12, 0) is the last day of the twelfth month.
LUNAR = (
    _f("除夕", "Chinese New Year's Eve", "lunar", (12, 0), "大年三十", "年三十", "除夕夜",
       "农历除夕", "Lunar New Year's Eve"),
    _f("春节", "Spring Festival", "lunar", (1, 1), "Chinese New Year", "Lunar New Year",
       "农历新年", "大年初一", "正月初一"),
    _f("元宵节", "Lantern Festival", "lunar", (1, 15), "元宵", "上元节", "正月十五"),
    _f("龙抬头", "Dragon Head Raising Day", "lunar", (2, 2), "二月二", "龙头节",
       "Longtaitou Festival", "Dragon Raises its Head"),
    _f("端午节", "Dragon Boat Festival", "lunar", (5, 5), "端午", "端阳节", "Duanwu Festival"),
    _f("七夕节", "Qixi Festival", "lunar", (7, 7), "七夕", "乞巧节", "Chinese Valentine's Day",
       "Double Seventh Festival", "Qixi"),
    _f("中元节", "Ghost Festival", "lunar", (7, 15), "中元", "七月半", "鬼节",
       "Zhongyuan Festival", "Hungry Ghost Festival"),
    _f("中秋节", "Mid-Autumn Festival", "lunar", (8, 15), "中秋", "八月十五", "Moon Festival",
       "Mooncake Festival"),
    _f("重阳节", "Double Ninth Festival", "lunar", (9, 9), "重阳", "重九", "老年节",
       "Chongyang Festival", "Chongyang"),
    _f("腊八节", "Laba Festival", "lunar", (12, 8), "腊八", "Laba"),
    _f("北方小年", "Little New Year (north)", "lunar", (12, 23), "小年(北方)",
       "腊月二十三", "腊月廿三", "Northern Little New Year", "Xiaonian (north)"),
    _f("南方小年", "Little New Year (south)", "lunar", (12, 24), "小年(南方)",
       "腊月二十四", "腊月廿四", "Southern Little New Year", "Xiaonian (south)"),
)

# The 24 solar terms in calendar order from 小寒 (early January); index = position.
TERMS = tuple(_f(zh, en, "term", (i,), *more) for i, (zh, en, *more) in enumerate((
    ("小寒", "Minor Cold"), ("大寒", "Major Cold"),
    ("立春", "Start of Spring", "Beginning of Spring", "打春"), ("雨水", "Rain Water"),
    ("惊蛰", "Awakening of Insects"), ("春分", "Spring Equinox", "Vernal Equinox"),
    ("清明", "Pure Brightness", "Qingming"), ("谷雨", "Grain Rain"),
    ("立夏", "Start of Summer", "Beginning of Summer"), ("小满", "Grain Buds"),
    ("芒种", "Grain in Ear"), ("夏至", "Summer Solstice"), ("小暑", "Minor Heat"),
    ("大暑", "Major Heat"), ("立秋", "Start of Autumn", "Beginning of Autumn"),
    ("处暑", "End of Heat"), ("白露", "White Dew"),
    ("秋分", "Autumn Equinox", "Autumnal Equinox"), ("寒露", "Cold Dew"),
    ("霜降", "Frost's Descent", "Frost Descent"),
    ("立冬", "Start of Winter", "Beginning of Winter"), ("小雪", "Minor Snow"),
    ("大雪", "Major Snow"), ("冬至", "Winter Solstice", "冬至节", "Dongzhi Festival", "Dongzhi"),
)))

# Retail and Western days: (month, day), or (month, weekday 0=Mon, nth) for floating ones.
SOLAR = (
    _f("情人节", "Valentine's Day", "solar", (2, 14), "西方情人节", "Saint Valentine's Day"),
    _f("妇女节", "Women's Day", "solar", (3, 8), "三八妇女节", "国际妇女节", "女神节",
       "International Women's Day"),
    _f("520", "520 Day", "solar", (5, 20), "网络情人节"),
    _f("母亲节", "Mother's Day", "solar", (5, 6, 2)),
    _f("618", "618 Shopping Festival", "solar", (6, 18), "六一八", "年中大促"),
    _f("父亲节", "Father's Day", "solar", (6, 6, 3)),
    _f("万圣节", "Halloween", "solar", (10, 31), "万圣夜"),
    _f("双十一", "Singles' Day", "solar", (11, 11), "双11", "光棍节", "Double 11"),
    _f("感恩节", "Thanksgiving", "solar", (11, 3, 4), "Thanksgiving Day"),
    _f("双十二", "Double 12", "solar", (12, 12), "双12"),
    _f("平安夜", "Christmas Eve", "solar", (12, 24)),
    _f("圣诞节", "Christmas Day", "solar", (12, 25), "Christmas", "圣诞"),
)
FESTIVALS = LUNAR + TERMS + SOLAR


def norm(name: str) -> str:
    """How names are compared: case, curly quotes, fullwidth forms and spaces folded."""
    name = unicodedata.normalize("NFKC", name).replace("\u2019", "'")
    return " ".join(name.lower().split())


@cache
def _index() -> dict[str, Festival]:
    out: dict[str, Festival] = {}
    for f in FESTIVALS:
        for n in f.names:
            out.setdefault(norm(n), f)
    return out


def find_festival(name: str) -> Festival | None:
    return _index().get(norm(name))


def ambiguity(name: str) -> str | None:
    """A hint when ``name`` is a word two festivals share (小年), else None."""
    return AMBIGUOUS.get(norm(name))


def festival_names() -> list[str]:
    """Every accepted name (simplified, traditional and English), for did-you-mean."""
    return [n for f in FESTIVALS for n in f.names]


def festival_dates(name: str, year: int) -> list[date]:
    """The dates in Gregorian ``year`` of the festival ``name`` ([] when unknown)."""
    f = find_festival(name)
    return dates_of(f, year) if f else []


def dates_of(f: Festival, year: int) -> list[date]:
    if not 1901 <= year <= 2099:  # the range both lunar libraries agree on
        return []
    if f.kind == "lunar":
        return _lunar(f, year)
    return _term(f, year) if f.kind == "term" else _solar(f, year)


@cache
def _lunar(f: Festival, year: int) -> list[date]:
    from lunar_python import Lunar, LunarYear

    out = []
    for lunar_year in (year - 1, year):
        month, day = f.rule
        if day == 0:  # the eve: the last day of the twelfth (never leap) month
            day = LunarYear.fromYear(lunar_year).getMonth(month).getDayCount()
        solar = Lunar.fromYmd(lunar_year, month, day).getSolar()
        d = date(solar.getYear(), solar.getMonth(), solar.getDay())
        if d.year == year:
            out.append(d)
    return out


@cache
def _terms(year: int) -> dict[str, date]:
    """The 24 solar terms falling in ``year`` (Beijing time), by Chinese name."""
    from lunar_python import Solar

    names = {f.name for f in TERMS}
    out = {}
    for probe in (date(year, 3, 1), date(year + 1, 3, 1)):  # two lunar years' tables
        table = Solar.fromYmd(probe.year, probe.month, probe.day).getLunar().getJieQiTable()
        for name, solar in table.items():
            d = date(solar.getYear(), solar.getMonth(), solar.getDay())
            if name in names and d.year == year:
                out[name] = d
    return out


def _term(f: Festival, year: int) -> list[date]:
    d = _terms(year).get(f.name)
    return [d] if d else []


def _solar(f: Festival, year: int) -> list[date]:
    if len(f.rule) == 2:
        return [date(year, *f.rule)]
    month, weekday, nth = f.rule
    first = date(year, month, 1)
    return [first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))]

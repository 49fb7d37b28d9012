"""City names → one canonical city and its commercial tier (一线 … 五线). Pure.

The table (``city_data.py``) holds every city of mainland China, graded by the 2025
City Business Attractiveness Ranking (第一财经·新一线城市研究所)::

    city_tier("上海") == city_tier("上海市") == city_tier("Shanghai") == "一线"
    city_tier("延边朝鲜族自治州") == city_tier("延边州") == city_tier("延边") == "五线"
    city_tier_level("杭州") == 2        # 1 一线, 2 新一线, 3 二线, 4 三线, 5 四线, 6 五线
    normalize_city("浙江省杭州市西湖区") == "杭州"

Accepted spellings: the short name, the full official name (市, 地区, 自治州, 盟), the short
name with 市/州/盟/地区, optionally behind its province (浙江杭州, 浙江省杭州市) and followed by
a district; the toneless pinyin in any case and spacing (Shanghai, shang hai, Xi'an), with
"shi"/"city" after it, and common English names (Urumqi, Lhasa, Harbin). Five pinyin are shared
by two cities (suzhou, fuzhou, taizhou, yichun, yulin): the plain pinyin means the higher-ranked
city (苏州, 福州, 台州, 宜春, 榆林), the other is reached with its province ("Suzhou, Anhui").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

TIER_NAMES = ("一线", "新一线", "二线", "三线", "四线", "五线")
TIER_ENGLISH = {"一线": "tier 1", "新一线": "new tier 1", "二线": "tier 2", "三线": "tier 3",
                "四线": "tier 4", "五线": "tier 5"}
SUFFIXES = ("市", "地区", "盟", "州")
ASCII_SUFFIXES = ("city", "shi", "prefecture")
_NOT_LETTERS = re.compile(r"[^a-z]+")


@dataclass(frozen=True)
class City:
    name: str       # 杭州
    full: str       # 杭州市
    province: str   # 浙江省
    adcode: str     # 330100
    pinyin: str     # hangzhou
    tier: str       # 新一线
    rank: int       # place within its tier, 1 = first

    @property
    def level(self) -> int:
        """1 (一线) to 6 (五线): the audience attribute ``city_tier``."""
        return TIER_NAMES.index(self.tier) + 1


@cache
def cities() -> tuple[City, ...]:
    """Every city, tier by tier in ranking order."""
    from chalicelib.domain.members.city_data import TIERS

    return tuple(City(*row, tier=tier, rank=i)
                 for tier in TIER_NAMES for i, row in enumerate(TIERS[tier], 1))


def lookup_city(name: object) -> City | None:
    """The city a spelling names, or None (unknown, empty or not text)."""
    if not isinstance(name, str):
        return None
    text = unicodedata.normalize("NFKC", name).strip()
    if not text or len(text) > 80:
        return None
    if text.isascii():
        return _by_pinyin(text)
    return _by_chinese(text.replace(" ", ""))


def normalize_city(name: object) -> str | None:
    """The canonical short Chinese name ("上海") of any accepted spelling, else None."""
    city = lookup_city(name)
    return city.name if city else None


def city_tier(name: object) -> str | None:
    """一线, 新一线, 二线, 三线, 四线 or 五线; None for a name not in the table."""
    city = lookup_city(name)
    return city.tier if city else None


def city_tier_level(name: object) -> int | None:
    """The tier as 1 (一线) … 6 (五线), as audiences compare it; None when unknown."""
    city = lookup_city(name)
    return city.level if city else None


# --- indexes -----------------------------------------------------------------------------------

@cache
def _chinese_index() -> dict[str, City]:
    out: dict[str, City] = {}
    for c in cities():
        for key in (c.full, c.name, *(c.name + s for s in SUFFIXES)):
            out.setdefault(key, c)
    return out


@cache
def _province_forms() -> dict[str, str]:
    """Every way a province is written at the start of an address → its full name."""
    from chalicelib.domain.members.city_data import PROVINCES

    out = {}
    for full in PROVINCES:
        short = full
        for tail in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市"):
            short = short.removesuffix(tail)
        out[full] = out[short] = full
    return out


@cache
def _pinyin_index() -> dict[str, City]:
    """Plain pinyin (the higher-ranked city where two share it), pinyin with the province
    before or after it, and the English aliases."""
    from chalicelib.domain.members.city_data import ALIASES, PROVINCES

    out: dict[str, City] = {}
    for c in cities():  # tier by tier in ranking order: the first holder keeps a shared key
        province = PROVINCES[c.province]
        keys = [c.pinyin, c.pinyin + province, province + c.pinyin]
        keys += [_NOT_LETTERS.sub("", a.lower()) for a in ALIASES.get(c.name, ())]
        for key in keys:
            out.setdefault(key, c)
    return out


def _by_chinese(text: str) -> City | None:
    index = _chinese_index()
    if text in index:
        return index[text]
    for form, full in sorted(_province_forms().items(), key=lambda kv: -len(kv[0])):
        if text.startswith(form) and len(text) > len(form):
            rest = _by_chinese_city(text[len(form):])
            if rest is not None and rest.province == full:
                return rest
            break
    return _by_chinese_city(text)


def _by_chinese_city(text: str) -> City | None:
    """A city name, possibly followed by a district (杭州市西湖区)."""
    index = _chinese_index()
    if text in index:
        return index[text]
    for cut in ("市", "地区", "盟", "自治州"):
        at = text.find(cut)
        if at > 0 and text[:at + len(cut)] in index:
            return index[text[:at + len(cut)]]
    return None


def _by_pinyin(text: str) -> City | None:
    key = _NOT_LETTERS.sub("", text.lower())
    index = _pinyin_index()
    if key in index:
        return index[key]
    for tail in ASCII_SUFFIXES:
        if key.endswith(tail) and key[:-len(tail)] in index:
            return index[key[:-len(tail)]]
    return None

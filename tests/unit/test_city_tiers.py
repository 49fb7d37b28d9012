"""City tiers: all 337 cities of the 2025 ranking, reachable by every spelling members use."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from chalicelib.domain.campaigns.profile import audience_profile
from chalicelib.domain.members import city_data
from chalicelib.domain.members.cities import (
    TIER_NAMES,
    cities,
    city_tier,
    city_tier_level,
    lookup_city,
    normalize_city,
)

ALL = cities()
# Pinyin shared by two cities: the plain spelling is the higher-ranked one.
SHARED = {"suzhou": "苏州", "fuzhou": "福州", "taizhou": "台州", "yichun": "宜春",
          "yulin": "榆林"}


def test_the_table_cites_its_source_and_year() -> None:
    assert city_data.YEAR == 2025
    assert "第一财经·新一线城市研究所" in city_data.SOURCE
    assert "2025" in (city_data.__doc__ or "") and "城市商业魅力排行榜" in (city_data.__doc__ or "")


def test_counts_per_tier_and_every_prefecture_level_city_once() -> None:
    assert Counter(c.tier for c in ALL) == {"一线": 4, "新一线": 15, "二线": 30, "三线": 70,
                                            "四线": 90, "五线": 128}
    assert len(ALL) == 337
    assert len({c.name for c in ALL}) == len({c.full for c in ALL}) == 337
    assert len({c.adcode for c in ALL}) == 337
    municipalities = {c.name for c in ALL if c.province == c.full}
    assert municipalities == {"北京", "上海", "天津", "重庆"}
    assert len(ALL) - len(municipalities) == 333
    assert len({c.province for c in ALL}) == 31  # every province-level division of the mainland
    kinds = Counter(next(s for s in ("自治州", "地区", "盟", "市") if c.full.endswith(s))
                    for c in ALL)
    assert kinds == {"市": 297, "自治州": 30, "地区": 7, "盟": 3}  # 293 地级市 + 4 直辖市


@pytest.mark.parametrize("c", ALL, ids=lambda c: c.name)
def test_every_city_resolves_by_its_chinese_full_and_pinyin_names(c: object) -> None:
    from chalicelib.domain.members.cities import City

    assert isinstance(c, City)
    province = city_data.PROVINCES[c.province]
    spellings = [c.name, c.full, f" {c.full} ", c.province + c.full, f"{c.pinyin}, {province}",
                 f"{province.capitalize()} {c.pinyin.capitalize()}"]
    if SHARED.get(c.pinyin, c.name) == c.name:  # the plain pinyin, when not shared
        spellings += [c.pinyin, c.pinyin.capitalize(), c.pinyin.upper()]
    for spelling in spellings:
        assert lookup_city(spelling) == c, spelling
    assert city_tier(c.name) == c.tier and city_tier_level(c.full) == c.level


@pytest.mark.parametrize(("spelling", "name"), [
    ("上海", "上海"), ("上海市", "上海"), ("Shanghai", "上海"), ("shanghai", "上海"),
    ("SHANGHAI", "上海"), ("Shang Hai", "上海"), ("shanghai shi", "上海"),
    ("Shanghai City", "上海"),
    ("上海市浦东新区", "上海"), ("浙江省杭州市西湖区", "杭州"), ("浙江杭州", "杭州"),
    ("Xi'an", "西安"), ("xian", "西安"), ("延边朝鲜族自治州", "延边"), ("延边州", "延边"),
    ("恩施州", "恩施"), ("锡林郭勒盟", "锡林郭勒"), ("兴安盟", "兴安"), ("阿克苏地区", "阿克苏"),
    ("大兴安岭地区", "大兴安岭"), ("Urumqi", "乌鲁木齐"), ("Lhasa", "拉萨"), ("Harbin", "哈尔滨"),
    ("Kashgar", "喀什"), ("suzhou", "苏州"), ("Suzhou, Anhui", "宿州"), ("anhui suzhou", "宿州"),
    ("Taizhou Jiangsu", "泰州"), ("安徽宿州", "宿州"), ("吉林市", "吉林"), ("吉林省长春市", "长春"),
    ("\uff33\uff28\uff21\uff2e\uff27\uff28\uff21\uff29", "上海"),  # fullwidth
    ("北京市朝阳区", "北京"), ("辽宁朝阳", "朝阳"),
])
def test_aliases_normalize_to_one_city(spelling: str, name: str) -> None:
    assert normalize_city(spelling) == name


@pytest.mark.parametrize("spelling", [None, "", "  ", 42, "Atlantis", "香港", "台北", "浙江省",
                                      "海南省", "莱芜", "浙江宿州", "x" * 200])
def test_unknown_cities_have_no_tier(spelling: object) -> None:
    assert city_tier(spelling) is None and normalize_city(spelling) is None


def test_tiers_of_well_known_cities() -> None:
    assert [city_tier(n) for n in ("北京", "杭州", "无锡", "乌鲁木齐", "枣庄", "三沙")] == list(
        TIER_NAMES)
    assert [city_tier_level(n) for n in ("Shenzhen", "Foshan", "Luoyang")] == [1, 2, 3]


def test_audience_profiles_take_the_tier_from_the_city_unless_an_operator_set_one() -> None:
    today = date(2027, 1, 1)
    assert audience_profile({"city": "Shanghai"}, today=today)["city_tier"] == 1
    assert audience_profile({"city": "上海市"}, today=today)["city_tier"] == 1
    assert audience_profile({"city": "hangzhou"}, today=today)["city_tier"] == 2
    assert audience_profile({"city": "延边州"}, today=today)["city_tier"] == 6
    assert audience_profile({"city": "Atlantis"}, today=today)["city_tier"] is None
    assert audience_profile({"city": "三沙", "city_tier": 2}, today=today)["city_tier"] == 2

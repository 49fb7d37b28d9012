"""GET /coupons/center ranks what a member may claim by its habits and says why."""

from __future__ import annotations

from typing import Any

from tests.coupon_support import register, template

COFFEE = template("咖啡 满30减5", {"type": "threshold", "threshold": 3000, "amount": 500},
                  scope={"include_categories": ["coffee"], "min_spend": 3000})
TEA = template("茶饮 满30减5", {"type": "threshold", "threshold": 3000, "amount": 500},
               scope={"include_categories": ["tea"], "min_spend": 3000})
BIG = template("满300减50", {"type": "threshold", "threshold": 30000, "amount": 5000})


def facts(member_id: str, cat: dict[str, int], **loyalty: Any) -> None:
    """The member's LOYALTY summary as orders leave it (decayed spend per category)."""
    from chalicelib.adapters import aws, keys

    aws.table().put_item(Item={**keys.member_loyalty(member_id), "version": 1,
                               "orders_count": 12, "lifetime_spend": 12 * 4000, **loyalty,
                               "facts": {"v": 1, "at": "2026-11-09", "cat": cat,
                                         "weeks": {}}})


def center(api: Any, member_id: str) -> list[dict[str, Any]]:
    r = api.get("/coupons/center", role="member", sub=member_id)
    assert r.status_code == 200, r.json
    return list(r.json)


def test_the_center_puts_the_members_habit_first_and_says_why(api_on):
    api = api_on
    for tid, body in (("big-300", BIG), ("coffee-30", COFFEE), ("tea-30", TEA)):
        assert api.put(f"/admin/coupon-templates/{tid}", role="marketer",
                       body=body).status_code == 201
    register("m-coffee", locale="zh-CN")
    register("m-tea", locale="en")
    facts("m-coffee", {"coffee": 7000, "tea": 500, "bakery": 2500})
    facts("m-tea", {"tea": 6000, "coffee": 1000, "~": 3000})

    got = center(api, "m-coffee")
    assert [(e["template_id"], e["rank"]) for e in got] == [
        ("coffee-30", 1), ("tea-30", 2), ("big-300", 3)]
    assert got[0]["reason"] == "因为你常买咖啡"
    assert got[2]["remaining"] is None and got[2]["claimed"] == 0  # the entry is unchanged

    got = center(api, "m-tea")
    assert [e["template_id"] for e in got] == ["tea-30", "coffee-30", "big-300"]
    assert got[0]["reason"] == "Because you often buy tea"


def test_a_member_without_history_gets_an_order_and_a_reason_too(api_on):
    api = api_on
    for tid, body in (("coffee-30", COFFEE), ("big-300", BIG)):
        api.put(f"/admin/coupon-templates/{tid}", role="marketer", body=body)
    register("m-new")
    got = center(api, "m-new")
    assert [e["rank"] for e in got] == [1, 2]
    assert all(e["reason"] for e in got)
    assert got[0]["template_id"] == "big-300"  # storewide beats a category it never bought

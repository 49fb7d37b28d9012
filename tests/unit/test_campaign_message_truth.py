"""Campaign messages say the truth: coupon expiry in previews, bounded rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.campaigns import templates as tpl
from chalicelib.domain.campaigns.lint import coupon_facts
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.services.campaign_preview import sample_view

FOURTEEN_DAYS = {"name": "生日券", "benefit": {"type": "fixed", "amount": 2000},
                 "validity": {"starts_at": "2026-01-01T00:00:00+08:00",
                              "ends_at": "2031-01-01T00:00:00+08:00", "days_after_claim": 14}}


def doc(**changes: Any) -> dict[str, Any]:
    body = {"zh-CN": {"title": "生日快乐", "body": "{{ coupon.expires_at | date }}前有效"},
            "en": {"title": "Happy birthday", "body": "valid until {{ coupon.expires_at }}"}}
    return {"id": "bday", "name": "Birthday", "status": "draft",
            "window": {"start": "2026-01-01T00:00:00+08:00",
                       "end": "2026-12-31T00:00:00+08:00"},
            "trigger": {"type": "birthday", "at": "09:00"},
            "actions": [{"type": "issue_coupon", "template": "b14"},
                        {"type": "message", "channels": ["inbox"], "content": body}],
            "budget": {"coupons": 10}, **changes}


def test_preview_shows_the_validity_the_member_would_get_not_the_templates_end() -> None:
    c = parse_campaign(doc())
    at = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    facts = {"b14": coupon_facts("b14", FOURTEEN_DAYS)}
    zh = sample_view(c, at, {"member_id": "m", "timezone": "Asia/Shanghai", "locale": "zh-CN"},
                     None, facts.get)
    assert zh["messages"][0]["body"] == "2026年3月15日前有效"  # was 2031-01-01
    en = sample_view(c, at, {"member_id": "m", "timezone": "Europe/London", "locale": "en-GB"},
                     None, facts.get)
    assert en["messages"][0]["body"] == "valid until 15 Mar 2026"
    fixed = {**FOURTEEN_DAYS, "validity": {**FOURTEEN_DAYS["validity"],
                                           "days_after_claim": None}}
    whole = sample_view(c, at, {"member_id": "m", "locale": "zh-CN"}, None,
                        {"b14": coupon_facts("b14", fixed)}.get)
    assert whole["messages"][0]["body"] == "2030年12月31日前有效"  # the last usable day


def test_dates_follow_the_member_timezone_and_the_message_locale() -> None:
    end = "2027-01-01T00:00:00+08:00"
    assert tpl.display_date(end, "Asia/Shanghai", "zh-CN") == "2026年12月31日"
    assert tpl.display_date(end, "Asia/Shanghai", "en-US") == "31 Dec 2026"
    assert tpl.display_date(end, "Asia/Shanghai", "de") == "2026-12-31"
    assert tpl.display_date(end, "Europe/Berlin", "en") == "31 Dec 2026"
    assert tpl.display_date("2027-01-01T08:00:00Z", "Asia/Shanghai", "zh") == "2027年1月1日"
    assert tpl.display_date("2026-03-01", None, "en") == "1 Mar 2026"
    assert tpl.display_date("", "Asia/Shanghai", "zh-CN") == ""
    assert tpl.display_date("soon", None, "en") == "soon"

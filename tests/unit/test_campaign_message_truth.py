"""Campaign messages say the truth: coupon expiry in previews, bounded rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.campaigns import templates as tpl
from chalicelib.domain.campaigns.lint import coupon_facts
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.services.campaigns.preview import sample_view

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


# --- bounded rendering ---------------------------------------------------------------------

BLOW_UPS = [
    "{{ ('x'*10000000)*20 }}",  # the reported 200 MB preview
    "{% for i in range(1000) %}{% for j in range(1000) %}{{ j }}{% endfor %}{% endfor %}",
    "{% for i in range(100000000) %}x{% endfor %}",
    "{{ range(10000000) | list }}",
    "{{ 2 ** 100000000 }}",
    "{{ 'x' * 9000 ~ 'y' * 9000 }}",
    "{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('xxxxxxxxxx') }}",
    "{{ '%099999999d' % 1 }}",
    "{{ 'x'.ljust(1000000000) }}",
    "{{ 'ab' | center(100000000) }}",
    "{% for a in 'abc' %}{% for b in 'abc' %}{% for c in 'abc' %}{% endfor %}{% endfor %}"
    "{% endfor %}",
]


def test_the_reported_template_renders_nothing_big_and_fast() -> None:
    import time

    t0 = time.thread_time()
    out = tpl.render("{{ ('x'*10000000)*20 }}", tpl.context_for({"name": "x"}))
    assert out == "" and time.thread_time() - t0 < 1.0


def test_blow_ups_stay_within_the_limits_when_rendered() -> None:
    import time

    ctx = tpl.context_for({"name": "x", "locale": "zh-CN"})
    for text in BLOW_UPS:
        t0 = time.thread_time()
        out = tpl.render(text, ctx)
        assert len(out) <= tpl.MAX_OUTPUT, text
        assert time.thread_time() - t0 < 1.0, text


def test_blow_ups_are_rejected_at_save_with_the_path_and_a_hint() -> None:
    from chalicelib.domain.campaigns.validate import validate_campaign

    for text in BLOW_UPS:
        body = {"zh-CN": {"title": "t", "body": text}}
        _, errors = validate_campaign(doc(actions=[
            {"type": "message", "channels": ["inbox"], "content": body}]))
        [e] = errors
        assert e["path"] == "/actions/0/content/zh-CN/body", text
        assert e["message"].startswith("template"), (text, e)
        assert e["hint"], text
    # a blow-up in a branch the sample member never takes is still refused
    problem = tpl.template_problem("{% if tier == 'x' %}{{ 'x' * 10000000 }}{% endif %}")
    assert problem and "too costly" in problem[0]


def test_normal_templates_are_unaffected() -> None:
    ctx = tpl.context_for({"name": "Lena", "locale": "en"}, {"tier": "gold", "points": 1200},
                          coupon={"title": "¥5", "value": 1250})
    texts = {
        "{{ name or '会员' }}, {{ points.available }} pts, {{ coupon.value | money }}":
            "Lena, 1200 pts, ¥12.50",
        "{% for i in range(3) %}{{ i }}{% endfor %}|{{ tier | upper }}|{{ '*' * 5 }}":
            "012|GOLD|*****",
        "{{ name | truncate(3, True, '', 0) }} {{ (tier ~ '!') | length }}": "Len 5",
        "{% if points.available > 1000 %}VIP{% else %}-{% endif %}": "VIP",
    }
    for text, expected in texts.items():
        assert tpl.template_problem(text) is None, text
        assert tpl.render(text, ctx) == expected


def test_preview_samples_are_cut_to_a_small_size() -> None:
    from chalicelib.services.campaigns.preview import PREVIEW_CHARS

    c = parse_campaign(doc(actions=[{"type": "message", "channels": ["inbox"], "content": {
        "zh-CN": {"title": "t", "body": "{% for i in range(900) %}0123456789{% endfor %}"}}}]))
    view = sample_view(c, datetime(2026, 3, 1, tzinfo=UTC), {"member_id": "m"}, None,
                       lambda _t: None)
    [msg] = view["messages"]
    assert msg["truncated"] is True and len(msg["body"]) == PREVIEW_CHARS + 1

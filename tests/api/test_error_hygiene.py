"""Errors say what is wrong: nesting limits, one registry of codes shared with the README."""

from __future__ import annotations

import pytest

from chalicelib.api.http import MAX_JSON_DEPTH


def _nested(levels: int) -> str:
    """An object body whose ``tags`` holds arrays ``levels`` deep in total."""
    return '{"tags": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


@pytest.mark.parametrize("route", [("POST", "/members", "service"),
                                   ("POST", "/orders", "service"),
                                   ("PUT", "/admin/coupon-templates/deep", "marketer")])
def test_json_nested_500_deep_is_answered_too_deeply_nested_with_the_limit(api, route):
    method, path, role = route
    r = api.call(method, path, role=role, raw="[" * 500 + "]" * 500)
    assert r.status_code == 400, r.json
    err = r.json["error"]
    assert err["code"] == "VALIDATION_ERROR"
    assert "nest" in err["message"] and str(MAX_JSON_DEPTH) in err["message"]
    assert err["details"] == [{"path": "/", "message": "too deeply nested: at most "
                               f"{MAX_JSON_DEPTH} levels of arrays and objects",
                               "reason": "TOO_DEEP", "limit": MAX_JSON_DEPTH}]


def test_the_limit_is_exact_and_brackets_inside_strings_do_not_count(api):
    at_limit = api.post("/members", role="service", raw=_nested(MAX_JSON_DEPTH))
    assert at_limit.status_code == 400
    assert at_limit.json["error"]["details"][0].get("reason") != "TOO_DEEP"  # plain validation
    over = api.post("/members", role="service", raw=_nested(MAX_JSON_DEPTH + 1))
    assert over.json["error"]["details"][0]["reason"] == "TOO_DEEP", over.json
    text = '{"member_id": "m-deep", "name": "' + "[" * (MAX_JSON_DEPTH + 6) + '"}'
    ok = api.post("/members", role="service", raw=text)
    assert ok.status_code == 201, ok.json


def test_a_100k_deep_body_is_a_400_not_a_recursion_error(api):
    r = api.post("/members", role="service", raw="{\"a\":" * 100_000)
    assert r.status_code == 400 and r.json["error"]["details"][0]["reason"] == "TOO_DEEP"

"""Errors say what is wrong: nesting limits, one registry of codes shared with the docs."""

from __future__ import annotations

import gc
import re
from pathlib import Path

import pytest

from chalicelib import errors
from chalicelib.api import errors as registry
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


# --- one list of error codes ---------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
ERRORS_PAGE = (ROOT / registry.DOCS_PAGE).read_text()
# Everything a reader sees: the README and every page of the docs site.
DOCS = "\n".join(p.read_text() for p in [ROOT / "README.md",
                                         *sorted((ROOT / "docs").rglob("*.md"))])


def _sources() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "chalicelib").rglob("*.py")))


def test_the_docs_error_tables_are_generated_from_the_registry():
    assert registry.README_BEGIN in ERRORS_PAGE, (
        f"{registry.DOCS_PAGE} has no generated error table")
    assert registry.with_table(ERRORS_PAGE) == ERRORS_PAGE, (
        f"{registry.DOCS_PAGE}'s error tables differ from chalicelib/api/errors.py: run "
        "`python -m chalicelib.api.errors` (or fix the registry)")


def test_every_code_and_status_the_docs_name_is_the_registered_pair():
    pairs = re.findall(r"\b([45]\d\d) `([A-Z][A-Z0-9_]+)`", DOCS) + [
        (s, c) for c, s in re.findall(r"`([A-Z][A-Z0-9_]+)` ([45]\d\d)\b", DOCS)]
    assert pairs, "the docs name error codes with their statuses"
    wrong = [(s, c) for s, c in pairs if c not in registry.REGISTRY
             or registry.REGISTRY[c].status != int(s)]
    assert not wrong, f"the README or docs name unregistered code/status pairs: {wrong}"


def test_every_error_class_and_literal_error_body_uses_a_registered_code():
    import app  # noqa: F401  (imports every blueprint and service the API runs)

    def subclasses(cls: type) -> list[type]:
        return [s for c in cls.__subclasses__() for s in (c, *subclasses(c))]

    def unregistered() -> list[type]:
        return [c for c in subclasses(errors.PerksError) if c.code not in registry.REGISTRY]

    assert unregistered() == []
    for cls in subclasses(errors.PerksError):  # the API answers with the registered status
        assert registry.status_of(cls.__new__(cls)) == registry.REGISTRY[cls.code].status, cls
    src = _sources()
    literal = set(re.findall(r'\{"error": \{"code": "([A-Z_]+)"', src)) | set(
        re.findall(r'error_body\("([A-Z_]+)"', src))
    assert literal and literal <= set(registry.REGISTRY), literal
    bogus = type("Bogus", (errors.Conflict,), {"code": "BOGUS"})
    try:  # an error class with an unregistered code is caught (and would answer 500)
        assert unregistered() == [bogus]
        assert registry.status_of(bogus("x")) == 500
    finally:
        del bogus
        gc.collect()
    assert unregistered() == []
    with pytest.raises(TypeError):
        type("Lower", (errors.Conflict,), {"code": "bogus"})


def test_domain_errors_carry_no_http_status() -> None:
    """HTTP concerns stay in api/: an error class has a code, the API maps it to a status."""
    import app  # noqa: F401  (imports every error class the API runs)

    def subclasses(cls: type) -> list[type]:
        return [s for c in cls.__subclasses__() for s in (c, *subclasses(c))]

    for cls in (errors.PerksError, *subclasses(errors.PerksError)):
        assert not hasattr(cls, "status"), cls


def test_every_details_reason_the_code_emits_is_documented():
    from chalicelib.domain.coupons import eligibility

    emitted = {v for k, v in vars(eligibility).items() if k.isupper() and isinstance(v, str)
               and v.isupper()}
    src = _sources()
    emitted |= set(re.findall(r'"reason": "([A-Z_]+)"', src))
    emitted |= set(re.findall(r'return "([A-Z_]{4,})", \{', src))  # audience problems
    emitted |= {"RESERVATION_MISMATCH", "RESERVATION_NOT_HELD"}
    assert emitted - set(registry.REASONS) == set()

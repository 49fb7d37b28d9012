"""Failures the fuzzer found, pinned as plain regression tests (each names its owner).

An open finding is marked strict xfail (listed in KNOWN_FINDINGS of test_fuzz_api.py too);
it turns into a failure the moment the bug is fixed, so the marker comes off with the fix.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

ODD_ID = "4%C2%BB%F0%B9%8F%96%C2%B8"  # a path segment as chalice's gateway hands it over


def _template() -> dict:
    now = datetime.now(UTC)
    return {"name": "odd", "benefit": {"type": "no_threshold", "amount": 100},
            "validity": {"starts_at": (now - timedelta(days=1)).isoformat(),
                         "ends_at": (now + timedelta(days=1)).isoformat()}}


# Found by the fuzzer (a PUT under a percent-encoded id poisoned GET /coupons/center with
# 500s for every member); fixed in chalicelib/services/coupons/templates.py.
def test_a_template_id_outside_the_pattern_is_refused_and_cannot_break_the_center(api):
    put = api.put(f"/admin/coupon-templates/{ODD_ID}", role="marketer", sub="mk-1",
                  body=_template())
    center = api.get("/coupons/center", role="member", sub="m-1")
    assert center.status_code < 500, center.json
    assert put.status_code == 400, put.json

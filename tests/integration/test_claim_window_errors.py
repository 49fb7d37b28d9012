"""A template outside its claim window says when the window is: CLAIM_ENDED /
CLAIM_NOT_STARTED come with the window's starts_at and ends_at (claims and codes)."""

from __future__ import annotations

import pytest

from chalicelib.errors import Unprocessable
from tests.coupon_support import register, save_template, template

ENDED = {"starts_at": "2020-01-01T00:00:00+08:00", "ends_at": "2021-01-01T00:00:00+08:00"}
LATER = {"starts_at": "2098-01-01T00:00:00+08:00", "ends_at": "2099-01-01T00:00:00+08:00"}


@pytest.mark.parametrize(("validity", "code", "words"), [
    (ENDED, "CLAIM_ENDED", "claiming ended at 2021-01-01T00:00:00+08:00"),
    (LATER, "CLAIM_NOT_STARTED", "claiming opens at 2098-01-01T00:00:00+08:00")])
def test_a_closed_claim_window_names_its_dates(engine: str, validity: dict[str, str],
                                               code: str, words: str) -> None:
    from chalicelib.services.coupons import coupons

    save_template("closed", {**template(), "validity": validity})
    register("m-closed")
    with pytest.raises(Unprocessable) as e:
        coupons.claim("m-closed", "closed")
    assert words in e.value.message
    assert e.value.details == [{"path": "/template_id", "message": code, "reason": code,
                                "starts_at": validity["starts_at"],
                                "ends_at": validity["ends_at"]}]


def test_a_code_of_an_ended_template_names_the_dates(engine: str) -> None:
    from chalicelib.services.coupons import codes as coupon_codes

    save_template("gone", template(validity=ENDED, limits={"stock": 10}))
    register("m-code")
    batch = coupon_codes.generate("gone", coupon_codes.CodeBatchRequest(count=1), "tester")
    code = coupon_codes.export_csv("gone", batch.batch_id).splitlines()[1].split(",")[0]
    with pytest.raises(Unprocessable) as e:
        coupon_codes.bind("m-code", coupon_codes.BindRequest(code=code))
    assert "claiming ended at 2021-01-01T00:00:00+08:00" in e.value.message
    assert e.value.details[0]["message"] == "CLAIM_ENDED"
    assert e.value.details[0]["ends_at"] == ENDED["ends_at"]

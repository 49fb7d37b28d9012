"""Code generation never piles transactions onto a local engine: DynamoDB Local runs one
transaction at a time, so parallel ones only made each call wait behind the others until a
busy machine passed the client's read timeout (`POST .../codes` answered 503 under
`make run`, README checkout flow). Against it, the transactions run one by one (DynamoDB
itself keeps the parallel fan-out). Both engines produce every code once; moto in process is
not thread-safe across parallel transactions, so its leg stays within one transaction."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.coupon_support import save_template, template


def test_code_batches_run_one_at_a_time_on_a_local_engine(engine: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.adapters.coupons.repository import CouponRepository
    from chalicelib.services.coupons import codes as coupon_codes

    save_template("codes-local", template(limits={"stock": 1000}))
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    original = CouponRepository.transact

    def counting(self: Any, items: list[dict[str, Any]], token: str | None = None) -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            time.sleep(0.05)  # long enough for parallel calls to overlap
            original(self, items, token)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(CouponRepository, "transact", counting)
    count = 500 if engine == "dynamodb-local" else 100
    batch = coupon_codes.generate("codes-local", coupon_codes.CodeBatchRequest(count=count),
                                  "tester")
    rows = coupon_codes.export_csv("codes-local", batch.batch_id).splitlines()[1:]
    assert len({r.split(",")[0] for r in rows}) == count
    assert state["most"] == 1

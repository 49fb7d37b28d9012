"""Fault-suite fixtures: the API runs as a Lambda with a short timeout.

Powertools marks an Idempotency-Key "in progress" until the invocation's deadline; when a
fault strikes the idempotency record's own writes, retries with that key wait for it (409
IDEMPOTENCY_IN_PROGRESS). chalice's test gateway gives every invocation 900 s; a 0.3 s Lambda
timeout keeps the suite fast while exercising exactly that path.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

LAMBDA_TIMEOUT_S = 0.3


@pytest.fixture(autouse=True)
def short_lambda_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from chalice.local import LocalGateway

    monkeypatch.setattr(LocalGateway, "MAX_LAMBDA_EXECUTION_TIME", LAMBDA_TIMEOUT_S)
    yield

"""One in-process stack (moto + chalice test client) per security module: the matrices make
hundreds of calls, and none of them needs a fresh table."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import ApiClient, _reset_all


@pytest.fixture(scope="module")
def shared_api() -> Iterator[ApiClient]:
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib.local.resources import bootstrap

    suffix = uuid.uuid4().hex[:8]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TABLE_NAME", f"perks-sec-{suffix}")
        mp.setenv("IDEMPOTENCY_TABLE_NAME", f"perks-sec-{suffix}-idem")
        with mock_aws():
            _reset_all()
            bootstrap()
            with Client(app, stage_name="test") as client:
                yield ApiClient(client)
        _reset_all()

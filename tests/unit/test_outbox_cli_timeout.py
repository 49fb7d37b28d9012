"""`perks outbox` reads moto's state dump from the stack's process; on a busy machine that is
slow, not absent: it waits MOTO_DUMP_TIMEOUT (60 s, not 10) and, if even that passes, says the
stack is busy in one line instead of claiming no stack is running."""

from __future__ import annotations

import argparse
import socket
import types

import pytest


def test_a_slow_moto_is_reported_as_busy_not_absent(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import chalicelib.config
    from chalicelib.cli import delivery

    assert delivery.MOTO_DUMP_TIMEOUT >= 60
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setattr(delivery, "MOTO_DUMP_TIMEOUT", 0.3)
        monkeypatch.setattr(delivery, "_stage", lambda args: None)
        monkeypatch.setattr(chalicelib.config, "get_settings",
                            lambda: types.SimpleNamespace(sns_endpoint=url))
        rc = delivery.outbox_cmd(argparse.Namespace(limit=None, json=True))
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1
    assert err[0] == ("error: the local SNS (moto) did not answer within 0.3 s; the stack is "
                      "busy, try again")

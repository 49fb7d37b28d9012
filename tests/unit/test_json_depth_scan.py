"""The JSON depth pre-check is one linear pass, whatever the body holds."""

from __future__ import annotations

import time

import pytest

from chalicelib.api.http import MAX_JSON_DEPTH, json_depth_exceeded

MB = 1_000_000
ADVERSARIAL = {
    # the review's repro, grown to 1 MB: an unclosed string of escaped quotes
    "unclosed-escaped-quotes": b"[" * 65 + b'"' + b'\\"' * (MB // 2),
    "unclosed-then-backslash": b"[" * 65 + b'"' + b"x" * MB + b"\\",
    "many-quotes": b"[" * 65 + b'"' * MB,
    "many-escapes": b"[" * 65 + b'"' + b"\\\\" * (MB // 2),
    "flat-brackets": b"[]" * (MB // 2),
    "deep-then-flat": b"[" * 64 + b"[]" * (MB // 2),
    "strings-of-brackets": b"[" * 65 + b'"[[[[",' * (MB // 7) + b"]",
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_a_one_megabyte_adversarial_body_is_scanned_quickly(name: str) -> None:
    body = ADVERSARIAL[name]
    t0 = time.thread_time()
    json_depth_exceeded(body)
    assert time.thread_time() - t0 < 0.5, name


def test_depths_are_counted_outside_strings_only() -> None:
    assert not json_depth_exceeded(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert json_depth_exceeded(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    assert json_depth_exceeded(b"{" * (MAX_JSON_DEPTH + 1))
    inside = b'{"a": "' + b"[" * 200 + b'"}'
    assert not json_depth_exceeded(inside)
    escaped = b'{"a": "\\"' + b"[" * 200 + b'"}'
    assert not json_depth_exceeded(escaped)  # an escaped quote does not close the string
    after = b'{"a": "x\\\\", "b": ' + b"[" * 100 + b"]" * 100 + b"}"
    assert json_depth_exceeded(after)  # an escaped backslash does: the brackets count
    assert json_depth_exceeded(b"[" * 65 + b'"' + b'\\"' * 40_000)  # the repro: still caught
    assert not json_depth_exceeded(b'"' + b"[" * 100)  # an unclosed string hides the rest

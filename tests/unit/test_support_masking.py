"""Support sees inbox titles with the member's name masked however a template wrote it."""

from __future__ import annotations

import pytest

from chalicelib.domain.members.model import mask_name, mask_names_in
from chalicelib.services.members.support import inbox_line


def test_a_one_character_name_is_masked_whole() -> None:
    assert mask_name("李") == "*"
    assert (mask_name("李雷"), mask_name("李小雷")) == ("李*", "李*雷")


@pytest.mark.parametrize(("name", "title", "shown"), [
    ("李小雷", "李小雷，生日快乐", "李*雷，生日快乐"),  # noqa: RUF001 (the message's own text)
    ("李小雷", "小雷，送你一张券", "**，送你一张券"),  # noqa: RUF001
    ("李", "李，你好", "*，你好"),  # noqa: RUF001
    ("Ada Lovelace", "Happy birthday Ada Lovelace", "Happy birthday A***e"),
    ("Ada Lovelace", "Hi ADA, a gift for you", "Hi ***, a gift for you"),
    ("Ada Lovelace", "dear ada lovelace", "dear A***e"),
    ("Ada Lovelace", "Nothing personal", "Nothing personal"),
    (None, "Hi Ada", "Hi Ada"),
])
def test_names_are_masked_in_titles(name: str | None, title: str, shown: str) -> None:
    assert mask_names_in(title, name) == shown


def test_support_gets_the_title_only() -> None:
    msg = {"message_id": "x", "title": "小雷的礼物", "body": "李小雷 at 上海路 1 号",
           "deep_link": "app://order/9?name=李小雷", "campaign_id": "c", "read": False,
           "created_at": "2025-01-01T00:00:00Z"}
    line = inbox_line(msg, "李小雷")
    assert line["title"] == "**的礼物"
    assert "body" not in line and "deep_link" not in line
    assert "小雷" not in str(line)

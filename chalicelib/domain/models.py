"""Shared pydantic bases: strict, no unknown fields, JSON paths in every error."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints


class Strict(BaseModel):
    """Request bodies and marketer JSON: unknown fields are errors, no silent coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class Out(BaseModel):
    """Response bodies."""

    model_config = ConfigDict(extra="ignore")


# Free text people send (names, descriptions, messages, reasons) is shown to other people in
# apps, consoles, SMS and logs. C0/C1 controls (NUL truncates C strings, ESC drives
# terminals) and bidi overrides/isolates/marks (U+202E makes "gpj.exe" read "exe.jpg") have
# no place in it. Multi-line text keeps newline and tab; everything else is one line.
_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_MULTI_LINE = re.compile(f"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")  # \t \n \r allowed


def _refuse(pattern: re.Pattern[str], value: str) -> str:
    m = pattern.search(value)
    if m:
        raise ValueError(f"contains U+{ord(m.group()):04X} at position {m.start()}: control "
                         "and bidirectional-override characters are not allowed")
    return value


def _one_line(value: str) -> str:
    return _refuse(_ONE_LINE, value)


def _multi_line(value: str) -> str:
    return _refuse(_MULTI_LINE, value)


OneLine = AfterValidator(_one_line)
MultiLine = AfterValidator(_multi_line)
SafeText = Annotated[str, OneLine]
SafeMultiline = Annotated[str, MultiLine]


def length(min_length: int = 0, max_length: int = 200) -> StringConstraints:
    """The bounds of a free-text field, written before its character check:
    ``Name = Annotated[str, length(1, 100), OneLine]`` (a static alias a type checker reads)."""
    return StringConstraints(min_length=min_length or None, max_length=max_length)


def safe_text(min_length: int = 0, max_length: int = 200, *, multiline: bool = False) -> object:
    """The same type built at run time, for code that picks the bounds dynamically (tests)."""
    return Annotated[str, length(min_length, max_length), MultiLine if multiline else OneLine]

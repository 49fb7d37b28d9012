"""Shared pydantic bases: strict, no unknown fields, JSON paths in every error."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Request bodies and marketer JSON: unknown fields are errors, no silent coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class Out(BaseModel):
    """Response bodies."""

    model_config = ConfigDict(extra="ignore")

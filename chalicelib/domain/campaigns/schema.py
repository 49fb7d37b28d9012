"""The JSON Schema of a campaign file, generated from the pydantic model. Pure.

``campaigns/schema.json`` is this output, committed; a test fails when it is stale
(regenerate with ``perks campaigns schema --write``). Campaign files point at it with
``"$schema": "./schema.json"`` so editors complete and check them as they are typed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.domain.campaigns.audience import (
    ATTRIBUTES,
    OPS_BY_KIND,
    PREFIXED,
    SEGMENT_SLUG_MAX,
)
from chalicelib.domain.campaigns.model import Campaign
from chalicelib.domain.campaigns.segments import SLUG_PATTERN as SEGMENT_SLUG
from chalicelib.domain.campaigns.segments import Segment

SCHEMA_ID = "https://perks.example/schemas/campaign.json"
SEGMENT_SCHEMA_ID = "https://perks.example/schemas/segment.json"
CUSTOM_ATTR = r"^attributes\.[A-Za-z_][A-Za-z0-9_]{0,39}$"
WALL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
DATE_TIME = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
             r"(Z|[+-][0-9]{2}:[0-9]{2})?$")


def _value_schema(kind: str, names: list[str]) -> dict[str, object]:
    """The JSON Schema of a condition's ``value`` on attributes of ``kind``."""
    if kind == "int":
        return {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}},
                          {"type": "boolean"}]}
    if kind == "bool":
        return {"type": "boolean"}
    if kind == "enum":
        choices = sorted({c for n in names for c in ATTRIBUTES[n].choices})
        return {"anyOf": [{"enum": choices}, {"type": "array", "items": {"enum": choices}},
                          {"type": "boolean"}]}
    if kind in ("str", "list"):
        return {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}},
                          {"type": "boolean"}]}
    return {}


def _audience_defs() -> dict[str, object]:
    conditions = []
    for kind, ops in OPS_BY_KIND.items():
        names = [n for n, a in ATTRIBUTES.items() if a.kind == kind]
        if kind == "any":
            attr: dict[str, object] = {"type": "string", "pattern": CUSTOM_ATTR,
                                    "description": "a custom profile attribute"}
        elif names:
            attr = {"enum": names, "description": "; ".join(
                f"{n}: {ATTRIBUTES[n].doc}" for n in names)}
            keyed = [{"type": "string", "pattern": _family_pattern(prefix, key_re.pattern),
                      "description": f"{prefix}<key>: {spec.doc}"}
                     for prefix, (spec, key_re) in PREFIXED.items() if spec.kind == kind]
            if keyed:
                attr = {"anyOf": [attr, *keyed]}
        else:
            continue
        value = _value_schema(kind, names)
        conditions.append({
            "type": "object",
            "title": f"condition on a {kind} attribute",
            "properties": {"attr": attr, "op": {"enum": list(ops)}, "value": value},
            "required": ["attr", "op"],
            "additionalProperties": False,
        })
    ref = {"$ref": "#/$defs/AudienceNode"}
    conditions.append({
        "type": "object", "title": "segment",
        "description": "a named segment (campaigns/segments/<slug>.json); saving pins its "
                       "current version and expression",
        "properties": {"segment": {"type": "string", "pattern": SEGMENT_SLUG,
                                   "maxLength": SEGMENT_SLUG_MAX},
                       "version": {"type": "integer", "minimum": 1,
                                   "description": "pinned by the store; leave it out"},
                       "audience": ref},
        "required": ["segment"], "additionalProperties": False})
    return {
        "AudienceNode": {
            "description": "An audience: all/any/not groups of conditions on member "
                           "attributes. A condition on a missing attribute is false.",
            "anyOf": [
                {"type": "object", "title": "all", "properties": {
                    "all": {"type": "array", "items": ref}}, "required": ["all"],
                 "additionalProperties": False},
                {"type": "object", "title": "any", "properties": {
                    "any": {"type": "array", "items": ref}}, "required": ["any"],
                 "additionalProperties": False},
                {"type": "object", "title": "not", "properties": {"not": ref},
                 "required": ["not"], "additionalProperties": False},
                *conditions,
            ],
        },
    }


def _family_pattern(prefix: str, key_pattern: str) -> str:
    """'affinity.' + '^[^\\s.~]{1,64}$' -> '^affinity\\.[^\\s.~]{1,64}$'."""
    return "^" + re.escape(prefix) + key_pattern.removeprefix("^")


def _fix_formats(node: object) -> None:
    """JSON Schema's 'time'/'date-time' formats demand seconds and offsets; campaigns
    accept "09:00" and wall-clock date-times, so patterns replace those formats."""
    if isinstance(node, dict):
        fmt = node.get("format")
        if fmt == "time":
            node.pop("format")
            node["pattern"] = WALL_TIME
        elif fmt == "date-time":
            node.pop("format")
            node["pattern"] = DATE_TIME
        for v in node.values():
            _fix_formats(v)
    elif isinstance(node, list):
        for v in node:
            _fix_formats(v)


def campaign_json_schema() -> dict[str, object]:
    schema = Campaign.model_json_schema(by_alias=True, mode="validation")
    _fix_formats(schema)
    props = schema["properties"]
    props["$schema"] = {"type": "string", "description": "path or URL of this schema, for "
                        "editors: \"./schema.json\""}
    props["audience"] = {"anyOf": [{"$ref": "#/$defs/AudienceNode"}, {"type": "null"}],
                         "default": None,
                         "description": "who may receive the campaign; null: every member"}
    schema["$defs"].update(_audience_defs())
    branch = schema["$defs"].get("BranchStep")
    if branch:
        branch["properties"]["if"] = _branch_condition()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            **schema}


def _branch_condition() -> dict[str, object]:
    """A journey branch's ``if``: an audience on member facts, or an event since entry."""
    from chalicelib.domain.campaigns.journeys import EVENTS

    return {"description": "an audience expression on member facts, or what happened since "
                           "entry", "anyOf": [
        {"$ref": "#/$defs/AudienceNode"},
        {"type": "object", "title": "event since entry",
         "properties": {"event": {"enum": list(EVENTS)},
                        "of_step": {"type": "string",
                                    "description": "coupon_redeemed: the action step that "
                                                   "issued the coupon"}},
         "required": ["event"], "additionalProperties": False}]}


def schema_text() -> str:
    return json.dumps(campaign_json_schema(), indent=2, ensure_ascii=False) + "\n"


def segment_json_schema() -> dict[str, Any]:
    """The schema of ``campaigns/segments/*.json`` (committed as campaigns/segments/schema.json)."""
    schema = Segment.model_json_schema(by_alias=True, mode="validation")
    props = schema["properties"]
    props.pop("version", None)
    props["$schema"] = {"type": "string", "description": "path or URL of this schema, for "
                        "editors: \"./schema.json\""}
    props["audience"] = {"$ref": "#/$defs/AudienceNode",
                         "description": "who is in the segment (the campaign audience language)"}
    schema.setdefault("$defs", {}).update(_audience_defs())
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SEGMENT_SCHEMA_ID,
            **schema}


def segment_schema_text() -> str:
    return json.dumps(segment_json_schema(), indent=2, ensure_ascii=False) + "\n"

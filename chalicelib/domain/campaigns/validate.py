"""Campaign JSON → ``Campaign``, or a list of ``{path, message, hint}`` errors. Pure.

``path`` is a JSON pointer into the document the marketer wrote (``/trigger/local_time``),
``hint`` says how to fix it. Whatever the input, the only exception raised is
``ValidationFailed`` (and only from ``parse_campaign``).
"""

from __future__ import annotations

import difflib
import json

from pydantic import BaseModel, ValidationError

from chalicelib.domain.campaigns import audience as aud
from chalicelib.domain.campaigns.festivals import FESTIVALS
from chalicelib.domain.campaigns.model import (
    EVENT_PARAMS,
    REF_TAGS,
    AwardPoints,
    Campaign,
    Event,
    EventType,
    Holiday,
    HolidayRule,
    Message,
    Once,
    Recurring,
)
from chalicelib.errors import ValidationFailed

Error = dict[str, str]
TRIGGER_TYPES = ("once", "recurring", "birthday", "holiday", "event")
ACTION_TYPES = ("issue_coupon", "award_points", "message", "draw_entries")
STEP_TYPES = ("action", "wait", "branch", "exit")
ORDER_EVENTS = (EventType.order, EventType.first_order)


def parse_campaign(data: object) -> Campaign:
    """A valid Campaign from JSON text/bytes or already-parsed JSON; else ValidationFailed."""
    campaign, errors = validate_campaign(data)
    if errors or campaign is None:
        raise ValidationFailed("the campaign is invalid", details=errors)
    return campaign


def validate_campaign(data: object) -> tuple[Campaign | None, list[Error]]:
    """(campaign, []) when valid, else (None, errors)."""
    try:
        return _validate(data)
    except RecursionError:
        return None, [_e("/", "the document is nested too deeply",
                         "audiences are limited to 16 levels")]


def _validate(data: object) -> tuple[Campaign | None, list[Error]]:
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except ValueError as e:
            return None, [_e("/", f"not valid JSON: {e}", "check commas, quotes and brackets "
                             "(an editor with the $schema shows the spot)")]
    if not isinstance(data, dict):
        return None, [_e("/", "a campaign must be a JSON object", '{"$schema": ..., "id": ...}')]
    try:
        raw = json.dumps(data, allow_nan=False)
    except (TypeError, ValueError):
        return None, [_e("/", "the document holds values JSON cannot represent",
                         "use strings, numbers, booleans, lists and objects only")]
    errors: list[Error] = []
    try:
        campaign = Campaign.model_validate_json(raw)
    except ValidationError as e:
        errors = pydantic_errors(e, data)
        campaign = None
    # The audience is checked by its own checker (precise paths) even when the rest failed.
    if "audience" in data and data["audience"] is not None:
        errors.extend(aud.check_audience(data["audience"]))
    if campaign is None:
        return None, _dedupe(errors)
    errors.extend(semantic_errors(campaign))
    return (None, _dedupe(errors)) if errors else (campaign, [])


def _e(path: str, message: str, hint: str = "") -> Error:
    return {"path": path, "message": message, "hint": hint}


def _dedupe(errors: list[Error]) -> list[Error]:
    seen: set[tuple[str, str]] = set()
    out = []
    for e in errors:
        k = (e["path"], e["message"])
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


# --- pydantic errors → JSON pointers with hints ----------------------------------------------

Loc = str | int  # one step of a pydantic error location or a JSON path


def _pointer(parts: list[Loc]) -> str:
    if not parts:
        return "/"
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _real_path(loc: tuple[Loc, ...], data: object) -> list[Loc]:
    """Drop the discriminator tags and validator names pydantic adds to ``loc``."""
    out: list[Loc] = []
    cur: object = data
    tagged = 0
    for seg in loc:
        if isinstance(cur, dict):
            # Discriminated unions put the tag ("birthday", "message") into the location.
            if isinstance(seg, str) and ((cur.get("type") == seg and id(cur) != tagged)
                                         or seg.startswith("function-") or "[" in seg
                                         or (seg in REF_TAGS and seg not in cur)):
                tagged = id(cur)
                continue
            if isinstance(seg, str) and seg in cur:
                out.append(seg)
                cur = cur[seg]
                continue
            out.append(seg)
            cur = None
        elif isinstance(cur, list) and isinstance(seg, int) and 0 <= seg < len(cur):
            out.append(seg)
            cur = cur[seg]
        elif isinstance(seg, str) and ("[" in seg or seg.startswith("function-")
                                       or seg in REF_TAGS):
            continue
        else:
            out.append(seg)
            cur = None
    if out and out[0] == "$schema":
        return out
    return [("$schema" if p == "schema_" else p) for p in out]


_FIELD_NAMES: set[str] = set()


def _all_field_names() -> set[str]:
    if not _FIELD_NAMES:
        def walk(cls: type[BaseModel]) -> None:
            for name, f in cls.model_fields.items():
                _FIELD_NAMES.add(f.alias or name)
                for sub in _models_in(f.annotation):
                    if sub.__name__ not in seen:
                        seen.add(sub.__name__)
                        walk(sub)

        seen: set[str] = set()
        walk(Campaign)
    return _FIELD_NAMES


def _models_in(annotation: object) -> list[type[BaseModel]]:
    from typing import get_args

    out: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            out.append(a)
        stack.extend(get_args(a))
    return out


_TYPE_HINTS = {
    "int_type": "write a whole number without quotes",
    "int_from_float": "write a whole number",
    "float_type": "write a number without quotes",
    "string_type": "write text in double quotes",
    "bool_type": "write true or false without quotes",
    "list_type": "write a list: [ ... ]",
    "dict_type": "write an object: { ... }",
    "model_type": "write an object: { ... }",
    "model_attributes_type": "write an object: { ... }",
    "datetime_type": "write an ISO 8601 date-time, e.g. \"2026-11-11T00:00:00+08:00\"",
    "datetime_parsing": "write an ISO 8601 date-time, e.g. \"2026-11-11T00:00:00+08:00\"",
    "datetime_from_date_parsing": "write an ISO 8601 date-time, e.g. \"2026-11-11T00:00:00+08:00\"",
    "time_type": "write a time of day as \"HH:MM\", e.g. \"09:00\"",
    "time_parsing": "write a time of day as \"HH:MM\", e.g. \"09:00\"",
    "too_short": "add at least one entry",
    "missing": "add this field",
}
_PATTERN_HINTS = {
    "id": "lowercase letters, digits and dashes, 2-64 characters, e.g. \"birthday-gift\"",
    "template": "the id of a coupon template, e.g. \"new-member-5\"",
    "best_of": "ids of coupon templates, e.g. [\"coffee-5\", \"tea-5\"]",
    "calendar": "a country code such as \"CN\"",
    "draw": "the id of a lucky draw (campaigns/draws/<id>.json), e.g. \"spring-lucky-draw\"",
}


def pydantic_errors(err: ValidationError, data: object) -> list[Error]:
    out: list[Error] = []
    for e in err.errors(include_url=False, include_input=False):
        path = _real_path(tuple(e["loc"]), data)
        if path and path[0] == "audience":
            continue  # reported by the audience checker with precise paths
        kind, msg, ctx = e["type"], e["msg"], e.get("ctx") or {}
        hint = _TYPE_HINTS.get(kind, "")
        if kind == "extra_forbidden":
            name = str(path[-1]) if path else ""
            msg = f"unknown field '{name}'"
            close = difflib.get_close_matches(name, sorted(_all_field_names()), n=1)
            hint = (f"did you mean '{close[0]}'? " if close else "") + "remove it, or check " \
                "the spelling against campaigns/schema.json"
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            tags = ACTION_TYPES if "actions" in path else STEP_TYPES if "steps" in path \
                else TRIGGER_TYPES
            path = [*path, "type"]
            msg = "missing 'type'" if kind == "union_tag_not_found" else \
                f"unknown type {ctx.get('tag', '')!r}"
            close = difflib.get_close_matches(str(ctx.get("tag", "")), tags, n=1)
            hint = (f"did you mean '{close[0]}'? " if close else "") + \
                "type is one of: " + ", ".join(tags)
        elif kind in ("literal_error", "enum"):
            hint = f"use {ctx.get('expected', '')}"
        elif kind == "string_pattern_mismatch":
            field = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
            hint = _PATTERN_HINTS.get(field, "")
            msg = "has the wrong format"
        elif kind == "value_error":
            msg = msg.removeprefix("Value error, ")
            if path and path[-1] == "timezone":
                hint = "an IANA timezone such as \"Asia/Shanghai\" or \"Europe/Berlin\""
        elif kind == "missing" and path:
            hint = f"add \"{path[-1]}\""
        out.append(_e(_pointer(path), msg, hint))
    return out


# --- rules across fields ---------------------------------------------------------------------

def semantic_errors(c: Campaign) -> list[Error]:
    """Rules a JSON Schema cannot express; each error names its JSON path."""
    errors: list[Error] = []
    if c.window.end is not None and c.ends_at is not None and c.ends_at <= c.starts_at:
        errors.append(_e("/window/end", "the window ends before it starts",
                         "end must be after start"))
    errors.extend(_trigger_errors(c))
    errors.extend(_action_errors(c))
    errors.extend(_journey_errors(c))
    if c.experiment:
        seen: dict[str, int] = {}
        for i, v in enumerate(c.experiment.variants):
            if v.id in seen:
                errors.append(_e(f"/experiment/variants/{i}/id",
                                 f"variant id '{v.id}' is used twice", "give each variant "
                                 "its own id"))
            seen[v.id] = i
    qh = c.delivery.quiet_hours
    if qh is not None and qh.start == qh.end:
        errors.append(_e("/delivery/quiet_hours/end", "quiet hours start and end at the same "
                         "time", "set \"quiet_hours\": null for no quiet hours"))
    return errors


def _trigger_errors(c: Campaign) -> list[Error]:
    t = c.trigger
    errors: list[Error] = []
    if isinstance(t, Once):
        if t.local_time and t.at.tzinfo is not None:
            errors.append(_e("/trigger/at", "with local_time, 'at' is a wall-clock time",
                             "drop the offset, e.g. \"2026-11-11T10:00:00\""))
        elif not t.local_time and not c.in_window(c.instant(t.at)):
            errors.append(_e("/trigger/at", "fires outside the campaign window",
                             "move 'at' into the window or widen the window"))
    elif isinstance(t, Recurring):
        from chalicelib.domain.campaigns.cron import CronError, parse_cron

        try:
            parse_cron(t.cron)
        except CronError as ex:
            errors.append(_e("/trigger/cron", f"invalid cron: {ex}",
                             "5 fields: minute hour day-of-month month day-of-week, "
                             "e.g. \"0 10 * * 1\" (Mondays 10:00)"))
    elif isinstance(t, Holiday):
        errors.extend(_holiday_errors(c, t))
    elif isinstance(t, Event):
        allowed, required = EVENT_PARAMS[t.event]
        given = t.params.model_dump(exclude_none=True)
        for name in sorted(set(given) - allowed):
            errors.append(_e(f"/trigger/params/{name}", f"'{name}' does not apply to "
                             f"{t.event.value} events",
                             "applies here: " + (", ".join(sorted(allowed)) or "no params")))
        for name in sorted(required - set(given)):
            errors.append(_e(f"/trigger/params/{name}", f"{t.event.value} events need '{name}'",
                             f"add \"params\": {{\"{name}\": ...}}"))
    return errors


def _holiday_errors(c: Campaign, t: Holiday) -> list[Error]:
    from chalicelib.domain.campaigns import occurrences as occ

    if not occ.calendar_supported(t.calendar):
        return [_e("/trigger/calendar", f"unknown holiday calendar '{t.calendar}'",
                   "a country code from the holidays package, e.g. \"CN\", \"US\", \"DE\"")]
    errors = []
    for i, ref in enumerate(t.holidays):
        path = f"/trigger/holidays/{i}"
        if isinstance(ref, HolidayRule):
            problem = _holiday_name_error(c, t.calendar, ref.holiday, f"{path}/holiday")
            if problem is None and (ref.working_day_after or ref.working_day_before):
                problem = _working_day_error(c, t.calendar, ref, path)
        else:
            problem = _holiday_name_error(c, t.calendar, ref, path)
        if problem is not None:
            errors.append(problem)
    return errors


def _holiday_name_error(c: Campaign, calendar: str, ref: str, path: str) -> Error | None:
    from chalicelib.domain.campaigns import occurrences as occ
    from chalicelib.domain.campaigns.festivals import ambiguity

    years = range(c.starts_at.year, c.starts_at.year + 3)
    if occ.is_explicit_date(ref):
        if occ.holiday_known(calendar, ref, years):
            return None
        return _e(path, f"'{ref}' is not a calendar date",
                  "\"YYYY-MM-DD\" for one day or \"--MM-DD\" for every year")
    if occ.holiday_known(calendar, ref, years):
        return None
    which = ambiguity(ref)
    if which is not None:
        return _e(path, f"'{ref}' names two different days", which)
    close = occ.suggest_holiday(calendar, ref, c.starts_at.year)
    festivals = [f.name for f in FESTIVALS if f.kind == "lunar"]
    public = [n for n in occ.holiday_names(calendar, c.starts_at.year)[:40] if n.isascii()]
    while len(", ".join(public)) > 160:
        public.pop()
    return _e(path, f"no holiday named '{ref}' in the {calendar} calendar",
              (f"did you mean '{close}'? " if close else "")
              + "festivals: " + ", ".join(festivals) + "; solar terms: 立春 … 冬至; "
              + "public holidays: " + ", ".join(public) + " (docs/campaigns.md lists all)")


def _working_day_error(c: Campaign, calendar: str, rule: HolidayRule, path: str
                       ) -> Error | None:
    """An error only when no day of the window can be resolved (a lint warning covers the
    windows that are partly in a year not yet published)."""
    from chalicelib.domain.campaigns import occurrences as occ

    first, last = occ.window_dates(c)
    found = occ.resolve_window(calendar, rule, first, last)
    stuck = [r for r in found if r.problem]
    if not stuck or any(r.day for r in found):
        return None
    field = "working_day_after" if rule.working_day_after is not None else "working_day_before"
    return _e(f"{path}/{field}", str(stuck[0].problem), stuck[0].hint)


def _journey_errors(c: Campaign) -> list[Error]:
    """A campaign has actions or a journey (whose action steps hold the actions)."""
    from chalicelib.domain.campaigns.journeys import journey_errors

    if c.journey is None:
        return [] if c.actions else [_e("/actions", "a campaign needs at least one action",
                                        "add an action, or a \"journey\" of steps")]
    errors = [_e("/actions", "a journey campaign has no campaign-level actions",
                 "move them into an action step of the journey")] if c.actions else []
    for i, v in enumerate(c.experiment.variants if c.experiment else []):
        if v.actions:
            errors.append(_e(f"/experiment/variants/{i}/actions", "journey variants cannot "
                             "replace actions", "use a holdout, or two journey campaigns"))
    return errors + journey_errors(c.journey, aud.check_audience)


def _action_errors(c: Campaign) -> list[Error]:
    from chalicelib.domain.campaigns.templates import template_problem

    errors = []
    order_event = isinstance(c.trigger, Event) and c.trigger.event in ORDER_EVENTS
    for prefix, i, a in c.all_actions():
        if isinstance(a, AwardPoints) and a.multiplier is not None and not order_event:
            errors.append(_e(f"{prefix}/{i}/multiplier", "a multiplier needs an order event "
                             "trigger", "use fixed \"points\", or trigger on order/first_order"))
        if isinstance(a, Message):
            if len(set(a.channels)) != len(a.channels):
                errors.append(_e(f"{prefix}/{i}/channels", "a channel is listed twice",
                                 "list each channel once"))
            for loc, content in a.content.items():
                for field, text in content.texts():
                    problem = template_problem(text)
                    if problem:
                        errors.append(_e(f"{prefix}/{i}/content/{loc}/{field}", *problem))
    return errors

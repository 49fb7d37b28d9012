"""Journeys: how a member walks a campaign's steps, and what a journey document may say. Pure.

A member rests only at waits. From where they stand (the entry step, or the step after the
wait that just ended) the walk runs action steps (their actions are collected), evaluates
branches (``check`` answers each condition: the service reads the facts) and stops at the
next wait (``due`` computed here), an exit, or the end of the list (completed). Everything a
walk collects commits in one transaction with the state change, so a member passes each
step exactly once per entry.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.campaigns.model import (
    Action,
    ActionStep,
    AwardPoints,
    BranchStep,
    ExitStep,
    IssueCoupon,
    Journey,
    Step,
    WaitStep,
)

Error = dict[str, str]
EVENTS = ("coupon_redeemed", "ordered")
WAITING, EXITED, COMPLETED = "waiting", "exited", "completed"


@dataclass
class Walk:
    """One walk: the steps passed (in order), their actions, and where it stopped."""

    passed: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    action_steps: list[str] = field(default_factory=list)
    end: str = COMPLETED  # waiting | exited | completed
    rest: str | None = None  # the wait step the member rests at
    due: datetime | None = None


def by_id(journey: Journey) -> dict[str, Step]:
    return {s.id: s for s in journey.steps}


def successor(journey: Journey, step_id: str) -> str | None:
    """Where a step goes when it is done (``next``, else the following step; None: end)."""
    steps = journey.steps
    i = next(i for i, s in enumerate(steps) if s.id == step_id)
    explicit = getattr(steps[i], "next", None)
    if explicit:
        return str(explicit)
    return steps[i + 1].id if i + 1 < len(steps) else None


def walk(journey: Journey, start: str | None, now: datetime, tz: str,
         check: Callable[[dict[str, object]], bool]) -> Walk:
    """Walk from ``start`` (None: nothing left, completed) to the next wait, exit or end."""
    steps = by_id(journey)
    out = Walk()
    at = start
    while at is not None:
        if at in out.passed:  # validation refuses cycles; never loop on a stored document
            raise ValueError(f"journey step {at!r} reached twice in one walk")
        step = steps[at]
        out.passed.append(at)
        if isinstance(step, WaitStep):
            out.end, out.rest, out.due = WAITING, at, wait_until(step, now, tz)
            return out
        if isinstance(step, ExitStep):
            out.end = EXITED
            return out
        if isinstance(step, BranchStep):
            at = step.then if check(step.if_) else step.else_
            continue
        assert isinstance(step, ActionStep)
        out.actions += step.actions
        out.action_steps.append(at)
        at = successor(journey, at)
    return out


def wait_until(step: WaitStep, now: datetime, tz: str) -> datetime:
    """When a wait that starts at ``now`` ends: ``hours`` later, or ``days`` later (at the
    member-local wall time ``at`` of that day when given; DST gaps move forward)."""
    if step.hours is not None:
        return now + timedelta(hours=step.hours)
    assert step.days is not None
    if step.at is None:
        return now + timedelta(days=step.days)
    zone = ZoneInfo(tz)
    day = now.astimezone(zone).date() + timedelta(days=step.days)
    local = datetime.combine(day, step.at, tzinfo=zone)
    # Round-trip through UTC: a wall time in a DST gap becomes the first real instant after.
    return local.astimezone(ZoneInfo("UTC"))


def may_enter(journey: Journey, state: Mapping[str, object] | None, now: datetime
              ) -> str | None:
    """None when a member with journey ``state`` may enter now, else why not."""
    if state is None:
        return None
    if state.get("status") == "active":
        return "in_journey"
    if journey.reentry == "never":
        return "no_reentry"
    assert not isinstance(journey.reentry, str)
    entered = datetime.fromisoformat(str(state.get("entered_at")).replace("Z", "+00:00"))
    if now < entered + timedelta(days=journey.reentry.after_days):
        return "reentry_too_soon"
    return None


def summary(journey: Journey, rows: Iterable[Mapping[str, object]]) -> dict[str, object]:
    """The step counters of a journey's shards: members entered, now at each wait (active),
    exited and completed, and how many reached each step."""
    total: dict[str, int] = {}
    for row in rows:
        for k, v in row.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "ttl_epoch":
                total[k] = total.get(k, 0) + int(v)
    steps = [{"id": s.id, "type": s.type, "reached": total.get(f"reached:{s.id}", 0),
              **({"at": total.get(f"at:{s.id}", 0)} if isinstance(s, WaitStep) else {})}
             for s in journey.steps]
    return {"entered": total.get("entered", 0),
            "active": sum(total.get(f"at:{s.id}", 0) for s in journey.steps),
            "exited": total.get(EXITED, 0), "completed": total.get(COMPLETED, 0),
            "steps": steps}


# --- validation --------------------------------------------------------------------------

def journey_errors(journey: Journey, audience_check: Callable[[object, str], list[Error]]
                   ) -> list[Error]:
    """Rules a schema cannot express, each with its JSON path under ``/journey``."""
    errors: list[Error] = []
    ids: dict[str, int] = {}
    for i, s in enumerate(journey.steps):
        if s.id in ids:
            errors.append(_e(f"/journey/steps/{i}/id", f"step id '{s.id}' is used twice",
                             "give each step its own id"))
        ids.setdefault(s.id, i)
    if journey.entry is not None and journey.entry not in ids:
        errors.append(_unknown("/journey/entry", journey.entry, ids))
    for i, s in enumerate(journey.steps):
        errors += _step_errors(journey, i, s, ids, audience_check)
    if not errors:
        errors += _cycle_errors(journey, ids)
    return errors


def _step_errors(journey: Journey, i: int, s: Step, ids: dict[str, int],
                 audience_check: Callable[[object, str], list[Error]]) -> list[Error]:
    path = f"/journey/steps/{i}"
    errors: list[Error] = []
    for name, target in (("next", getattr(s, "next", None)),
                         ("then", getattr(s, "then", None)),
                         ("else", getattr(s, "else_", None))):
        if target is not None and target not in ids:
            errors.append(_unknown(f"{path}/{name}", str(target), ids))
    if isinstance(s, ActionStep):
        for a_i, a in enumerate(s.actions):
            if isinstance(a, AwardPoints) and a.multiplier is not None:
                errors.append(_e(f"{path}/actions/{a_i}/multiplier", "a journey step awards "
                                 "fixed points", "use \"points\" instead of a multiplier"))
    if isinstance(s, BranchStep):
        errors += _condition_errors(journey, s.if_, f"{path}/if", ids, audience_check)
    return errors


def _condition_errors(journey: Journey, cond: dict[str, object], path: str,
                      ids: dict[str, int],
                      audience_check: Callable[[object, str], list[Error]]) -> list[Error]:
    if "event" not in cond:
        return audience_check(cond, path)
    event = cond.get("event")
    extra = sorted(set(cond) - {"event", "of_step"})
    if extra:
        return [_e(f"{path}/{extra[0]}", f"unknown field '{extra[0]}'",
                   "an event condition has 'event' and, for coupon_redeemed, 'of_step'")]
    if event not in EVENTS:
        return [_e(f"{path}/event", f"unknown event {event!r}",
                   "event is one of: " + ", ".join(EVENTS))]
    of_step = cond.get("of_step")
    if event == "ordered":
        return [] if of_step is None else [_e(f"{path}/of_step", "'ordered' takes no "
                                              "of_step", "remove of_step (orders since entry)")]
    if not isinstance(of_step, str):
        return [_e(f"{path}/of_step", "coupon_redeemed needs the action step that issued "
                   "the coupon", "add \"of_step\": \"<step id>\"")]
    if of_step not in ids:
        return [_unknown(f"{path}/of_step", of_step, ids)]
    step = journey.steps[ids[of_step]]
    if not (isinstance(step, ActionStep) and any(isinstance(a, IssueCoupon)
                                                 for a in step.actions)):
        return [_e(f"{path}/of_step", f"step '{of_step}' issues no coupon",
                   "name an action step with an issue_coupon action")]
    return []


def _cycle_errors(journey: Journey, ids: dict[str, int]) -> list[Error]:
    """A journey is a path through its steps: a step that leads back to itself is refused."""
    graph = {s.id: _targets(journey, s) for s in journey.steps}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state:
                found = visit(nxt, [*trail, node])
                if found:
                    return found
        state[node] = 2
        return None

    for s in journey.steps:
        if s.id not in state:
            loop = visit(s.id, [])
            if loop:
                last = loop[-2]
                return [_e(f"/journey/steps/{ids[last]}", "the journey loops: "
                           + " → ".join(loop), "a member passes each step at most once per "
                           "entry; end the path with an exit or the last step")]
    return []


def _targets(journey: Journey, s: Step) -> list[str]:
    if isinstance(s, BranchStep):
        return [s.then, s.else_]
    if isinstance(s, ExitStep):
        return []
    nxt = successor(journey, s.id)
    return [nxt] if nxt else []


def _unknown(path: str, name: str, ids: dict[str, int]) -> Error:
    close = difflib.get_close_matches(name, list(ids), n=1)
    return _e(path, f"no step with id '{name}'",
              (f"did you mean '{close[0]}'? " if close else "") + "steps: " + ", ".join(ids))


def _e(path: str, message: str, hint: str = "") -> Error:
    return {"path": path, "message": message, "hint": hint}

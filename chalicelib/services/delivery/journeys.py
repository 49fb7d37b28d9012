"""Journeys in the delivery worker: where a member's task takes them, as one ``Move``.

An entry task (the campaign's trigger: an event, a broadcast occurrence) starts a journey
when the re-entry rule allows; a step task (a wait that ended, from the DUE index) resumes
one. Either way the domain walk (``domain/campaigns/journeys.py``) collects the actions up
to the next wait, exit or end, and the Move carries what the decision transaction adds:

- ``guard`` (named ``journey``): the state item put only while it is still the state read
  (``seq``), so two workers, a replay or a stale task cannot move a member twice;
- ``effects``: the next wait's task on the sharded DUE index (the planner picks it up when
  it is due, at the member-local time the wait asks for) and the step counters.

The worker puts the actions' coupons, points and messages in the same transaction, so a
member passes each step exactly once per entry and, after any crash, resumes where the last
commit left them (SQS redelivers the task; the send record and ``seq`` drop the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.adapters.delivery.repository import DeliveryRepository, Guard
from chalicelib.adapters.dynamo import NamedItems
from chalicelib.domain.campaigns import journeys as jr
from chalicelib.domain.campaigns.model import Campaign, Journey
from chalicelib.domain.delivery.windows import floor_quarter
from chalicelib.domain.delivery.work import Task
from chalicelib.services import clock

STEP_EVENT = "journey"


def is_step(t: Task) -> bool:
    """A task that resumes a journey after a wait (not an entry)."""
    return bool(t.event) and (t.event or {}).get("type") == STEP_EVENT


@dataclass
class Move:
    walk: jr.Walk
    guard: Guard
    effects: NamedItems = field(default_factory=list)
    first: bool = True  # an entry (limits apply), not a step after a wait


@dataclass
class Facts:
    """What a walk's branches read: the member, the state, and the repository."""

    repo: DeliveryRepository
    campaign: Campaign
    member: str
    profile: dict[str, Any]
    loyalty: dict[str, Any] | None
    now: datetime
    tz: str
    entered_at: str
    ran: dict[str, str]

    def check(self, cond: dict[str, object]) -> bool:
        event = cond.get("event")
        if event == "coupon_redeemed":
            occ = self.ran.get(str(cond.get("of_step")))
            return occ is not None and self.repo.coupon_redeemed(
                self.member, f"{self.campaign.id}#{occ}#{self.member}#")
        if event == "ordered":
            last = (self.loyalty or {}).get("last_order_at")
            return bool(last) and _at(str(last)) >= _at(self.entered_at)
        from chalicelib.domain.campaigns.audience import compile_audience
        from chalicelib.domain.campaigns.profile import audience_profile
        from chalicelib.domain.delivery.policy import zone

        today = self.now.astimezone(zone(self.tz)).date()
        return bool(compile_audience(cond)(audience_profile(self.profile, self.loyalty,
                                                            today=today)))


def move(repo: DeliveryRepository, c: Campaign, t: Task, profile: dict[str, Any],
         loyalty: dict[str, Any] | None, now: datetime, tz: str) -> Move | str:
    """The member's move for task ``t``, or why there is none (``in_journey``,
    ``no_reentry``, ``reentry_too_soon``, ``journey_moved``: a stale or replayed step)."""
    j = c.journey
    assert j is not None
    state = repo.journey_state(t.member, c.id)
    ev = t.event or {}
    if is_step(t):
        if not _expected(state, ev):
            return "journey_moved"
        assert state is not None
        entry, entered_at = str(ev["entry"]), str(state["entered_at"])
        start, ran = jr.successor(j, str(ev["from"])), dict(state.get("ran") or {})
    else:
        why = jr.may_enter(j, state, now)
        if why is not None:
            return why
        entry, entered_at, start, ran = t.occurrence, clock.iso(now), j.entry_step, {}
    facts = Facts(repo, c, t.member, profile, loyalty, now, tz, entered_at, ran)
    w = jr.walk(j, start, now, tz, facts.check)
    ran.update({s: t.occurrence for s in w.action_steps})
    seq = int(state["seq"]) + 1 if state else 1
    new = {"entry": entry, "entered_at": entered_at, "seq": seq, "ran": ran,
           "step": w.rest or (w.passed[-1] if w.passed else None),
           "status": "active" if w.end == jr.WAITING else w.end,
           "due": clock.iso(w.due) if w.due else None, "updated_at": clock.iso(now)}
    guard = Guard("journey", "journey", repo.journey_move(t.member, c.id, state, new))
    effects = repo.journey_counts(c.id, t.member, step_counts(w, None if not is_step(t)
                                                              else str(ev["from"])))
    if w.due is not None and w.rest is not None:
        effects += repo.journey_due(t.member, c.id, f"{entry}@{w.rest}", clock.iso(w.due),
                                    clock.iso(floor_quarter(w.due)), Task(
            c.id, f"{entry}@{w.rest}", t.member, clock.iso(w.due), event={
                "type": STEP_EVENT, "entry": entry, "from": w.rest, "seq": seq}).to_json())
    return Move(w, guard, effects, first=not is_step(t))


def step_counts(w: jr.Walk, left: str | None) -> dict[str, int]:
    """Counter changes of one walk: entered (no ``left`` wait), the wait left, each step
    reached, and where the member now stands."""
    out: dict[str, int] = {"entered": 1} if left is None else {f"at:{left}": -1}
    for s in w.passed:
        out[f"reached:{s}"] = out.get(f"reached:{s}", 0) + 1
    if w.end == jr.WAITING:
        out[f"at:{w.rest}"] = out.get(f"at:{w.rest}", 0) + 1
    else:
        out[w.end] = 1
    return out


def _expected(state: dict[str, Any] | None, ev: dict[str, Any]) -> bool:
    """The state is where the step task says the member rests."""
    return (state is not None and state.get("status") == "active"
            and int(state.get("seq", -1)) == int(ev.get("seq", -2))
            and state.get("entry") == ev.get("entry") and state.get("step") == ev.get("from"))


def _at(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def needs_facts(j: Journey | None) -> bool:
    """True when a branch reads member facts (the worker then reads LOYALTY too)."""
    return j is not None and any(s.type == "branch" for s in j.steps)

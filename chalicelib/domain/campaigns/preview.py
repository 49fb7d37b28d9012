"""Projected coupons, points, messages and cost of a campaign against its budget. Pure.

How the projection counts (stated in every result under ``assumptions``):

* recipients = audience size x (1 - holdout %);
* deliveries per recipient = the trigger's fires from ``at`` to the window end (a year when
  the campaign never ends), at most ``limits.per_member`` per limit period. Birthdays fire
  once a year per member, so a window of N days counts N / 365.25 birthdays; event triggers
  count one event per recipient;
* each delivery runs the member's arm (variant weights split recipients; a variant's actions
  replace the base actions); a message counts once per channel;
* a journey: deliveries are entries (at most one per member with ``reentry: "never"``) and
  each counts every action step's actions: an upper bound (``up_to``), since branches
  decide who reaches which step;
* money = coupons x the template's worst case (face value, or the maximum discount of a
  percent coupon; unbounded without one) + points x ``point_value_minor`` (fen per point).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain.campaigns import occurrences as occ
from chalicelib.domain.campaigns.lint import CouponFacts
from chalicelib.domain.campaigns.model import (
    Action,
    ActionStep,
    AwardPoints,
    Birthday,
    Campaign,
    DrawEntries,
    Event,
    Holiday,
    IssueCoupon,
    Message,
    Period,
)

DEFAULT_HORIZON = timedelta(days=365)
ASSUMPTIONS = [
    "recipients = audience size x (1 - holdout %)",
    "deliveries per recipient = fires from 'at' to the window end (one year when it never "
    "ends), at most limits.per_member per period; birthdays once a year per member; event "
    "triggers one event per recipient",
    "variant weights split recipients; a message counts once per channel",
    "money = coupons x worst case (face value or max discount) + points x point value",
]
JOURNEY_ASSUMPTIONS = [
    "journey: deliveries are entries (one per member with reentry 'never'); each entry "
    "counts every action step's coupons, points and messages: an upper bound (up to)",
]
DRAW_NOTE = ("draw entries cost the campaign nothing (money 0): prizes are paid from each "
             "draw's own stock and budget")
MAX_FIRES = 10_000
PERIOD_DAYS = {Period.day: 1, Period.week: 7, Period.month: 30.44, Period.year: 365.25}


def projection_range(c: Campaign, at: datetime) -> tuple[datetime, datetime]:
    start = max(at, c.starts_at)
    end = c.ends_at or start + DEFAULT_HORIZON
    return start, max(start, end)


def fires_per_member(c: Campaign, at: datetime) -> float:
    """Expected deliveries to one recipient from ``at`` on, before limits."""
    start, end = projection_range(c, at)
    t = c.trigger
    if isinstance(t, Event):
        return 1.0
    if isinstance(t, Birthday):
        return (end - start).total_seconds() / 86400 / 365.25
    n = 0
    for _ in occ.campaign_between(c, start - timedelta(microseconds=1), end):
        n += 1
        if n >= MAX_FIRES:
            break
    return float(n)


def limited(c: Campaign, fires: float, at: datetime) -> float:
    """``fires`` capped by ``limits.per_member`` per period."""
    start, end = projection_range(c, at)
    if c.limits.period == Period.campaign:
        return min(fires, c.limits.per_member)
    days = max((end - start).total_seconds() / 86400, 1e-9)
    periods = math.ceil(days / PERIOD_DAYS[c.limits.period])
    return min(fires, c.limits.per_member * periods)


@dataclass
class Tally:
    """What a list of actions costs over ``n`` deliveries."""

    totals: dict[str, float] = field(default_factory=lambda: {
        "coupons": 0.0, "points": 0.0, "messages": 0.0})
    money: float = 0.0
    unbounded: list[str] = field(default_factory=list)
    multiplier: bool = False
    draw_entries: dict[str, float] = field(default_factory=dict)  # draw id -> entries

    def add(self, actions: list[Action], n: float,
            coupons: Callable[[str], CouponFacts | None]) -> None:
        for a in actions:
            if isinstance(a, IssueCoupon):
                self.totals["coupons"] += n * a.quantity
                # best_of: the costliest of the list (any member may get it)
                worst = {tid: f.worst_case_minor if f else None
                         for tid in a.candidates() for f in [coupons(tid)]}
                if None in worst.values():
                    self.unbounded += [tid for tid, w in worst.items() if w is None]
                else:
                    self.money += n * a.quantity * max(w or 0 for w in worst.values())
            elif isinstance(a, AwardPoints):
                if a.points is not None:
                    self.totals["points"] += n * a.points
                else:
                    self.multiplier = True
            elif isinstance(a, Message):
                self.totals["messages"] += n * len(a.channels)
            elif isinstance(a, DrawEntries):  # no cost: prizes come from the draw's budget
                self.draw_entries[a.draw] = self.draw_entries.get(a.draw, 0.0) + n * a.count

    def rounded(self) -> dict[str, int]:
        return {k: round(v) for k, v in self.totals.items()}


def journey_steps(c: Campaign) -> list[tuple[str, list[Action]]]:
    """(step id, actions) of a journey's action steps, in document order."""
    steps = c.journey.steps if c.journey else []
    return [(s.id, list(s.actions)) for s in steps if isinstance(s, ActionStep)]


def base_actions(c: Campaign) -> list[Action]:
    """The campaign's actions; a journey's: every action step's, in document order."""
    if c.journey is None:
        return list(c.actions)
    return [a for _, actions in journey_steps(c) for a in actions]


def project(c: Campaign, *, at: datetime, audience_size: float,
            coupons: Callable[[str], CouponFacts | None],
            point_value_minor: float = 1.0) -> dict[str, object]:
    """Projected totals and cost for ``audience_size`` matching members (a journey: every
    action step for every entry, an upper bound since branches decide)."""
    holdout = c.experiment.holdout_percent if c.experiment else 0.0
    recipients = audience_size * (1 - holdout / 100)
    per_member = limited(c, fires_per_member(c, at), at)
    if c.journey is not None and c.journey.reentry == "never":
        per_member = min(per_member, 1.0)  # one entry per member, ever
    deliveries = recipients * per_member
    tally = Tally()
    for share, actions in _arms(c):
        tally.add(actions, deliveries * share, coupons)
    projected: dict[str, int | None] = dict(tally.rounded())
    money = tally.money + tally.totals["points"] * point_value_minor
    projected["money_minor"] = None if tally.unbounded else round(money)
    notes = []
    if tally.unbounded:
        notes.append("money is unbounded: no worst case for "
                     + ", ".join(sorted(set(tally.unbounded))))
    if tally.multiplier:
        notes.append("multiplier points depend on order totals and are not projected")
    start, end = projection_range(c, at)
    out: dict[str, object] = {
        "from": start.isoformat(), "until": end.isoformat(),
        "recipients": round(recipients), "deliveries_per_recipient": round(per_member, 3),
        "projected": projected, **_draws(tally, notes), "budget": _against(c, projected),
        "notes": notes,
        "assumptions": ASSUMPTIONS + (JOURNEY_ASSUMPTIONS if c.journey else []),
    }
    if c.journey is not None:
        out["up_to"] = True
        out["journey"] = _journey_steps(c, deliveries, coupons)
        notes.append("journey: up to — every action step counted for each entering member; "
                     "branches decide who reaches each step")
    return out


def _draws(tally: Tally, notes: list[str]) -> dict[str, object]:
    """Draw entries granted (no campaign cost: a note says so)."""
    if not tally.draw_entries:
        return {}
    notes.append(DRAW_NOTE)
    return {"draw_entries": {d: round(v) for d, v in tally.draw_entries.items()}}


def _against(c: Campaign, projected: dict[str, int | None]) -> dict[str, dict[str, object]]:
    budget = c.budget.model_dump() if c.budget else {}
    against: dict[str, dict[str, object]] = {}
    for key, value in projected.items():
        cap = budget.get(key)
        against[key] = {"projected": value, "budget": cap,
                        "within": None if cap is None or value is None else value <= cap,
                        "share": None if not cap or value is None else round(value / cap, 3)}
    return against


def _journey_steps(c: Campaign, entries: float,
                   coupons: Callable[[str], CouponFacts | None]) -> list[dict[str, object]]:
    """Per action step: coupons, points and messages if every entering member reached it
    (``up_to``), for each entering member and in all."""
    out: list[dict[str, object]] = []
    for step_id, actions in journey_steps(c):
        each, total = Tally(), Tally()
        each.add(actions, 1.0, coupons)
        total.add(actions, entries, coupons)
        out.append({"id": step_id, "up_to": True, "per_member": each.rounded(),
                    "total": total.rounded()})
    return out


def holiday_calendar(c: Campaign, at: datetime) -> dict[str, list[dict[str, str]]] | None:
    """For a holiday trigger, what each holiday resolves to over the projection range: its
    date and when it fires (campaign time), and the dates not resolvable yet (a working-day
    rule in a year whose official calendar is not published). None for other triggers."""
    t = c.trigger
    if not isinstance(t, Holiday):
        return None
    start, end = projection_range(c, at)
    lead = timedelta(days=t.days_before)
    first = start.astimezone(c.zone).date()
    last = end.astimezone(c.zone).date() + lead
    dates: list[dict[str, str]] = []
    unresolved: list[dict[str, str]] = []
    for ref in t.holidays:
        for r in occ.resolve_window(t.calendar, ref, first, last):
            if r.day is None:
                item = {"holiday": r.ref, "reason": r.problem or "", "hint": r.hint}
                if item not in unresolved:
                    unresolved.append(item)
                continue
            fire = occ.wall_to_utc(r.day - lead, t.at, c.zone)
            if start <= fire <= end:
                dates.append({"holiday": r.ref, "date": r.day.isoformat(),
                              "fires_at": fire.astimezone(c.zone).isoformat()})
    dates.sort(key=lambda d: (d["fires_at"], d["holiday"]))
    return {"dates": dates, "unresolved": unresolved}


def _arms(c: Campaign) -> list[tuple[float, list[Action]]]:
    """(share of recipients, actions per delivery): a journey's are all its steps' actions
    (variants cannot replace them)."""
    base = base_actions(c)
    variants = c.experiment.variants if c.experiment else []
    if not variants or c.journey is not None:
        return [(1.0, base)]
    total = sum(v.weight for v in variants)
    return [(v.weight / total, list(v.actions or base)) for v in variants]

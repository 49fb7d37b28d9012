"""Points for activities: record an event once per natural key, award within the caps.

The service role posts what a member did; the program's ``activities`` section says what
each type earns and the caps per member-local day and month. The event record (create-only
under its natural key), the cap counters and the points commit in one transaction, so a
replay, a retry after a lost answer or two racing copies award once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamo import NamedItems, TransactionCancelled, retrying
from chalicelib.adapters.loyalty.activities import ActivityRepository, record_of
from chalicelib.domain.loyalty import activities as rules
from chalicelib.domain.loyalty import dates
from chalicelib.domain.loyalty.activities import (
    ActivitiesProgram,
    ActivityEvent,
    ActivityResult,
    ActivityRule,
    ActivityStats,
    ActivityStatsDay,
    ActivityTypeStats,
    stats_range,
)
from chalicelib.domain.loyalty.program import Program
from chalicelib.errors import Conflict, NotFound, Unprocessable
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps
from chalicelib.services.loyalty import loyalty
from chalicelib.services.loyalty import program as programs

ATTEMPTS = 30
CLOCK_SKEW = timedelta(minutes=5)


class StaleCount(Conflict):
    """A cap counter moved between read and write: read again."""


def repo() -> ActivityRepository:
    return deps().activities


def record(event: ActivityEvent) -> tuple[ActivityResult, bool]:
    """(result, created): award the event's points unless capped; the same natural key
    again answers the first result (created False)."""
    _, program = programs.current()
    acts = program.activities or ActivitiesProgram()
    rule = _rule(acts, event.type)
    now = clock.now()
    _check_time(acts, event.occurred_at, now)
    first = repo().first(event.type, event.natural_key)
    if first is not None:
        return _same_member(first, event), False
    live, tz = repo().member(event.member_id)
    if not live:
        raise NotFound(f"member {event.member_id} not found")
    zone = tz or program.timezone
    out: tuple[ActivityResult, bool] = retrying(
        lambda: _record_once(event, program, rule, zone, now), attempts=ATTEMPTS,
        retry_on=(StaleCount,))
    return out


def _rule(acts: ActivitiesProgram, activity_type: str) -> ActivityRule:
    rule = acts.rule(activity_type)
    if rule is None:
        raise Unprocessable(f"unknown activity type {activity_type!r}", details=[
            {"path": "/type", "message": acts.suggest(activity_type),
             "reason": "UNKNOWN_ACTIVITY"}])
    return rule


def _check_time(acts: ActivitiesProgram, occurred: datetime, now: datetime) -> None:
    if occurred > now + CLOCK_SKEW:
        raise Unprocessable("occurred_at is in the future", details=[
            {"path": "/occurred_at", "message": "not after now", "reason": "IN_FUTURE"}])
    if occurred < now - timedelta(days=acts.max_age_days):
        raise Unprocessable(f"occurred_at is more than {acts.max_age_days} days ago", details=[
            {"path": "/occurred_at", "message": f"within {acts.max_age_days} days",
             "reason": "TOO_OLD"}])


def _same_member(first: dict[str, Any], event: ActivityEvent) -> ActivityResult:
    if first.get("member_id") != event.member_id:
        raise Conflict("this natural key was recorded for another member", details=[
            {"path": "/natural_key", "message": "already used", "reason": "NATURAL_KEY_USED"}])
    return ActivityResult.model_validate(first)


def _record_once(event: ActivityEvent, program: Program, rule: ActivityRule, zone: str,
                 now: datetime) -> tuple[ActivityResult, bool]:
    day = dates.local_date(event.occurred_at, zone)
    month = f"{day.year:04d}-{day.month:02d}"
    counts = repo().counts(event.member_id, event.type, day.isoformat(), month)
    decision = rules.decide(rule, *counts)
    result = {"member_id": event.member_id, "type": event.type,
              "natural_key": event.natural_key, "occurred_at": dates.iso(event.occurred_at),
              "local_date": day.isoformat(), "points": decision.points,
              "reason": decision.reason, "recorded_at": dates.iso(now)}
    named: NamedItems = [
        ("activity", repo().record_item(result)),
        ("stat", repo().stat_item(event.member_id, day.isoformat(), event.type,
                                  decision.points, capped=decision.reason is not None))]
    try:
        if decision.points:
            named += [("cap_day", repo().cap_item(event.member_id, event.type, day.isoformat(),
                                                  rule.daily_cap)),
                      ("cap_month", repo().cap_item(event.member_id, event.type, month,
                                                    rule.monthly_cap))]
            loyalty.credit(event.member_id, program, decision.points, kind="earn",
                           reason=f"activity {event.type}", source="activity", extra=named,
                           refs={"ref": f"activity:{event.type}"})
        else:
            repo().write(named, loyalty.token())
    except TransactionCancelled as e:
        return _lost(e, event), False
    metrics_add("ActivityRecorded")
    if decision.points:
        metrics_add("PointsEarned", decision.points)
    return ActivityResult.model_validate(result), True


def _lost(e: TransactionCancelled, event: ActivityEvent) -> ActivityResult:
    """Another copy of the event won (answer its result), or a counter moved (retry)."""
    if e.failed_item("activity"):
        first = record_of(e.old("activity")) or repo().first(event.type, event.natural_key)
        if first is not None:
            return _same_member(first, event)
    if e.failed_names & {"activity", "cap_day", "cap_month"} or e.throttled:
        raise StaleCount("an activity counter changed concurrently; retry") from e
    raise Conflict("the activity could not be recorded; retry") from e


def stats(first: str | None, last: str | None) -> ActivityStats:
    """Events, awarded, capped and points per day and type (summed over counter shards)."""
    _, program = programs.current()
    lo, hi = stats_range(first, last, dates.local_date(clock.now(), program.timezone))
    per_day = repo().stats(lo.isoformat(), hi.isoformat())
    days: list[ActivityStatsDay] = []
    totals: dict[str, dict[str, int]] = {}
    for d in sorted(per_day):
        types: dict[str, dict[str, int]] = {}
        for attr, n in per_day[d].items():
            kind, _, field = attr.rpartition(":")
            if kind:
                types.setdefault(kind, {})[field] = n
                totals.setdefault(kind, {}).setdefault(field, 0)
                totals[kind][field] += n
        days.append(ActivityStatsDay(date=d, types={
            k: ActivityTypeStats.model_validate(v) for k, v in sorted(types.items())}))
    return ActivityStats(first=lo.isoformat(), last=hi.isoformat(), days=days, totals={
        k: ActivityTypeStats.model_validate(v) for k, v in sorted(totals.items())})

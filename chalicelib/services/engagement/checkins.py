"""Daily check-in (签到) use cases: check in, make up a missed day, the calendar, stats.

One check-in per member-local day, exact under double taps and retries: the day's record is
a create-only item committed in the same transaction as the reward (points through the
loyalty service, a coupon through the coupon hooks) and the streak state; a second tap
fails that item and answers the first record. Make-up cards are paid with points in the
transaction that fills the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamo import NamedItems, TransactionCancelled, retrying
from chalicelib.adapters.engagement.checkins import CheckinReads, CheckinRepository
from chalicelib.domain.engagement import checkin as rules
from chalicelib.domain.engagement.checkin import CheckinProgram, CheckinRefused, CheckinState
from chalicelib.domain.engagement.views import (
    CheckinCalendar,
    CheckinDay,
    CheckinStats,
    CheckinStatsDay,
    NextReward,
)
from chalicelib.domain.loyalty import dates
from chalicelib.domain.loyalty.activities import stats_range
from chalicelib.domain.loyalty.program import Program
from chalicelib.errors import Conflict, NotFound, Unprocessable
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps
from chalicelib.services.loyalty import hooks as loyalty_hooks
from chalicelib.services.loyalty import loyalty
from chalicelib.services.loyalty import program as programs

ATTEMPTS = 30


class StaleCheckin(Conflict):
    """The streak state changed between read and write: read again."""


@dataclass(frozen=True)
class Outcome:
    """A day's record and whether this call created it (False: an earlier tap did)."""

    day: CheckinDay
    created: bool


def repo() -> CheckinRepository:
    return deps().checkins


def _program() -> tuple[Program, CheckinProgram]:
    _, program = programs.current()
    cfg = program.checkin
    if cfg is None or not cfg.enabled:
        raise Unprocessable("daily check-in is not offered", details=[
            {"path": "/", "message": "the program has no enabled checkin section",
             "reason": "CHECKIN_DISABLED"}])
    return program, cfg


def _member(reads: CheckinReads, member_id: str) -> None:
    if not reads.member_live:
        raise NotFound(f"member {member_id} not found")


def _today(reads: CheckinReads, program: Program, now: datetime) -> tuple[str, date]:
    tz = reads.timezone or program.timezone
    return tz, dates.local_date(now, tz)


# --- check in -----------------------------------------------------------------------------
def check_in(member_id: str) -> Outcome:
    """Check in for today (member-local); a repeat today answers the first record."""
    program, cfg = _program()
    result: Outcome = retrying(lambda: _check_in_once(member_id, program, cfg),
                               attempts=ATTEMPTS, retry_on=(StaleCheckin,))
    return result


def _check_in_once(member_id: str, program: Program, cfg: CheckinProgram) -> Outcome:
    now = clock.now()
    guess = dates.local_date(now, program.timezone)  # most members: the program's zone
    reads = repo().reads(member_id, guess.isoformat())
    _member(reads, member_id)
    _, today = _today(reads, program, now)
    if today != guess:
        reads.day = repo().day(member_id, today.isoformat())
    if reads.day is not None:
        return Outcome(CheckinDay.model_validate(reads.day), created=False)
    new = rules.check_in(reads.state, today)
    streak = new.streak(today)
    reward = cfg.reward(streak)
    record: dict[str, Any] = {"date": today.isoformat(), "kind": "checkin", "streak": streak,
                              "cycle_day": reward.day, "points": reward.points,
                              "at": dates.iso(now)}
    named: NamedItems = []
    if reward.coupon_template_id:
        named += _coupon(member_id, reward.coupon_template_id, today, now, record)
    named = [("day", repo().day_item(member_id, record)),
             ("checkin", repo().state_item(new, reads.state.version)),
             ("stat", repo().stat_item(member_id, today.isoformat(), {
                 "checkins": 1, "points_awarded": reward.points,
                 "coupons": 1 if record.get("coupon_id") else 0})), *named]
    try:
        if reward.points:
            loyalty.credit(member_id, program, reward.points, kind="earn",
                           reason=f"check-in day {reward.day}", source="checkin", extra=named,
                           refs={"ref": f"checkin:{today.isoformat()}"})
        else:
            repo().write(named, loyalty.token())
    except TransactionCancelled as e:
        return Outcome(_first_record(e, member_id, today), created=False)
    metrics_add("CheckedIn")
    if reward.points:
        metrics_add("PointsEarned", reward.points)
    return Outcome(CheckinDay.model_validate(record), created=True)


def _coupon(member_id: str, template_id: str, today: date, now: datetime,
            record: dict[str, Any]) -> NamedItems:
    """The streak coupon's items (recorded on the day); a template that cannot issue now
    (missing, paused, ended) is skipped and noted, so the check-in itself still counts."""
    try:
        coupon_id, items = loyalty_hooks.coupon_issue_items(
            member_id, template_id, source="checkin", ref=f"{member_id}:{today.isoformat()}",
            now=dates.iso(now))
    except Unprocessable:
        record.update(coupon_template_id=template_id, coupon_skipped=True)
        metrics_add("CheckinCouponSkipped")
        return []
    record.update(coupon_template_id=template_id, coupon_id=coupon_id)
    return loyalty.named("coupon", items)


def _first_record(e: TransactionCancelled, member_id: str, day: date) -> CheckinDay:
    """The record an earlier tap committed (its ``day`` item failed ours), or a retry."""
    if e.failed_item("day"):
        old = e.old("day") or repo().day(member_id, day.isoformat())
        if old:
            return CheckinDay.model_validate({k: v for k, v in old.items()
                                              if k not in ("PK", "SK", "entity", "member_id")})
    if e.failed_names & {"day", "checkin"} or e.throttled:
        raise StaleCheckin("the check-in changed concurrently; retry") from e
    raise Conflict("the check-in could not be recorded; retry") from e


# --- make-up cards --------------------------------------------------------------------------
def make_up(member_id: str, day: date) -> Outcome:
    """Fill the missed ``day`` of this month with a make-up card paid in points."""
    program, cfg = _program()
    result: Outcome = retrying(lambda: _make_up_once(member_id, program, cfg, day),
                               attempts=ATTEMPTS, retry_on=(StaleCheckin,))
    return result


def _make_up_once(member_id: str, program: Program, cfg: CheckinProgram, day: date) -> Outcome:
    now = clock.now()
    reads = repo().reads(member_id, day.isoformat())
    _member(reads, member_id)
    _, today = _today(reads, program, now)
    if reads.day is not None and reads.day.get("kind") == "makeup":
        return Outcome(CheckinDay.model_validate(reads.day), created=False)  # a double tap
    try:
        card = rules.check_makeup(cfg, reads.state, day, today, filled=reads.day is not None)
    except CheckinRefused as r:
        raise _refused(r) from None
    run_before = rules.run_start_before(day, repo().recorded_before(member_id, day))
    new = rules.make_up(reads.state, day, run_before)
    record = {"date": day.isoformat(), "kind": "makeup", "points_spent": card.price_points,
              "at": dates.iso(now)}
    named: NamedItems = [
        ("day", repo().day_item(member_id, record)),
        ("checkin", repo().state_item(new, reads.state.version)),
        ("stat", repo().stat_item(member_id, day.isoformat(), {
            "makeups": 1, "points_spent": card.price_points}))]
    try:
        loyalty.debit(member_id, program, card.price_points, reason="check-in make-up card",
                      extra=named, refs={"ref": f"checkin-makeup:{day.isoformat()}"})
    except TransactionCancelled as e:
        first = _first_record(e, member_id, day)
        if first.kind != "makeup":
            raise _refused(CheckinRefused("ALREADY_CHECKED_IN",
                                          f"{day.isoformat()} is already checked in")) from e
        return Outcome(first, created=False)
    metrics_add("CheckinMadeUp")
    return Outcome(CheckinDay.model_validate(record), created=True)


def _refused(r: CheckinRefused) -> Exception:
    detail = [{"path": "/date", "message": r.message, "reason": r.reason}]
    if r.reason == "ALREADY_CHECKED_IN":
        return Conflict(r.message, details=detail)
    return Unprocessable(r.message, details=detail)


# --- reads ----------------------------------------------------------------------------------
def calendar(member_id: str, month: str | None) -> CheckinCalendar:
    """The month's days (checked in, made up), today's state, streak and next reward."""
    program, cfg = _program()
    now = clock.now()
    reads = repo().reads(member_id)
    _member(reads, member_id)
    tz, today = _today(reads, program, now)
    month = month or rules.month_of(today)
    first = date.fromisoformat(f"{month}-01")
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    days = [CheckinDay.model_validate(d) for d in
            repo().days(member_id, first.isoformat(), last.isoformat())]
    state = reads.state
    done_today = state.last_date == today
    streak = state.streak(today)
    nxt = cfg.reward(streak + 1)  # today's check-in, or (done) tomorrow's
    return CheckinCalendar(
        month=month, timezone=tz, today=today.isoformat(), checked_in_today=done_today,
        streak=streak, days=days,
        next_reward=NextReward(cycle_day=nxt.day, points=nxt.points,
                               coupon_template_id=nxt.coupon_template_id),
        makeup_price_points=cfg.makeup.price_points if cfg.makeup else None,
        makeups_left=_makeups_left(cfg, state, today))


def _makeups_left(cfg: CheckinProgram, state: CheckinState, today: date) -> int:
    if cfg.makeup is None:
        return 0
    return max(0, cfg.makeup.max_per_month - state.makeups_used(rules.month_of(today)))


def stats(first: str | None, last: str | None) -> CheckinStats:
    """Check-ins, make-ups, points and coupons per day (summed over the counter shards)."""
    _, program = programs.current()
    lo, hi = stats_range(first, last, dates.local_date(clock.now(), program.timezone))
    per_day = repo().stats(lo.isoformat(), hi.isoformat())
    days = [CheckinStatsDay.model_validate({"date": d, **per_day[d]}) for d in sorted(per_day)]
    totals = {f: sum(getattr(d, f) for d in days) for f in
              ("checkins", "makeups", "points_awarded", "points_spent", "coupons")}
    return CheckinStats(first=lo.isoformat(), last=hi.isoformat(), days=days,
                        totals=CheckinStatsDay(date="total", **totals))

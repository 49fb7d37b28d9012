"""Daily check-in (签到): the program's ``checkin`` section and the streak arithmetic. Pure.

A member checks in once per member-local day. The streak is the run of consecutive days
(checked in or made up) ending yesterday or today; its position in the reward cycle picks the
reward. A make-up card (补签卡), bought with points, fills one missed day of the current
month and re-links the streak. The member's state keeps only the latest run
(``run_start``..``last_date``); day records hold the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from chalicelib.domain.models import Strict

TemplateId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
MAX_CYCLE = 31


class AfterCycle(StrEnum):
    restart = "restart"  # day cycle+1 earns day 1's reward again (the streak keeps counting)
    hold = "hold"  # every day past the cycle earns the cycle's last-day reward


class DayReward(Strict):
    """What the ``day``-th consecutive day of a cycle earns (days not listed: ``daily``)."""

    day: int = Field(ge=1, le=MAX_CYCLE)
    points: int = Field(0, ge=0, le=1_000_000)
    coupon_template_id: TemplateId | None = Field(None, description="a coupon to issue too")


class Makeup(Strict):
    """Make-up cards (补签卡): bought with points, each fills one missed day of this month."""

    price_points: int = Field(ge=1, le=1_000_000, description="points per card")
    max_per_month: int = Field(2, ge=0, le=31, description="cards per member-local month")


class CheckinProgram(Strict):
    """campaigns/program.json ``checkin``."""

    enabled: bool = True
    cycle_days: int = Field(7, ge=1, le=MAX_CYCLE, description="length of the reward cycle")
    daily_points: int = Field(0, ge=0, le=1_000_000,
                              description="points for a cycle day without its own reward")
    rewards: list[DayReward] = Field(default_factory=list, max_length=MAX_CYCLE)
    after_cycle: AfterCycle = Field(AfterCycle.restart, description=(
        "restart: the next day starts the cycle again; hold: later days keep the last "
        "day's reward"))
    makeup: Makeup | None = Field(None, description="absent: no make-up cards")

    @model_validator(mode="after")
    def _days(self) -> CheckinProgram:
        days = [r.day for r in self.rewards]
        repeated = sorted({d for d in days if days.count(d) > 1})
        if repeated:
            raise ValueError(f"rewards: day(s) {repeated} listed twice")
        beyond = [d for d in days if d > self.cycle_days]
        if beyond:
            raise ValueError(f"rewards: day(s) {beyond} are beyond cycle_days "
                             f"({self.cycle_days})")
        return self

    def cycle_day(self, streak: int) -> int:
        """The cycle position of the ``streak``-th consecutive day (1-based)."""
        if self.after_cycle == AfterCycle.hold:
            return min(streak, self.cycle_days)
        return (streak - 1) % self.cycle_days + 1

    def reward(self, streak: int) -> DayReward:
        day = self.cycle_day(streak)
        for r in self.rewards:
            if r.day == day:
                return r
        return DayReward(day=day, points=self.daily_points)


@dataclass(frozen=True)
class CheckinState:
    """The member's latest run of consecutive days, and make-up cards used per month."""

    member_id: str
    version: int = 0
    run_start: date | None = None
    last_date: date | None = None
    total_days: int = 0
    makeups: dict[str, int] = field(default_factory=dict)  # yyyy-mm -> cards used

    def streak(self, today: date) -> int:
        """Consecutive days up to today (a run ending yesterday still counts)."""
        if self.last_date is None or self.run_start is None:
            return 0
        if self.last_date < today - timedelta(days=1):
            return 0
        return (self.last_date - self.run_start).days + 1

    def makeups_used(self, month: str) -> int:
        return self.makeups.get(month, 0)


class CheckinRefused(Exception):
    """A make-up that the rules refuse; ``reason`` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def month_of(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def check_in(state: CheckinState, today: date) -> CheckinState:
    """The state after checking in ``today`` (the caller makes sure it is the first time)."""
    linked = state.last_date == today - timedelta(days=1) and state.run_start is not None
    return replace(state, run_start=state.run_start if linked else today, last_date=today,
                   total_days=state.total_days + 1)


def check_makeup(program: CheckinProgram, state: CheckinState, day: date, today: date,
                 filled: bool) -> Makeup:
    """The make-up card rules for filling ``day`` (``filled``: it has a record already)."""
    if program.makeup is None or not program.enabled:
        raise CheckinRefused("MAKEUP_DISABLED", "make-up cards are not offered")
    if day >= today:
        raise CheckinRefused("MAKEUP_NOT_PAST", "only a past day can be made up")
    if month_of(day) != month_of(today):
        raise CheckinRefused("MAKEUP_OTHER_MONTH", "only a day of the current month can be "
                                                   "made up")
    if filled:
        raise CheckinRefused("ALREADY_CHECKED_IN", f"{day.isoformat()} is already checked in")
    if state.makeups_used(month_of(today)) >= program.makeup.max_per_month:
        raise CheckinRefused("MAKEUP_LIMIT", f"{program.makeup.max_per_month} make-up card(s) "
                                             "per month are used up")
    return program.makeup


def make_up(state: CheckinState, day: date, run_before: date | None) -> CheckinState:
    """The state after filling the missed ``day``. ``run_before``: the first day of the run
    of recorded days ending the day before ``day`` (None when that day is empty too)."""
    month = month_of(day)
    used = {**state.makeups, month: state.makeups.get(month, 0) + 1}
    new = replace(state, makeups=used, total_days=state.total_days + 1)
    start = run_before or day
    if state.last_date is None or state.run_start is None or day > state.last_date + timedelta(
            days=1):
        return replace(new, run_start=start, last_date=day)  # a newer run than the latest
    if day == state.last_date + timedelta(days=1):
        return replace(new, last_date=day)
    if day == state.run_start - timedelta(days=1):
        return replace(new, run_start=start)  # joins the run before to the latest one
    return new  # an older gap: the calendar fills, the latest run is unchanged


def run_start_before(day: date, recorded: set[date]) -> date | None:
    """The first day of the run of ``recorded`` days ending the day before ``day``."""
    d = day - timedelta(days=1)
    if d not in recorded:
        return None
    while d - timedelta(days=1) in recorded:
        d -= timedelta(days=1)
    return d

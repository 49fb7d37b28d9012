"""What the check-in API takes and answers (pydantic)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from chalicelib.domain.models import Out, Strict


class CheckinDay(Out):
    """One day of the calendar: checked in (``checkin``) or made up (``makeup``)."""

    date: str
    kind: str
    streak: int | None = None
    cycle_day: int | None = None
    points: int = 0
    coupon_template_id: str | None = None
    coupon_id: str | None = None
    coupon_skipped: bool = Field(False, description="the streak coupon's template could not "
                                 "issue (missing, paused or ended): the day counted without it")
    points_spent: int = 0
    at: str


class NextReward(Out):
    cycle_day: int
    points: int
    coupon_template_id: str | None = None


class CheckinCalendar(Out):
    month: str
    timezone: str
    today: str
    checked_in_today: bool
    streak: int
    days: list[CheckinDay]
    next_reward: NextReward | None
    makeup_price_points: int | None = None
    makeups_left: int = 0


class MakeupRequest(Strict):
    date: date


class CheckinStatsDay(Out):
    date: str
    checkins: int = 0
    makeups: int = 0
    points_awarded: int = 0
    points_spent: int = 0
    coupons: int = 0


class CheckinStats(Out):
    first: str
    last: str
    days: list[CheckinStatsDay]
    totals: CheckinStatsDay

"""Official working days, 调休 included: 'the first working day after 国庆'. Pure.

For the ``CN`` calendar the days come from ``chinese-calendar``, which carries the State
Council's yearly holiday notice (放假安排: days off, and the weekend days worked in exchange,
调休上班). The notice for a year is published around November of the year before; a year the
installed package does not carry raises ``CalendarUnpublished`` rather than being guessed from
weekends (a wrong guess would send "back to work" messages on a day off)::

    working_day_after("CN", date(2026, 10, 1), 1) == date(2026, 10, 8)   # after 国庆 2026
    working_day_before("CN", date(2026, 2, 17), 1) == date(2026, 2, 14)  # a Saturday, 调休
    working_day_after("CN", date(2027, 10, 1), 1)  # CalendarUnpublished: 2027 ...

Other calendars use the ``holidays`` package's working days (its weekend and public
holidays, substituted workdays where it has them) for every year it computes.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the holidays package loads with the first calendar outside China
    from holidays import HolidayBase

MAX_STEPS = 120  # a run of days off longer than this is not a calendar, it is a bug


class CalendarUnpublished(ValueError):
    """The official working-day calendar of ``year`` is not (yet) in the package."""

    def __init__(self, calendar: str, year: int, known: range) -> None:
        self.calendar, self.year, self.known = calendar, year, known
        super().__init__(f"{year} working-day calendar not yet published")

    @property
    def hint(self) -> str:
        return (f"the {self.calendar} 调休 schedule is known for {self.known.start}-"
                f"{self.known.stop - 1}; the State Council publishes the next year's around "
                "November, and it is used once the chinese-calendar package carries it (pick "
                "explicit dates meanwhile)")


@cache
def published_years(calendar: str) -> range | None:
    """The years whose official calendar is known; None: computed for any year."""
    if calendar != "CN":
        return None
    from chinese_calendar import constants

    years = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    return range(min(years), max(years) + 1)


def is_published(calendar: str, year: int) -> bool:
    known = published_years(calendar)
    return known is None or year in known


def is_working_day(calendar: str, day: date) -> bool:
    """True on an official working day (调休 workdays included); CalendarUnpublished for
    a CN year the package does not carry."""
    known = published_years(calendar)
    if known is not None:
        if day.year not in known:
            raise CalendarUnpublished(calendar, day.year, known)
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    return bool(_other(calendar, day.year).is_working_day(day))


@cache
def _other(calendar: str, year: int) -> HolidayBase:
    import holidays

    return holidays.country_holidays(calendar, years=year)


def working_day_after(calendar: str, day: date, n: int = 1) -> date:
    """The ``n``-th working day strictly after ``day`` (after the days off around it)."""
    return _step(calendar, day, n, 1)


def working_day_before(calendar: str, day: date, n: int = 1) -> date:
    """The ``n``-th working day strictly before ``day``."""
    return _step(calendar, day, n, -1)


def _step(calendar: str, day: date, n: int, direction: int) -> date:
    found = 0
    for _ in range(MAX_STEPS + 31 * n):
        day += timedelta(days=direction)
        if is_working_day(calendar, day):
            found += 1
            if found == n:
                return day
    raise ValueError(f"no working day near {day.isoformat()} in the {calendar} calendar")

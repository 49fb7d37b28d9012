"""EventBridge schedule expressions — ``rate(5 minutes)`` and six-field ``cron(...)`` — as
"next fire time after t", so the local runner fires scheduled handlers when AWS would.

Cron follows EventBridge, not Unix: fields are minutes, hours, day-of-month, month,
day-of-week (1-7 = SUN-SAT) and year, all in UTC; exactly one of day-of-month and day-of-week
must be ``?``; ``L``, ``W``, ``LW``, ``nL`` and ``n#k`` are supported. Invalid expressions
raise ``ValueError`` here just as a deploy would reject them.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

MONTHS = {n: i for i, n in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
DAYS = {n: i for i, n in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
SEARCH_DAYS = 366 * 30


class Schedule:
    """A parsed expression; ``next_after(t)`` is the first fire time strictly after ``t``."""

    expression: str

    def next_after(self, t: datetime) -> datetime:
        raise NotImplementedError


@dataclass(frozen=True)
class Rate(Schedule):
    expression: str
    seconds: int
    anchor: datetime

    def next_after(self, t: datetime) -> datetime:
        if t < self.anchor:
            return self.anchor + timedelta(seconds=self.seconds)
        n = int((t - self.anchor).total_seconds() // self.seconds) + 1
        return self.anchor + timedelta(seconds=n * self.seconds)


@dataclass(frozen=True)
class Cron(Schedule):
    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    day: Callable[[date], bool]

    def next_after(self, t: datetime) -> datetime:
        t = t.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        d = t.date()
        for _ in range(SEARCH_DAYS):
            if d.year > max(self.years):
                break
            if d.year in self.years and d.month in self.months and self.day(d):
                first = (t.hour, t.minute) if d == t.date() else (0, 0)
                for h in self.hours:
                    for m in self.minutes:
                        if (h, m) >= first:
                            return datetime(d.year, d.month, d.day, h, m, tzinfo=UTC)
            d += timedelta(days=1)
        raise ValueError(f"{self.expression} never fires after {t.isoformat()}")


def parse(expression: Any, anchor: datetime | None = None) -> Schedule:
    """Parse a string or chalice ``Rate``/``Cron`` object; rates count from ``anchor`` (now)."""
    text = expression if isinstance(expression, str) else expression.to_string()
    text = text.strip()
    m = re.fullmatch(r"rate\(\s*(\d+)\s+([a-z]+)\s*\)", text)
    if m:
        value, unit = int(m.group(1)), m.group(2)
        if unit not in UNITS or value < 1 or (value == 1) != (not unit.endswith("s")):
            raise ValueError(f"invalid rate: {text} (e.g. rate(1 minute), rate(5 hours))")
        return Rate(text, value * UNITS[unit], anchor or datetime.now(UTC))
    m = re.fullmatch(r"cron\((.*)\)", text)
    if not m:
        raise ValueError(f"not a schedule expression: {text!r} (use rate(...) or cron(...))")
    fields = m.group(1).split()
    if len(fields) != 6:
        raise ValueError(f"cron needs 6 fields (min hour dom month dow year): {text}")
    mi, hr, dom, mon, dow, yr = fields
    if (dom == "?") == (dow == "?"):
        raise ValueError(f"exactly one of day-of-month and day-of-week must be '?': {text}")
    return Cron(text,
                minutes=tuple(sorted(_values(mi, 0, 59))),
                hours=tuple(sorted(_values(hr, 0, 23))),
                months=frozenset(_values(mon, 1, 12, MONTHS)),
                years=frozenset(_values(yr, 1970, 2199)),
                day=_day_of_month(dom) if dow == "?" else _day_of_week(dow))


def _number(token: str, names: dict[str, int] | None) -> int:
    if names and token.upper() in names:
        return names[token.upper()]
    if not token.isdigit():
        raise ValueError(f"bad cron value {token!r}")
    return int(token)


def _values(field: str, lo: int, hi: int, names: dict[str, int] | None = None) -> set[int]:
    out: set[int] = set()
    for part in field.split(","):
        rng, _, step_s = part.partition("/")
        step = int(step_s) if step_s else 1
        if step < 1:
            raise ValueError(f"bad cron step in {field!r}")
        if rng in ("*", "?"):
            start, end = lo, hi
        elif "-" in rng:
            a, b = rng.split("-", 1)
            start, end = _number(a, names), _number(b, names)
        else:
            start = _number(rng, names)
            end = hi if step_s else start
        if not (lo <= start <= hi and lo <= end <= hi):
            raise ValueError(f"cron value out of range {lo}-{hi}: {field!r}")
        span = list(range(start, end + 1)) if start <= end else [
            *range(start, hi + 1), *range(lo, end + 1)]  # wrap-around ranges like FRI-MON
        out.update(span[::step])
    return out


def _last_day(d: date) -> int:
    return calendar.monthrange(d.year, d.month)[1]


def _nearest_weekday(d: date, target: int) -> int:
    """Day of month of the weekday nearest ``target`` without leaving the month (``W``)."""
    target = min(target, _last_day(d))
    wd = date(d.year, d.month, target).weekday()
    if wd == 5:  # Saturday -> Friday, unless that leaves the month
        return target - 1 if target > 1 else target + 2
    if wd == 6:  # Sunday -> Monday, unless that leaves the month
        return target + 1 if target < _last_day(d) else target - 2
    return target


def _day_of_month(field: str) -> Callable[[date], bool]:
    if field == "L":
        return lambda d: d.day == _last_day(d)
    if field == "LW":
        return lambda d: d.day == _nearest_weekday(d, _last_day(d))
    if field.endswith("W") and field[:-1].isdigit():
        n = int(field[:-1])
        if not 1 <= n <= 31:
            raise ValueError(f"bad day-of-month {field!r}")
        return lambda d: d.day == _nearest_weekday(d, n)
    days = _values(field, 1, 31)
    return lambda d: d.day in days


def _aws_dow(d: date) -> int:
    return (d.weekday() + 1) % 7 + 1  # Python Mon=0..Sun=6 -> EventBridge SUN=1..SAT=7


def _day_of_week(field: str) -> Callable[[date], bool]:
    if "#" in field:
        wd_s, k_s = field.split("#", 1)
        wd, k = _number(wd_s, DAYS), int(k_s)
        if not (1 <= wd <= 7 and 1 <= k <= 5):
            raise ValueError(f"bad day-of-week {field!r}")
        return lambda d: _aws_dow(d) == wd and (d.day - 1) // 7 + 1 == k
    if field.endswith("L") and field != "L":
        wd = _number(field[:-1], DAYS)
        if not 1 <= wd <= 7:
            raise ValueError(f"bad day-of-week {field!r}")
        return lambda d: _aws_dow(d) == wd and d.day + 7 > _last_day(d)
    days = _values("7" if field == "L" else field, 1, 7, DAYS)
    return lambda d: _aws_dow(d) in days

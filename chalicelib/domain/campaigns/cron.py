"""A small 5-field cron: ``minute hour day-of-month month day-of-week``.

Supports ``*``, lists, ranges, steps (``*/15``, ``1-5/2``), month and weekday names
(``jan``, ``mon``), 0 or 7 for Sunday and the macros ``@hourly @daily @weekly @monthly
@yearly``. As in Vixie cron, when both day fields are restricted a day matches if either does.
Evaluation happens on wall-clock dates and times; the caller converts them to instants in a
timezone (see ``occurrences.py``), so DST is handled once, there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
WEEKDAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
NO_NAMES: dict[str, int] = {}
FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, NO_NAMES), ("hour", 0, 23, NO_NAMES), ("day of month", 1, 31, NO_NAMES),
    ("month", 1, 12, MONTHS), ("day of week", 0, 7, WEEKDAYS))


class CronError(ValueError):
    """A cron expression that cannot be parsed; the message names the field."""


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday ... 6 = Saturday
    any_day: bool
    any_weekday: bool

    def matches(self, d: date) -> bool:
        """True when the schedule fires on some time of wall-clock date ``d``."""
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow

    def times(self) -> list[time]:
        """Every wall-clock time of day the schedule fires at, in order."""
        return [time(h, m) for h in self.hours for m in self.minutes]


def _field(text: str, name: str, lo: int, hi: int, names: dict[str, int]) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"{name}: empty list item")
        rng, _, step_s = part.partition("/")
        step = 1
        if step_s:
            if not step_s.isdigit() or int(step_s) == 0:
                raise CronError(f"{name}: step '{step_s}' must be a positive number")
            step = int(step_s)
        if rng == "*":
            a, b = lo, hi
        else:
            first, dash, last = rng.partition("-")
            a = _value(first, name, lo, hi, names)
            b = _value(last, name, lo, hi, names) if dash else (hi if step_s else a)
            if a > b:
                raise CronError(f"{name}: range {rng} runs backwards")
        out.update(range(a, b + 1, step))
    return out


def _value(token: str, name: str, lo: int, hi: int, names: dict[str, int]) -> int:
    t = token.lower()
    if t in names:
        return names[t]
    if not t.isdigit():
        raise CronError(f"{name}: '{token}' is not a number"
                        + (f" or a name ({', '.join(names)})" if names else ""))
    v = int(t)
    if not lo <= v <= hi:
        raise CronError(f"{name}: {v} is outside {lo}-{hi}")
    return v


def parse_cron(expr: str) -> Cron:
    """Parse a 5-field cron expression; raises CronError naming the bad field."""
    text = MACROS.get(expr.strip().lower(), expr.strip())
    parts = text.split()
    if len(parts) != 5:
        raise CronError(f"expected 5 fields (minute hour day-of-month month day-of-week), "
                        f"got {len(parts)}")
    sets = [_field(p, n, lo, hi, names) for p, (n, lo, hi, names) in zip(parts, FIELDS,
                                                                             strict=True)]
    weekdays = {d % 7 for d in sets[4]}
    cron = Cron(minutes=tuple(sorted(sets[0])), hours=tuple(sorted(sets[1])),
                days=frozenset(sets[2]), months=frozenset(sets[3]), weekdays=frozenset(weekdays),
                any_day=parts[2].startswith("*"), any_weekday=parts[4].startswith("*"))
    if cron.any_weekday and not any(_month_has(m, d) for m in cron.months for d in cron.days):
        raise CronError("day of month: never occurs in the chosen months")
    return cron


def _month_has(month: int, day: int) -> bool:
    return day <= (29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)

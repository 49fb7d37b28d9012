"""When a time-based trigger fires, in a given timezone. Pure.

Every function takes the timezone in which wall-clock times are read: the member's timezone
when the trigger has ``local_time: true``, else the campaign's (``zone_for`` picks it).
An ``Occurrence`` has a ``key`` that names the logical occurrence identically in every
timezone (``"2026"`` for a birthday year, ``"2026-02-17"`` for a holiday,
``"2026-02-17T09:00"`` for a cron tick, the ``at`` value for ``once``), so a send record
keyed by (campaign, occurrence key, member) is unique per member and occurrence.

DST: a wall-clock time that does not exist (spring forward) fires at the same instant the
offset before the jump gives (02:30 → 03:30 new time); an ambiguous one (fall back) fires
once, at its first instance. Both follow from ``zoneinfo`` with ``fold=0``.

    between(trigger, start, end, tz)           fires with start < at <= end (scheduler)
    upcoming(trigger, after, count, tz)        the next ``count`` fires (preview)
    birthdays_due(trigger, start, end, tz)     which birthday index partitions are due
    campaign_between / campaign_upcoming       the same, clipped to the campaign window
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from chalicelib.domain.campaigns.cron import parse_cron
from chalicelib.domain.campaigns.festivals import festival_dates, festival_names, find_festival
from chalicelib.domain.campaigns.model import (
    Birthday,
    Campaign,
    Event,
    Holiday,
    HolidayRule,
    Once,
    Recurring,
)
from chalicelib.domain.campaigns.workdays import (
    CalendarUnpublished,
    working_day_after,
    working_day_before,
)
from chalicelib.domain.members.model import celebrated_month_days, month_day

Trigger = Once | Recurring | Birthday | Holiday | Event
HORIZON_DAYS = 3 * 366 + 1
EXCLUDED_NAME_PARTS = ("observed", "day off", "substitute", "补假", "休息日", "调休", "補假",
                       "补班", "補班", "放假日")
LANGUAGES = ("en_US", None, "zh_CN", "zh_TW")  # None: the calendar's own language


@dataclass(frozen=True, order=True)
class Occurrence:
    at: datetime    # the UTC instant at which it fires in the timezone asked for
    key: str        # the logical occurrence, identical in every timezone
    local: datetime  # the wall-clock time there (aware, in that zone)


def zone(name: str | ZoneInfo) -> ZoneInfo:
    return name if isinstance(name, ZoneInfo) else ZoneInfo(name)


def zone_for(campaign: Campaign, member_timezone: str | None) -> ZoneInfo:
    """The member's zone for ``local_time`` triggers (when known), else the campaign's."""
    if campaign.local_time and member_timezone:
        return zone(member_timezone)
    return campaign.zone


def wall_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``day`` ``at`` in ``tz`` (fold=0, see module doc)."""
    return datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=tz).astimezone(UTC)


def _occ(day: date, at: time, tz: ZoneInfo, key: str) -> Occurrence:
    utc = wall_to_utc(day, at, tz)
    return Occurrence(at=utc, key=key, local=utc.astimezone(tz))


def _local_dates(start: datetime, end: datetime, tz: ZoneInfo, pad: int = 1) -> Iterable[date]:
    """Wall-clock dates in ``tz`` that can hold an instant of (start, end], with slack."""
    first = start.astimezone(tz).date() - timedelta(days=pad)
    last = end.astimezone(tz).date() + timedelta(days=pad)
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def _aware(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    return dt


def between(trigger: Trigger, start: datetime, end: datetime, tz: str | ZoneInfo, *,
            birthday: str | None = None) -> list[Occurrence]:
    """Fires with ``start < at <= end`` in ``tz``, in order. Birthday triggers need the
    member's ``birthday`` ('YYYY-MM-DD' or '--MM-DD'); event triggers never fire here."""
    start, end, zi = _aware(start), _aware(end), zone(tz)
    if end <= start:
        return []
    out: list[Occurrence] = []
    if isinstance(trigger, Once):
        out = _once(trigger, start, end, zi)
    elif isinstance(trigger, Recurring):
        out = _cron_between(trigger, start, end, zi)
    elif isinstance(trigger, Birthday):
        md = month_day(birthday)
        out = [] if md is None else [
            o for o, mds in birthdays_due(trigger, start, end, zi) if md in mds]
    elif isinstance(trigger, Holiday):
        out = _holidays_between(trigger, start, end, zi)
    return sorted(set(out))


def _once(trigger: Once, start: datetime, end: datetime, tz: ZoneInfo) -> list[Occurrence]:
    at = trigger.at
    instant = (at if at.tzinfo else at.replace(tzinfo=tz)).astimezone(UTC)
    key = at.replace(tzinfo=None).isoformat(timespec="minutes") if trigger.local_time \
        else instant.isoformat(timespec="minutes")
    return [Occurrence(instant, key, instant.astimezone(tz))] if start < instant <= end else []


def _cron_between(trigger: Recurring, start: datetime, end: datetime, tz: ZoneInfo,
                  ) -> list[Occurrence]:
    cron = parse_cron(trigger.cron)
    out = []
    for d in _local_dates(start, end, tz):
        if cron.matches(d):
            for t in cron.times():
                o = _occ(d, t, tz, f"{d.isoformat()}T{t.strftime('%H:%M')}")
                if start < o.at <= end:
                    out.append(o)
    return out


def _holidays_between(trigger: Holiday, start: datetime, end: datetime, tz: ZoneInfo,
                      ) -> list[Occurrence]:
    """Keyed by the holiday's (or the rule's) date; a rule's day may leave its holiday's
    year, so one year more is looked at on each side."""
    out = []
    lead = timedelta(days=trigger.days_before)
    first = start.astimezone(tz).year - 1
    for year in range(first, end.astimezone(tz).year + 2):
        for day in holiday_dates(trigger.calendar, trigger.holidays, year):
            o = _occ(day - lead, trigger.at, tz, day.isoformat())
            if start < o.at <= end:
                out.append(o)
    return out


def birthdays_due(trigger: Birthday, start: datetime, end: datetime, tz: str | ZoneInfo,
                  ) -> list[tuple[Occurrence, list[str]]]:
    """For members in ``tz``: each fire in (start, end] with the birthday month-days
    ('MM-DD', the birthday index partitions) it is for. 29 February birthdays are
    celebrated on 28 February in common years."""
    start, end, tz = _aware(start), _aware(end), zone(tz)
    lead = timedelta(days=trigger.days_before)
    out = []
    for d in _local_dates(start, end, tz):
        o = _occ(d, trigger.at, tz, "")
        if start < o.at <= end:
            celebration = d + lead
            out.append((Occurrence(o.at, str(celebration.year), o.local),
                        celebrated_month_days(celebration)))
    return out


def upcoming(trigger: Trigger, after: datetime, count: int, tz: str | ZoneInfo, *,
             birthday: str | None = None, until: datetime | None = None,
             horizon_days: int = HORIZON_DAYS) -> list[Occurrence]:
    """The next ``count`` fires strictly after ``after`` (searching ``horizon_days``)."""
    after = _aware(after)
    limit = after + timedelta(days=horizon_days)
    if until is not None:
        limit = min(limit, until)
    out: list[Occurrence] = []
    lo = after
    step = timedelta(days=3 if isinstance(trigger, Recurring) else 120)
    while lo < limit and len(out) < count:
        hi = min(lo + step, limit)
        out.extend(between(trigger, lo, hi, tz, birthday=birthday))
        lo = hi
        step = min(step * 2, timedelta(days=400))
    return out[:count]


def campaign_between(campaign: Campaign, start: datetime, end: datetime, *,
                     member_timezone: str | None = None, birthday: str | None = None,
                     ) -> list[Occurrence]:
    """``between`` for a campaign: its trigger, the right zone, clipped to its window."""
    occs = between(campaign.trigger, start, end, zone_for(campaign, member_timezone),
                   birthday=birthday)
    return [o for o in occs if campaign.in_window(o.at)]


def window_dates(campaign: Campaign, horizon_days: int = 366) -> tuple[date, date]:
    """The campaign window as dates in its timezone (``horizon_days`` when it never ends)."""
    first = campaign.starts_at.astimezone(campaign.zone).date()
    end = campaign.ends_at
    last = end.astimezone(campaign.zone).date() if end else first + timedelta(horizon_days)
    return first, max(first, last)


def campaign_upcoming(campaign: Campaign, after: datetime, count: int, *,
                      member_timezone: str | None = None, birthday: str | None = None,
                      ) -> list[Occurrence]:
    """The campaign's next ``count`` fires after ``after``, inside its window."""
    start = max(_aware(after), campaign.starts_at - timedelta(microseconds=1))
    occs = upcoming(campaign.trigger, start, count, zone_for(campaign, member_timezone),
                    birthday=birthday, until=campaign.ends_at)
    return [o for o in occs if campaign.in_window(o.at)]


# --- holidays --------------------------------------------------------------------------------

Ref = str | HolidayRule


def holiday_dates(calendar: str, refs: Iterable[Ref], year: int) -> list[date]:
    """The dates from ``refs`` whose holiday falls in ``year``: names (public holidays of
    ``calendar`` in any supported language, then festivals, solar terms and retail days),
    'YYYY-MM-DD' and '--MM-DD' dates, and rules relative to them (a rule's day may fall in
    the next or previous year). Refs that do not resolve that year are skipped, and so are
    working-day rules whose official calendar is not published yet (preview reports them)."""
    out: set[date] = set()
    for ref in refs:
        try:
            out.update(ref_dates(calendar, ref, year))
        except CalendarUnpublished:
            continue
    return sorted(out)


def ref_dates(calendar: str, ref: Ref, year: int) -> list[date]:
    """The days of one ref for its holiday's occurrences in ``year``; a working-day rule
    raises CalendarUnpublished when it needs a year the official calendar lacks."""
    if isinstance(ref, str):
        return name_dates(calendar, ref, year)
    return [shifted(calendar, ref, d) for d in name_dates(calendar, ref.holiday, year)]


def shifted(calendar: str, rule: HolidayRule, day: date) -> date:
    if rule.working_day_after is not None:
        return working_day_after(calendar, day, rule.working_day_after)
    if rule.working_day_before is not None:
        return working_day_before(calendar, day, rule.working_day_before)
    return day + timedelta(days=rule.offset_days)


def name_dates(calendar: str, name: str, year: int) -> list[date]:
    """The dates in ``year`` of a holiday name or explicit date (a festival of the last lunar
    month can fall twice in a year: 腊八 2022)."""
    explicit = _explicit_date(name, year)
    if explicit is not False:
        return [explicit] if isinstance(explicit, date) else []
    found = _names(calendar, year).get(_norm(name))
    return [found] if found is not None else festival_dates(name, year)


@dataclass(frozen=True)
class Resolved:
    """One day a ref gives inside a window, or why a day near it cannot be known yet."""

    ref: str                 # the ref as written, rules labelled ("国庆节 +1 working day")
    day: date | None         # None: see problem
    problem: str | None = None
    hint: str = ""


UNPUBLISHED_SLACK = timedelta(days=15)  # a working-day rule lands this close to its holiday


def resolve_window(calendar: str, ref: Ref, first: date, last: date) -> list[Resolved]:
    """The days ``ref`` gives in [first, last], in order, and the holidays in or near the
    window whose working-day rule cannot be resolved (calendar not yet published)."""
    label = ref if isinstance(ref, str) else ref.label
    name = ref if isinstance(ref, str) else ref.holiday
    out = []
    for year in range(first.year - 1, last.year + 2):
        for base in name_dates(calendar, name, year):
            try:
                day = base if isinstance(ref, str) else shifted(calendar, ref, base)
            except CalendarUnpublished as e:
                if first - UNPUBLISHED_SLACK <= base <= last + UNPUBLISHED_SLACK:
                    out.append(Resolved(label, None, str(e), e.hint))
                continue
            if first <= day <= last:
                out.append(Resolved(label, day))
    return out


def resolve_holiday(calendar: str, ref: str, year: int) -> date | None:
    """The first date in ``year`` of a holiday name or explicit date, else None."""
    found = name_dates(calendar, ref, year)
    return found[0] if found else None


def _explicit_date(ref: str, year: int) -> date | bool | None:
    """A date for explicit refs (None when it is not in ``year``); False for names."""
    try:
        if len(ref) == 7 and ref.startswith("--"):
            return date(year, int(ref[2:4]), int(ref[5:7]))
        if len(ref) == 10 and ref[4] == "-" and ref[:4].isdigit():
            d = date.fromisoformat(ref)
            return d if d.year == year else None
    except ValueError:
        return None if len(ref) == 7 and ref[2:4].isdigit() else False
    return False


def is_explicit_date(ref: str) -> bool:
    return _explicit_date(ref, 2000) is not False


def holiday_known(calendar: str, ref: str, years: Iterable[int]) -> bool:
    """True when a name resolves in one of ``years`` (explicit dates: when well-formed)."""
    if is_explicit_date(ref):
        return any(_explicit_date(ref, y) is not None for y in (2000, 2001)) or (
            len(ref) == 10 and _explicit_date(ref, int(ref[:4])) is not None)
    if find_festival(ref) is not None:
        return True
    return any(_norm(ref) in _names(calendar, y) for y in years)


def holiday_names(calendar: str, year: int) -> list[str]:
    """The names a marketer may use for ``calendar`` (English and local spellings), public
    holidays first, then festivals, solar terms and retail days."""
    public = sorted(_display_names(calendar, year))
    return public + [n for n in festival_names() if n not in public]


def suggest_holiday(calendar: str, ref: str, year: int) -> str | None:
    """The closest known name to a misspelt ``ref`` (any language, case-insensitive)."""
    names = holiday_names(calendar, year)
    by_norm: dict[str, str] = {}
    for n in names:
        by_norm.setdefault(_norm(n), n)
    close = difflib.get_close_matches(_norm(ref), list(by_norm), n=1, cutoff=0.5)
    return by_norm[close[0]] if close else None


def calendar_supported(calendar: str) -> bool:
    import holidays

    return calendar in holidays.list_supported_countries()


def _norm(name: str) -> str:
    return " ".join(name.lower().replace("\u2019", "'").split())


def _aliases(name: str) -> list[str]:
    """'Chinese New Year (Spring Festival)' → itself, 'Chinese New Year', 'Spring Festival'."""
    out = [name]
    if "(" in name and name.endswith(")"):
        head, _, inner = name[:-1].partition("(")
        out += [head.strip(), inner.strip()]
    return [a for a in out if a]


@lru_cache(maxsize=256)
def _calendar(calendar: str, year: int) -> list[tuple[date, str]]:
    import holidays

    entries: list[tuple[date, str]] = []
    cls = holidays.country_holidays(calendar, years=year)
    supported = set(getattr(cls, "supported_languages", ()) or ())
    languages = [lang for lang in LANGUAGES if lang is None or lang in supported]
    seen: set[str | None] = set()
    for lang in languages:
        if lang in seen:
            continue
        seen.add(lang)
        try:
            cal = holidays.country_holidays(calendar, years=year, language=lang) if lang \
                else cls
        except (NotImplementedError, ValueError, KeyError):
            continue
        for d, names in sorted(cal.items()):
            for n in str(names).split(";"):
                n = n.strip()
                if n and not any(x in n.lower() for x in EXCLUDED_NAME_PARTS):
                    entries.append((d, n))
    return entries


@lru_cache(maxsize=256)
def _names(calendar: str, year: int) -> dict[str, date]:
    out: dict[str, date] = {}
    for d, name in sorted(_calendar(calendar, year)):
        for alias in _aliases(name):
            out.setdefault(_norm(alias), d)
    return out


def _display_names(calendar: str, year: int) -> set[str]:
    return {a for _, n in _calendar(calendar, year) for a in _aliases(n)}

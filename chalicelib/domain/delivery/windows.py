"""Member-local-time occurrence windows: which (timezone, occurrence) pairs are due.

The planner runs every few minutes over the half-open window ``(start, end]`` (UTC) and asks,
per campaign: for which member timezones does a fire time fall inside the window? A 09:00
birthday campaign is due for Asia/Shanghai at 01:00 UTC and for Europe/Berlin at 08:00 or
07:00 UTC depending on DST. A window that spans missed runs simply holds more slots, and a
repeated window yields the same slots again (exactly-once is the send record's job).

What a trigger fires and its occurrence keys come from ``domain/campaigns/occurrences.py``
(shared with preview, so preview and delivery agree); DST gaps move forward, ambiguous
fall-back times fire at their first instance.

This module adds the fan-out over timezones. Zones are grouped by their UTC offsets at the
window's two ends: all zones of a group with a constant offset map wall-clock times to the
same instants, so a window costs one evaluation per offset group (about forty), not one per
IANA zone (about six hundred). A group whose offsets differ crosses a DST transition inside
the window, and the transition instant may differ between its zones, so each such zone is
evaluated alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from chalicelib.domain.campaigns import occurrences as occ
from chalicelib.domain.campaigns.model import Birthday, Campaign, Event


@dataclass(frozen=True)
class Slot:
    """Members in ``tz`` (every member when ``tz`` is None) are due for ``occurrence`` at
    ``fire_at``; ``month_days`` names the birthday index partitions for birthday triggers."""

    tz: str | None
    occurrence: str
    fire_at: datetime  # UTC
    month_days: tuple[str, ...] = ()


def floor_quarter(t: datetime) -> datetime:
    """The UTC quarter-hour containing ``t``."""
    t = t.astimezone(UTC)
    return t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)


@lru_cache(maxsize=4096)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def all_zones() -> tuple[str, ...]:
    """Every IANA zone a member may hold (the member validator accepts the same set)."""
    return tuple(sorted(available_timezones()))


def groups(zones: Iterable[str], start: datetime, end: datetime) -> list[tuple[str, list[str]]]:
    """Zones grouped by (offset at start, offset at end): [(representative, members)]."""
    by: dict[tuple[timedelta | None, timedelta | None], list[str]] = defaultdict(list)
    for name in zones:
        z = zone(name)
        by[(start.astimezone(z).utcoffset(), end.astimezone(z).utcoffset())].append(name)
    out: list[tuple[str, list[str]]] = []
    for (a, b), names in sorted(by.items(), key=lambda kv: kv[1][0]):
        if a == b:
            out.append((names[0], names))
        else:
            out.extend((n, [n]) for n in names)
    return out


def _fires(campaign: Campaign, start: datetime, end: datetime, member_tz: str | None
           ) -> list[tuple[occ.Occurrence, tuple[str, ...]]]:
    """(occurrence, birthday month-days) in ``(start, end]`` and the campaign's window, for
    members in ``member_tz`` (None: the campaign's own timezone)."""
    trigger = campaign.trigger
    if isinstance(trigger, Birthday):
        tz = campaign.zone if member_tz is None else member_tz
        return [(o, tuple(mds)) for o, mds in occ.birthdays_due(trigger, start, end, tz)
                if campaign.in_window(o.at)]
    return [(o, ()) for o in occ.campaign_between(campaign, start, end,
                                                  member_timezone=member_tz)]


def campaign_slots(campaign: Campaign, start: datetime, end: datetime,
                   zones: Iterable[str] | None = None) -> list[Slot]:
    """Every slot of a time-triggered campaign in ``(start, end]``, inside its window."""
    if isinstance(campaign.trigger, Event) or end <= start:
        return []
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if not campaign.local_time:
        return [Slot(None, o.key, o.at, mds) for o, mds in _fires(campaign, start, end, None)]
    out: list[Slot] = []
    for rep, members in groups(zones if zones is not None else all_zones(), start, end):
        for o, mds in _fires(campaign, start, end, rep):
            out.extend(Slot(tz, o.key, o.at, mds) for tz in members)
    out.sort(key=lambda s: (s.fire_at, s.tz or "", s.occurrence))
    return out


def member_fire_at(campaign: Campaign, occurrence: str, tz: str, start: datetime,
                   end: datetime) -> datetime | None:
    """When ``occurrence`` fires for a member in ``tz``, if that is in ``(start, end]``
    (broadcast scans use it to place each member's local-time fire)."""
    for o in occ.campaign_between(campaign, start, end, member_timezone=tz):
        if o.key == occurrence:
            return o.at
    return None

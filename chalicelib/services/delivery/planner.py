"""The delivery planner: what is due in (last run, now], fanned out through SQS.

- birthday triggers: one key query per (month-day, timezone) on the birthday index for the
  zones whose local fire time is in the window; celebrants travel in the task with the
  profile-level attributes the index projects, so nobody reads them twice (an SMS campaign
  leaves the profile out: the worker reads it whole, phone included);
- ``inactive`` / ``points_expiring`` event triggers: a key query on the last-order index
  (per member timezone, at 10:00 local) or the lot-expiry index (campaign timezone);
- broadcasts (once, recurring, holiday): the first window that holds an occurrence enqueues
  one ``scan`` entry per segment; a segment is a range of the member index's 64 buckets
  (GSI3), read by key page by page: about one index item per member, never a table Scan and
  never the members' history. Each segment worker reads its members once, enqueues those due
  now and parks the others (later local times) as deferred work;
- deferred work (quiet hours, later local times) whose time has come, from a sharded index
  bucket per UTC quarter-hour.

The cursor advances only after everything is enqueued; a crash replans the same window and
the send records drop the duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from chalicelib.adapters.delivery.queues import DeliveryQueues
from chalicelib.adapters.delivery.repository import DeliveryRepository
from chalicelib.adapters.retries import retryable, with_retries
from chalicelib.domain.campaigns.model import Birthday, Campaign, Event
from chalicelib.domain.delivery import windows
from chalicelib.domain.delivery.work import Entry, Task, pack
from chalicelib.domain.members.model import birthday_counts
from chalicelib.observability import logger
from chalicelib.services import clock
from chalicelib.services.delivery.campaigns import CampaignSource, needs_contact, needs_loyalty

DAILY_EVENT_AT = time(10, 0)  # inactive / points_expiring fire at 10:00 member/campaign time
SCAN_PAGES_PER_MESSAGE = 20
SCAN_PAGE_ITEMS = 1000
# Deferred work for a member whose local time comes later: campaign, occurrence, member,
# due, quarter-hour bucket, task.
Parked = tuple[str, str, str, str, str, dict[str, Any]]


def iso(dt: datetime) -> str:
    return clock.iso(dt)


def parse_iso(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def quarters(start: datetime, end: datetime) -> list[str]:
    """UTC quarter-hour buckets overlapping (start, end]."""
    out = []
    q = windows.floor_quarter(start)
    while q <= end:
        out.append(iso(q))
        q += timedelta(minutes=15)
    return out


@dataclass
class PlanReport:
    start: str
    end: str
    tasks: int = 0
    entries: int = 0
    scans: int = 0
    deferred_due: int = 0
    sqs_requests: int = 0
    campaigns: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)


@dataclass
class Planner:
    repo: DeliveryRepository
    campaigns: CampaignSource
    queues: DeliveryQueues
    segments: int = 10
    catchup_hours: int = 36
    interval_minutes: int = 15

    # --- the scheduled run --------------------------------------------------------------------

    def run(self, now: datetime | None = None) -> PlanReport:
        """Plan (cursor, now], enqueue, then advance the cursor."""
        now = (now or clock.now()).astimezone(UTC)
        prev = with_retries(self.repo.cursor)
        start = parse_iso(prev) if prev else now - timedelta(minutes=self.interval_minutes)
        start = max(start, now - timedelta(hours=self.catchup_hours))
        if start >= now:
            return PlanReport(iso(start), iso(now))
        report = self.plan(with_retries(self.campaigns.active), start, now, deferred=True)
        with_retries(lambda: self.repo.advance_cursor(prev, iso(now)))
        return report

    def plan(self, campaigns: list[Campaign], start: datetime, end: datetime, *,
             deferred: bool = False, sim: str | None = None,
             deferred_since: datetime | None = None) -> PlanReport:
        """Enqueue everything due in (start, end] for ``campaigns`` (and deferred work due in
        (``deferred_since`` or start, end])."""
        report = PlanReport(iso(start), iso(end))
        tasks: list[Task] = []
        scans: list[Entry] = []
        markers: list[tuple[str, str]] = []
        cache: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        for c in campaigns:
            before = len(tasks)
            try:
                if isinstance(c.trigger, Birthday):
                    tasks += self._birthdays(c, start, end, cache)
                elif isinstance(c.trigger, Event):
                    tasks += self._daily_events(c, start, end)
                else:
                    found = self._broadcasts(c, start, end, sim)
                    scans += found[0]
                    markers += found[1]
            except Exception as e:
                if retryable(e):  # the store is struggling: fail the run, keep the cursor
                    raise
                # A broken campaign must not block the others forever: skip it, loudly.
                logger().exception("planning failed for a campaign", extra={"campaign": c.id})
                report.failed.append(c.id)
            report.campaigns[c.id] = len(tasks) - before
        if deferred:
            since = min(start, deferred_since or start)
            due = [Task.from_json(t) for t in self.repo.due_between(
                iso(since), iso(end), quarters(since, end))]
            if sim is not None:  # a rehearsal walks only its own campaigns' parked members
                ids = {c.id for c in campaigns}
                due = [t for t in due if t.campaign in ids]
            report.deferred_due = len(due)
            tasks += due
        entries = pack(tasks, sim=sim) + scans
        report.tasks, report.entries, report.scans = len(tasks), len(entries), len(scans)
        if entries:
            report.sqs_requests = self.queues.send_work([e.body() for e in entries])
        for cid, occ in markers:
            with_retries(partial(self.repo.mark_broadcast, cid, occ, iso(end), self.segments))
        return report

    # --- birthdays ------------------------------------------------------------------------------

    def _birthdays(self, c: Campaign, start: datetime, end: datetime,
                   cache: dict[tuple[str, str | None], list[dict[str, Any]]]) -> list[Task]:
        out: list[Task] = []
        prefilter = not needs_loyalty(c)
        whole = needs_contact(c)
        for slot in windows.campaign_slots(c, start, end):
            for md in slot.month_days:
                key = (md, slot.tz)
                if key not in cache:
                    cache[key] = self.repo.celebrants(md, slot.tz)
                for p in cache[key]:
                    if p.get("erased") or not birthday_counts(p, slot.occurrence) or (
                            prefilter and not self._matches(c, p, None, end)):
                        continue
                    out.append(Task(c.id, slot.occurrence, p["member_id"], iso(slot.fire_at),
                                    profile=None if whole else p))
        return out

    @staticmethod
    def _matches(c: Campaign, profile: dict[str, Any], loyalty: dict[str, Any] | None,
                 at: datetime) -> bool:
        from chalicelib.domain.campaigns.profile import audience_profile

        tz = profile.get("timezone") or c.timezone
        today = at.astimezone(windows.zone(tz)).date()
        return bool(c.matcher(audience_profile(profile, loyalty, today=today)))

    # --- inactive / points expiring -----------------------------------------------------------

    def _daily_events(self, c: Campaign, start: datetime, end: datetime) -> list[Task]:
        from chalicelib.domain.campaigns.occurrences import wall_to_utc

        trigger = c.trigger
        assert isinstance(trigger, Event)
        out: list[Task] = []
        kind = str(trigger.event)
        if kind == "inactive" and trigger.params.inactive_days:
            for rep, zones in windows.groups(windows.all_zones(), start, end):
                for d in _dates(start, end, rep):
                    fire = wall_to_utc(d, DAILY_EVENT_AT, windows.zone(rep))
                    if not (start < fire <= end and c.in_window(fire)):
                        continue
                    last = (d - timedelta(days=trigger.params.inactive_days)).isoformat()
                    for tz in zones:
                        for member in self.repo.inactive_members(last, tz):
                            out.append(Task(c.id, f"inactive-{last}", member, iso(fire),
                                            event={"type": "inactive", "last_order_date": last}))
        elif kind == "points_expiring" and trigger.params.days_before_expiry:
            for d in _dates(start, end, c.timezone):
                fire = wall_to_utc(d, DAILY_EVENT_AT, c.zone)
                if not (start < fire <= end and c.in_window(fire)):
                    continue
                expiry = (d + timedelta(days=trigger.params.days_before_expiry)).isoformat()
                points = self.repo.expiring_points(expiry)
                out += [Task(c.id, f"expiring-{expiry}", m, iso(fire), event={
                    "type": "points_expiring", "points": p, "expires_on": expiry})
                    for m, p in points.items() if p > 0]
        return out

    # --- broadcasts -------------------------------------------------------------------------------

    def _broadcasts(self, c: Campaign, start: datetime, end: datetime, sim: str | None
                    ) -> tuple[list[Entry], list[tuple[str, str]]]:
        first: dict[str, datetime] = {}
        for slot in windows.campaign_slots(c, start, end):
            if slot.occurrence not in first or slot.fire_at < first[slot.occurrence]:
                first[slot.occurrence] = slot.fire_at
        entries, markers = [], []
        for occ, anchor in sorted(first.items()):
            if with_retries(partial(self.repo.broadcast_started, c.id, occ)):
                continue
            for seg in range(self.segments):
                entries.append(Entry("scan", scan={
                    "c": c.id, "o": occ, "seg": seg, "of": self.segments, "start": iso(start),
                    "end": iso(end), "anchor": iso(anchor), "local": c.local_time,
                    "key": None}, sim=sim))
            markers.append((c.id, occ))
        return entries, markers

    def scan(self, spec: dict[str, Any], sim: str | None = None) -> int:
        """Run (part of) one broadcast segment: its range of member-index buckets, page by
        page, at most SCAN_PAGES_PER_MESSAGE pages per message (the rest is re-enqueued with
        where to resume). Returns the members enqueued or parked."""
        c = self.campaigns.get(spec["c"])
        if c is None or c.status != "active":
            return 0
        run = BroadcastScan(c, spec)
        buckets = self.repo.audience_buckets(spec["seg"], spec["of"])
        at = resume_at(spec.get("key"), buckets)
        tasks: list[Task] = []
        parked = 0
        for _ in range(SCAN_PAGES_PER_MESSAGE):
            if at is None:
                break
            bucket, page_key = at
            members, page_key = with_retries(partial(self.repo.audience_page, bucket,
                                                     page_key, SCAN_PAGE_ITEMS))
            due, later = self._sort_page(run, members)
            tasks += due
            if later:
                with_retries(partial(self.repo.park, later))
                parked += len(later)
            at = (bucket, page_key) if page_key is not None else next_bucket(buckets, bucket)
        entries = pack(tasks, sim=sim)
        if at is not None:
            entries.append(Entry("scan", scan={**spec, "key": {"b": at[0], "k": at[1]}},
                                 sim=sim))
        if entries:
            self.queues.send_work([e.body() for e in entries])
        return len(tasks) + parked

    def _sort_page(self, run: BroadcastScan,
                   members: list[tuple[dict[str, Any], dict[str, Any] | None]]
                   ) -> tuple[list[Task], list[Parked]]:
        """A page's members in the audience: due in this window (tasks), or later in their
        local time (parked as deferred work)."""
        c, occurrence = run.campaign, run.occurrence
        tasks: list[Task] = []
        parked: list[Parked] = []
        for profile, lo in members:
            fire = run.fire_at(profile)
            if fire is None or fire <= run.start or not self._matches(c, profile, lo, fire):
                continue
            member, due = str(profile["member_id"]), iso(fire)
            if fire <= run.end:
                tasks.append(Task(c.id, occurrence, member, due,
                                  profile=None if run.whole else profile,
                                  loyalty=None if run.whole else lo))
            else:
                parked.append((c.id, occurrence, member, due, iso(windows.floor_quarter(fire)),
                               Task(c.id, occurrence, member, due).to_json()))
        return tasks, parked


class BroadcastScan:
    """One scan message's broadcast: when each member's local time fires (computed once per
    timezone), and whether tasks must leave the profile for the worker to read whole."""

    def __init__(self, campaign: Campaign, spec: dict[str, Any]) -> None:
        self.campaign = campaign
        self.occurrence: str = spec["o"]
        self.start, self.end = parse_iso(spec["start"]), parse_iso(spec["end"])
        self.anchor = parse_iso(spec["anchor"])
        self.local = bool(spec["local"])
        self.whole = needs_contact(campaign)
        self._fires: dict[str, datetime | None] = {}

    def fire_at(self, profile: dict[str, Any]) -> datetime | None:
        if not self.local:
            return self.anchor
        tz = profile.get("timezone") or self.campaign.timezone
        if tz not in self._fires:
            self._fires[tz] = windows.member_fire_at(
                self.campaign, self.occurrence, tz, self.anchor - timedelta(hours=30),
                self.anchor + timedelta(hours=30))
        return self._fires[tz]


def resume_at(key: dict[str, Any] | None, buckets: list[int]) -> tuple[int, Any] | None:
    """Where a segment's scan (re)starts: the continuation's bucket and page key, else the
    segment's first bucket. A continuation written before the member index ("key" without
    "b") restarts the segment: send records drop any member reached twice."""
    if key and "b" in key:
        return key["b"], key.get("k")
    return (buckets[0], None) if buckets else None


def next_bucket(buckets: list[int], bucket: int) -> tuple[int, Any] | None:
    later = [b for b in buckets if b > bucket]
    return (later[0], None) if later else None


def _dates(start: datetime, end: datetime, tz: str) -> list[date]:
    z = windows.zone(tz)
    d = start.astimezone(z).date() - timedelta(days=1)
    last = end.astimezone(z).date() + timedelta(days=1)
    out = []
    while d <= last:
        out.append(d)
        d += timedelta(days=1)
    return out

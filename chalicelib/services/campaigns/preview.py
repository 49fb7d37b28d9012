"""Preview a campaign against the running stack: who, when, what, at what cost.

Audience size is answered at once from a uniform sample of the member index (GSI3: 64 fixed
hash buckets, see adapters/members/index.py): up to ``SAMPLE_MEMBERS`` members read from random
buckets in parallel, each from a random rank with one bounded page per bucket, so the time
does not grow with the number of members. The size is ``matched / sampled share`` with its
95 % margin (domain/campaigns/sampling.py). When the sample did not cover every member, a
count job (``PREVIEWJOB#<job>``, on its own preview queue) reads all 64 buckets in parallel
and records the exact size, which ``GET /admin/campaigns/{id}/preview/{job_id}`` returns;
small programs are read whole at once and answered exactly (``audience.exact``). Never a
Scan.

Count jobs are bounded: a job is named by (campaign, document hash, day counted at), so
previews of the same edit on the same day share one job while it is open or finished less
than ``REUSE_SECONDS`` ago; a campaign has at most ``MAX_OPEN`` open jobs (429 with
``Retry-After`` beyond), and a job counts at the preview's instant, not when it runs.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from chalicelib.adapters.campaigns.preview_jobs import (
    JOB_TTL_SECONDS,
    LEASE_SECONDS,
    MAX_OPEN,
    PreviewJobs,
    job_message,
)
from chalicelib.adapters.members.index import BUCKETS, RANKS, BucketSample, Member, MemberIndex
from chalicelib.domain.campaigns import occurrences as occ
from chalicelib.domain.campaigns import templates as tpl
from chalicelib.domain.campaigns.lint import CouponFacts, TemplateLookup, coupon_facts, lint
from chalicelib.domain.campaigns.model import Birthday, Campaign, Event, IssueCoupon, Message
from chalicelib.domain.campaigns.preview import base_actions, holiday_calendar, project
from chalicelib.domain.campaigns.profile import audience_profile
from chalicelib.domain.campaigns.sampling import Estimate, estimate, largest_timezones
from chalicelib.errors import NotFound, TooManyRequests, Unavailable
from chalicelib.services.deps import deps

NEXT = 5
PREVIEW_CHARS = 500  # per rendered title/body/link in a preview sample
SAMPLE_MEMBERS = 2_000  # members read inline at most (the margin shrinks as 1/sqrt of it)
WAVE = 16  # buckets read in parallel per wave (one bounded page each)
COUNT_THREADS = 8  # parallel readers of the 64 buckets in the exact count
TIMEZONES = 3  # next occurrences shown for this many of the sample's largest timezones
REUSE_SECONDS = 600  # a finished count of the same document and day is answered again

if TYPE_CHECKING:  # powertools' batch utilities load with the queue function only
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse


def index() -> MemberIndex:
    return deps().member_index


def jobs() -> PreviewJobs:
    return deps().preview_jobs


def next_fires(c: Campaign, at: datetime, tz: str | None = None,
               birthday: str | None = None) -> list[str]:
    """The next fires as ISO strings in ``tz`` (or UTC)."""
    if isinstance(c.trigger, Event):
        return []
    if isinstance(c.trigger, Birthday) and birthday is None:
        return []
    found = occ.campaign_upcoming(c, at, NEXT, member_timezone=tz, birthday=birthday)
    zone = occ.zone(tz) if tz and c.local_time else None
    return [(o.at.astimezone(zone) if zone else o.local).isoformat() for o in found]


class CountJob(TypedDict):
    job_id: str
    count: str  # pending | running | done | failed


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def campaign_fires(c: Campaign, at: datetime) -> dict[str, object]:
    """The next fires in UTC (and the campaign timezone) for the campaign as a whole."""
    t = c.trigger
    if isinstance(t, Event):
        return {"on_event": t.event.value, "utc": [], "note": "fires within seconds of each "
                "event"}
    if isinstance(t, Birthday):
        start = max(at, c.starts_at)
        days = occ.birthdays_due(t, start, start.replace(year=start.year + 1), c.zone)
        shown = [(o, mds) for o, mds in days if c.in_window(o.at)][:NEXT]
        return {"utc": [o.at.isoformat() for o, _ in shown],
                c.timezone: [o.local.isoformat() for o, _ in shown],
                "celebrating": [mds for _, mds in shown],
                "note": "fires every day for that day's celebrants" + (
                    ", at this wall-clock time in each member's timezone" if c.local_time
                    else "")}
    found = occ.campaign_upcoming(c, at, NEXT)
    out: dict[str, object] = {"utc": [o.at.isoformat() for o in found],
                              c.timezone: [o.local.isoformat() for o in found]}
    holidays = holiday_calendar(c, at)
    if holidays is not None:
        out["holidays"] = holidays
    if c.local_time:
        out["note"] = f"shown for {c.timezone}; each member gets it at this wall-clock time " \
                      "in their own timezone"
    return out


def _mask(name: object) -> str:
    return (str(name)[0] + "*" * max(1, len(str(name)) - 1)) if name else ""


def _clipped(rendered: Mapping[str, str]) -> dict[str, object]:
    """A rendered sample with each text cut at PREVIEW_CHARS (marked ``truncated``), so a
    preview of up to 50 samples stays small whatever the templates produce."""
    out: dict[str, object] = dict(rendered)
    for field in ("title", "body", "deep_link"):
        text = out.get(field)
        if isinstance(text, str) and len(text) > PREVIEW_CHARS:
            out[field] = text[:PREVIEW_CHARS] + "…"
            out["truncated"] = True
    return out


def sample_view(c: Campaign, at: datetime, profile: Mapping[str, object],
                loyalty: Mapping[str, object] | None,
                facts: Callable[[str], CouponFacts | None]) -> dict[str, object]:
    """One sample member: no contact details; the name masked in rendered messages."""
    tz, locale = _text(profile.get("timezone")), _text(profile.get("locale"))
    view: dict[str, object] = {
        "member_id": profile.get("member_id"), "tier": (loyalty or {}).get("tier"),
        "points": (loyalty or {}).get("points"), "timezone": profile.get("timezone"),
        "locale": profile.get("locale"),
        "next": next_fires(c, at, tz, _text(profile.get("birthday"))),
    }
    coupon: dict[str, object] | None = None
    actions = base_actions(c)  # a journey's: every step's (what a member may get)
    for a in actions:
        if isinstance(a, IssueCoupon):  # best_of: shown with the first of its list
            tid = a.candidates()[0]
            f = facts(tid)
            coupon = {"title": f.title if f else tid,
                      "expires_at": (f.valid_until(at) or "") if f else "",
                      "value": f.value_minor if f else None}
            break
    masked = {**profile, "name": _mask(profile.get("name"))}
    ctx = tpl.context_for(masked, loyalty, coupon=coupon, campaign_name=c.name,
                          tz=tz or c.timezone)
    messages = [_clipped(tpl.render_message(a, locale, ctx))
                for a in actions if isinstance(a, Message)]
    if messages:
        view["messages"] = messages
    return view


def sample_members(budget: int, rng: random.Random | None = None
                   ) -> tuple[list[Member], float]:
    """A uniform sample of about ``budget`` members and its share of all members (1.0: every
    member was read). Buckets are read in random order, ``WAVE`` at a time in parallel, each
    from a random rank for at most ``budget / WAVE`` members; another wave runs only while
    every bucket so far was read whole and the budget is not spent (small programs),
    so at most ``budget + WAVE - 1`` members are read."""
    rng = rng or random.SystemRandom()
    order = list(range(BUCKETS))
    rng.shuffle(order)
    members: list[Member] = []
    covered = 0.0
    for first in range(0, len(order), WAVE):
        # The rest of the budget spread over the wave: at most budget + WAVE - 1 are read.
        quota = max(1, -(-(budget - len(members)) // WAVE))
        wave = [(b, rng.randrange(RANKS), quota) for b in order[first:first + WAVE]]
        with ThreadPoolExecutor(max_workers=len(wave)) as pool:
            parts: list[BucketSample] = list(pool.map(
                lambda w: index().sample_bucket(*w), wave))
        for p in parts:
            members.extend(p.members)
            covered += p.covered
        if any(p.covered < 1.0 for p in parts) or len(members) >= budget:
            break
    return members, covered / BUCKETS


def preview_on_stack(c: Campaign, *, at: datetime, samples: int, scan_limit: int,
                     templates: TemplateLookup | None) -> dict[str, object]:
    today = at.date()
    match = c.matcher

    def matches(m: Member) -> bool:
        return bool(match(audience_profile(m[0], m[1], today=today)))

    sampled, rate = sample_members(min(scan_limit, SAMPLE_MEMBERS))
    hits = [m for m in sampled if matches(m)]
    estimated = estimate(len(hits), len(sampled), rate)
    audience: dict[str, object] = dict(estimated)
    if not estimated["exact"]:
        audience.update(start_count(c, at, estimated))
    size: float = estimated["size"]

    def facts(template_id: str) -> CouponFacts | None:
        doc = templates(template_id) if templates else None
        return coupon_facts(template_id, doc) if doc is not None else None

    shown = random.sample(hits, min(samples, len(hits)))
    sample_views = [sample_view(c, at, p, lo, facts) for p, lo in shown]
    biggest = largest_timezones(p.get("timezone") for p, _ in hits)
    fires = campaign_fires(c, at)
    if c.local_time and not isinstance(c.trigger, (Event, Birthday)):
        fires["by_timezone"] = {z["timezone"]: next_fires(c, at, z["timezone"])
                                for z in biggest[:TIMEZONES]}
    return {
        "campaign_id": c.id, "at": at.isoformat(), "status": c.status.value,
        "audience": audience, "samples": sample_views, "occurrences": fires,
        "timezones": biggest,
        "projection": project(c, at=at, audience_size=size, coupons=facts),
        "warnings": lint(c, templates, deps().draw_lookup),
    }


# --- the exact count, in the background --------------------------------------------------

def job_id_for(c: Campaign, at: datetime) -> str:
    """The job of (campaign, document, day counted at): the same edit previewed again the
    same day names the same job."""
    text = json.dumps(c.document(), sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:24]
    return f"{at.date().isoformat()}-{digest}"


def _reusable(job: Mapping[str, object], now: datetime) -> bool:
    """An open job not abandoned, or one finished recently enough to answer again."""
    age = now - _parse(job.get("finished_at") or job.get("created_at"))
    if job.get("status") in ("pending", "running"):
        return age.total_seconds() < LEASE_SECONDS
    return job.get("status") == "done" and age.total_seconds() < REUSE_SECONDS


def _parse(at: object) -> datetime:
    return datetime.fromisoformat(str(at).replace("Z", "+00:00"))


def start_count(c: Campaign, at: datetime, estimated: Estimate) -> CountJob:
    """The count job for this exact document and day, reused when open or recent, else
    recorded and queued: {"job_id", "count"}. TooManyRequests when the campaign already
    has ``MAX_OPEN`` open jobs."""
    from chalicelib.services import clock

    job_id = job_id_for(c, at)
    now = clock.now()
    existing = jobs().get(c.id, job_id)
    if existing is not None and _reusable(existing, now):
        return {"job_id": job_id, "count": existing["status"]}
    epoch = int(now.timestamp())
    slot = jobs().acquire_slot(c.id, job_id, epoch)
    if slot is None:
        wait = jobs().slot_retry_after(c.id, epoch)
        raise TooManyRequests(f"{MAX_OPEN} exact counts of this campaign are already "
                              "running; retry later (the estimate stands meanwhile)",
                              retry_after=wait)
    created = jobs().create(
        c.id, job_id, c.document(), at=now.isoformat(), count_at=at.isoformat(),
        ttl_epoch=epoch + JOB_TTL_SECONDS, slot=slot,
        estimate={k: v for k, v in estimated.items() if k in ("size", "margin")},
        replaces=existing.get("created_at") if existing is not None else None)
    if not created:  # a concurrent preview of the same edit started it first
        jobs().release_slot(c.id, slot, job_id)
        return {"job_id": job_id, "count": "pending"}
    jobs().enqueue(c.id, job_id)
    return {"job_id": job_id, "count": "pending"}


def count_exact(c: Campaign, at: datetime) -> Estimate:
    """Every member of the 64 buckets, ``COUNT_THREADS`` readers in parallel (key Queries)."""
    today = at.date()
    match = c.matcher
    buckets = list(range(BUCKETS))

    def count(part: list[int]) -> tuple[int, int]:
        read = hit = 0
        for profile, loyalty in index().members(part):
            read += 1
            hit += bool(match(audience_profile(profile, loyalty, today=today)))
        return read, hit

    with ThreadPoolExecutor(max_workers=COUNT_THREADS) as pool:
        parts = list(pool.map(count, [buckets[i::COUNT_THREADS]
                                      for i in range(COUNT_THREADS)]))
    return {"size": sum(h for _, h in parts), "exact": True,
            "profiles_read": sum(r for r, _ in parts)}


class CountBusy(Unavailable):
    """Another worker holds this count's lease: the message is retried later (by then the
    count is done, or its lease lapsed and this one takes it over)."""


def run_job(campaign_id: str, job_id: str) -> dict[str, int]:
    """The worker side: claim, count at the preview's instant, record it once (a redelivery
    finds the job running elsewhere, raises to be retried, or finds it finished)."""
    from chalicelib.domain.campaigns.validate import parse_campaign
    from chalicelib.services import clock

    job = jobs().get(campaign_id, job_id)
    if job is None or job.get("status") not in ("pending", "running"):
        return {"preview_jobs": 0}
    if not jobs().claim(campaign_id, job_id, int(clock.now().timestamp())):
        again = jobs().get(campaign_id, job_id)
        if again is not None and again.get("status") == "running":
            raise CountBusy(f"preview count {job_id} is running elsewhere")
        return {"preview_jobs": 0}
    try:
        try:
            c = parse_campaign(job["doc"])
        except Exception as e:  # stored by preview, so valid; a schema change may break it
            jobs().finish(campaign_id, job_id, "failed", {"error": type(e).__name__},
                          clock.iso())
            return {"preview_jobs": 0}
        result = count_exact(c, _parse(job.get("at") or job["created_at"]))
        jobs().finish(campaign_id, job_id, "done", dict(result), clock.iso())
    finally:
        if job.get("slot") is not None:
            jobs().release_slot(campaign_id, int(job["slot"]), job_id)
    return {"preview_jobs": 1}


def handle_batch(event: dict[str, Any], context: Any = None) -> PartialItemFailureResponse:
    """The preview queue's function: SQS batch → partial batch response."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, processor=processor, context=context,
        record_handler=lambda record: handle_message(record.body))


def handle_message(body: str) -> dict[str, int] | None:
    """A delivery-queue body that asks for a count job, run; None for any other body."""
    job = job_message(body)
    return run_job(job["campaign_id"], job["job_id"]) if job else None


def job_status(campaign_id: str, job_id: str) -> dict[str, object]:
    """What the console polls: pending, then the exact audience (or failed)."""
    job = jobs().get(campaign_id, job_id)
    if job is None:
        raise NotFound(f"preview job {job_id} of campaign {campaign_id} not found")
    return {"campaign_id": campaign_id, "job_id": job_id, "status": job["status"],
            "estimate": job.get("estimate") or {}, "audience": job.get("result"),
            "created_at": job.get("created_at"), "finished_at": job.get("finished_at")}

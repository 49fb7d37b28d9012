"""Delivery use cases: the scheduled planner tick, the delivery queue worker, demo runs of
one campaign occurrence, and campaign stats, over the planner and worker that
``chalicelib/bootstrap.py`` wires; logic in the planner, the worker and ``domain/delivery``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.adapters.delivery.queues import DeliveryQueues
from chalicelib.adapters.delivery.repository import DeliveryRepository
from chalicelib.adapters.retries import with_retries
from chalicelib.config import get_settings
from chalicelib.domain.delivery import stats as stats_domain
from chalicelib.domain.delivery.views import CampaignStats
from chalicelib.domain.delivery.work import Entry
from chalicelib.errors import Conflict, NotFound
from chalicelib.observability import logger, metrics_add
from chalicelib.services import clock
from chalicelib.services.delivery.campaigns import CampaignSource
from chalicelib.services.delivery.planner import Planner, PlanReport
from chalicelib.services.delivery.worker import Worker
from chalicelib.services.deps import deps

ATTRIBUTION_DAYS = 7


def repo() -> DeliveryRepository:
    return deps().delivery


def campaigns() -> CampaignSource:
    return deps().campaign_source


def planner() -> Planner:
    return deps().planner


def worker() -> Worker:
    return deps().worker


def queues() -> DeliveryQueues:
    return deps().delivery_queues


def tick(now: datetime | None = None) -> PlanReport:
    """The scheduled planner run over (last run, now]; also counts the dead letters."""
    report = planner().run(now)
    report.dead_letters = dead_letters()
    logger().info("delivery planned", extra={"start": report.start, "end": report.end,
                                             "tasks": report.tasks, "entries": report.entries,
                                             "scans": report.scans,
                                             "deferred_due": report.deferred_due,
                                             "dead_letters": report.dead_letters})
    for queue, n in report.dead_letters.items():
        metrics_add("DeliveryDeadLetters" if queue == "delivery" else "EventDeadLetters", n)
    return report


def sweep_outbox(now: datetime | None = None) -> dict[str, int]:
    """The scheduled outbox sweep: re-send push/SMS/webhook entries left pending past their
    retry time (at least once, same message id); dead-letter them after the last try."""
    from chalicelib.services.delivery.outbox import Outbox

    w = worker()
    at = now or clock.now()
    return dict(Outbox(w.repo, w.channels, campaigns=w.campaigns,
                       day_of=lambda cid: results_day(cid, at)).sweep(now).__dict__)


def stop_outbox(entries: list[dict[str, str]], reason: str) -> int:
    """Finish pending outbox entries as failed with ``reason`` (an erasure): they leave the
    sweeper's index, the send record and the stats say why. Returns how many it finished."""
    done = 0
    for e in entries:
        done += bool(with_retries(partial(
            repo().outbox_finish, e["member_id"], e["campaign_id"], e["occurrence"],
            e["channel"], "failed", reason, stopped=True)))
    return done


def results_day(campaign_id: str, at: datetime | str) -> str | None:
    """The day a campaign's counters go to: ``at`` in the campaign's timezone (None when the
    campaign is gone: its occurrence counters are still kept)."""
    from chalicelib.domain.delivery.results import local_day

    c = campaigns().get(campaign_id)
    return local_day(at, c.timezone) if c is not None else None


def dead_letters() -> dict[str, int]:
    """Messages waiting in the delivery and events dead-letter queues (an alarm watches them;
    processing is idempotent, so they can be moved back to their queue and retried)."""
    return queues().dead_letters()


def handle_entry(body: str) -> dict[str, int]:
    """Process one delivery queue message body (raises to have it retried)."""
    from chalicelib.services.campaigns.preview import handle_message

    counted = handle_message(body)  # a preview's exact audience count rides this queue
    if counted is not None:
        return counted
    entry = Entry.parse(body)
    if entry.kind == "scan" and entry.scan is not None:
        return {"scanned": planner().scan(entry.scan, entry.sim)}
    return worker().run_tasks(entry.tasks, entry.sim)


def handle_batch(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """SQS batch → partial batch response (only failed messages are retried)."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(
        event=event, processor=processor, context=context,
        record_handler=lambda record: handle_entry(record.body)))


REHEARSAL_MAX_DAYS = 3  # a whole occurrence spans at most ~50 hours of time zones


def run_campaign(campaign_id: str, at: datetime, minutes: int | None = None, *,
                 catch_up: bool = True) -> PlanReport:
    """Plan one campaign's window of ``minutes`` ending at ``at`` through the scheduler's own
    planner path (demos, rehearsals): occurrences starting in it, and the campaign's members
    parked by an earlier run whose local time has come by ``at`` (``catch_up``: as far back
    as the scheduler catches up; else only those due in the window). Successive runs
    therefore walk an occurrence across time zones as the scheduler does, each member once
    (the send record drops repeats); quiet hours are judged at ``at``."""
    c = _runnable(campaign_id)
    span = timedelta(minutes=minutes or get_settings().schedule_minutes)
    since = at - timedelta(hours=planner().catchup_hours) if catch_up else None
    return planner().plan([c], at - span, at, deferred=True, sim=clock.iso(at),
                          deferred_since=since)


def rehearse(campaign_id: str, start: datetime, end: datetime, minutes: int | None = None,
             after_each: Callable[[PlanReport], None] | None = None) -> list[PlanReport]:
    """Walk ``start``..``end`` window by window, as the scheduler's runs would: one
    ``run_campaign`` per window ending at start, start + interval, ..., end. ``after_each``
    runs between windows (the CLI delivers the queue there, so a window's scan has parked the
    later time zones before the next window looks for them)."""
    from chalicelib.errors import ValidationFailed

    step = timedelta(minutes=minutes or get_settings().schedule_minutes)
    if end < start:
        raise ValidationFailed("--to is before --from",
                         details=[{"path": "/to", "message": "must not be before --from"}])
    if end - start > timedelta(days=REHEARSAL_MAX_DAYS):
        raise ValidationFailed(f"a rehearsal spans at most {REHEARSAL_MAX_DAYS} days",
                         details=[{"path": "/to", "message": "too far after --from"}])
    _runnable(campaign_id)
    reports, t = [], start
    while True:
        # the windows are contiguous, so each finds exactly the members due in it
        reports.append(run_campaign(campaign_id, t, minutes, catch_up=False))
        if after_each is not None:
            after_each(reports[-1])
        if t >= end:
            return reports
        t = min(end, t + step)


def _runnable(campaign_id: str) -> Any:
    c = campaigns().get(campaign_id, fresh=True)
    if c is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if c.status != "active":
        raise Conflict(f"campaign {campaign_id} is {c.status}: activate it first",
                       details=[{"path": "/status", "message": "must be active"}])
    return c


def campaign_stats(campaign_id: str) -> CampaignStats:
    """Counters per occurrence and in total, with lift and budget spent."""
    rows = repo().stats_rows(campaign_id)
    if not rows and campaigns().get(campaign_id) is None:
        raise NotFound(f"campaign {campaign_id} not found")
    by_occ: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_occ.setdefault(str(r.get("occurrence", "")), []).append(r)

    def view(counters: dict[str, int]) -> dict[str, Any]:
        return {**counters, **stats_domain.derived(counters)}

    totals = stats_domain.merge(rows)
    return CampaignStats.model_validate({
        "campaign_id": campaign_id, "totals": view(totals),
        "occurrences": [{"occurrence": o, **view(stats_domain.merge(rs))}
                        for o, rs in sorted(by_occ.items())],
        "budget_used": repo().budget_used(campaign_id),
        "attribution_days": ATTRIBUTION_DAYS, "journey": journey_summary(campaign_id)})


def journey_summary(campaign_id: str) -> dict[str, object] | None:
    """How many members entered a journey campaign, are at each wait, exited, completed."""
    from chalicelib.domain.campaigns.journeys import summary

    c = campaigns().get(campaign_id)
    if c is None or c.journey is None:
        return None
    return summary(c.journey, repo().journey_rows(campaign_id))

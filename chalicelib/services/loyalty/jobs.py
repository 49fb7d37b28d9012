"""Scheduled loyalty jobs: expire lots, review tiers. Key queries on sparse GSI1, no scans.

Both jobs walk local dates (program timezone) from their cursor up to today, query one
GSI1 key per date (``LOTEXP#<date>``, ``REVIEW#<date>``, each spread over date shards read
in parallel, see keys.DATE_SHARDS), and are idempotent: every
write is conditional, so a second run over the same dates changes nothing. Lots expire at
00:00 local time on their partition date, so every lot read on a due date is expired —
about one item read per lot expired. Balances are computed lazily from lots, so points
stop counting at their expiry instant even before the job sweeps them.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.adapters.loyalty.writes import Expiry, StaleWrite
from chalicelib.domain.loyalty import dates, tiers
from chalicelib.domain.loyalty.program import Program
from chalicelib.domain.loyalty.wallet import Lot, plan_expire
from chalicelib.errors import PerksError
from chalicelib.observability import logger, metrics_add
from chalicelib.services import clock
from chalicelib.services.loyalty import hooks as loyalty_hooks
from chalicelib.services.loyalty import perks
from chalicelib.services.loyalty import program as programs
from chalicelib.services.loyalty.loyalty import (
    entry,
    named,
    optimistic,
    repo,
    takes_summary,
    token,
)

FIRST_RUN_LOOKBACK_DAYS = 31
MAX_LOTS_PER_TRANSACTION = 90
MAX_ITEMS_PER_TRANSACTION = 100
EXPIRY_WORKERS = 4
JOB_BUDGET_SECONDS = 600.0  # without a Lambda context (local runner, CLI)
SAFETY_SECONDS = 60.0  # stop this long before the Lambda would time out
COUNTERS = {"downgrade": "downgraded", "retain": "retained", "upgrade": "upgraded"}


@dataclass
class JobReport:
    dates: list[str]
    members: int = 0
    lots: int = 0
    points: int = 0
    downgraded: int = 0
    retained: int = 0
    upgraded: int = 0
    failed: int = 0
    unfinished: str | None = None  # the date a run stopped in (time budget); resumed next run

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["dates"] = f"{self.dates[0]}..{self.dates[-1]}" if self.dates else ""
        return out

    def log_fields(self) -> dict[str, Any]:
        """Counts only: full dates in logs look like birthdates to the privacy scan."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("dates", "unfinished")}
        return {**out, "days": len(self.dates), "unfinished": self.unfinished is not None}


def _budget(seconds: float, lambda_context: Any) -> float:
    """Seconds a job may run: its budget, or what the Lambda has left minus a margin."""
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return seconds
    return max(1.0, min(seconds, remaining() / 1000 - SAFETY_SECONDS))


def _due_dates(job: str, today: date) -> list[str]:
    cur = repo().job_cursor(job)
    start = (date.fromisoformat(cur) if cur
             else today - timedelta(days=FIRST_RUN_LOOKBACK_DAYS))
    days = (today - start).days
    return [(start + timedelta(days=i)).isoformat() for i in range(max(days, 0) + 1)]


def _done(job: str, day: str, at: str) -> None:
    repo().job_done(job, day, at)


# --- expiry -----------------------------------------------------------------------------
def expire_due(now: datetime | None = None, *, workers: int = EXPIRY_WORKERS,
               budget_seconds: float = JOB_BUDGET_SECONDS, lambda_context: Any = None
               ) -> dict[str, Any]:
    """Expire what remains of every lot whose expiry date has come (program timezone).

    Members are packed several to a TransactWriteItems and written by ``workers`` threads;
    past ``budget_seconds`` the job stops between pages and the next run resumes the date
    (expired lots have left the index, so nothing is read twice).
    """
    now = now or clock.now()
    started, budget = time.monotonic(), _budget(budget_seconds, lambda_context)
    _, program = programs.current()
    today = dates.local_date(now, program.timezone)
    report = JobReport(_due_dates("expiry", today))
    now_iso = dates.iso(now)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for day in report.dates:
            for groups in repo().lot_expiry_pages(day):
                for members, lots, points, failed in pool.map(
                        lambda batch: _expire_batch(batch, now_iso), _pack(groups)):
                    report.members += members
                    report.lots += lots
                    report.points += points
                    report.failed += failed
                if time.monotonic() - started > budget:
                    break
            else:
                _done("expiry", day, now_iso)
                continue
            report.unfinished = day
            break
    if report.points:
        metrics_add("PointsExpired", report.points)
    logger().info("lot expiry done", extra={"job": report.log_fields()})
    return report.as_dict()


Group = tuple[str, list[Lot]]


def _pack(groups: list[Group]) -> list[list[Group]]:
    """Members into batches of at most 100 transaction items (lots + LOYALTY + ledger)."""
    batches: list[list[Group]] = []
    size = MAX_ITEMS_PER_TRANSACTION
    for member, lots in groups:
        need = len(lots) + 2
        if need > MAX_ITEMS_PER_TRANSACTION:
            batches.append([(member, lots)])  # expired on its own, in chunks
            continue
        if size + need > MAX_ITEMS_PER_TRANSACTION:
            batches.append([])
            size = 0
        batches[-1].append((member, lots))
        size += need
    return batches


def _expiry(member_id: str, lots: list[Lot], now_iso: str) -> Expiry | None:
    """The member's expiry of ``lots`` (what remains of the expired ones), or None."""
    takes = plan_expire(lots, now_iso)
    if not takes:
        return None
    n = sum(t.points for t in takes)
    return Expiry(member_id, takes, entry("expire", -n, "expired", now_iso,
                                          lots=takes_summary(takes)))


def _expire_batch(batch: list[Group], now_iso: str) -> tuple[int, int, int, int]:
    """(members, lots, points, failed members) for one batch; one request when all is well.

    Any failed condition (a lot spent since the index was read) cancels the batch, which
    is then redone member by member with fresh reads.
    """
    if len(batch) == 1 and len(batch[0][1]) + 2 > MAX_ITEMS_PER_TRANSACTION:
        return _expire_alone(*batch[0], now_iso)
    expiries = [x for x in (_expiry(m, member_lots, now_iso) for m, member_lots in batch) if x]
    if not expiries:
        return 0, 0, 0, 0
    try:
        repo().expire(expiries, token())
    except PerksError:
        out = [_expire_alone(m, member_lots, now_iso) for m, member_lots in batch]
        return tuple(sum(o[i] for o in out) for i in range(4))  # type: ignore[return-value]
    return (len(expiries), sum(len(x.takes) for x in expiries),
            sum(x.points for x in expiries), 0)


def _expire_alone(member_id: str, lots: list[Lot], now_iso: str) -> tuple[int, int, int, int]:
    try:
        n, pts = _expire_member(member_id, lots, now_iso)
    except PerksError:  # one member's trouble must not stop the others
        logger().warning("lot expiry failed", exc_info=True, extra={"member_id": member_id})
        return 0, 0, 0, 1
    return (1 if n else 0), n, pts, 0


def _expire_member(member_id: str, lots: list[Lot], now_iso: str) -> tuple[int, int]:
    count = points = 0
    for start in range(0, len(lots), MAX_LOTS_PER_TRANSACTION):
        chunk = lots[start:start + MAX_LOTS_PER_TRANSACTION]
        for attempt in range(5):
            expiry = _expiry(member_id, chunk, now_iso)
            if expiry is None:
                break
            try:
                repo().expire([expiry], token(), guard_lots=True)
            except StaleWrite:  # a lot was spent meanwhile (the index lags): re-read them
                if attempt == 4:
                    raise
                chunk = repo().lots_now(member_id, chunk)
                continue
            count += len(expiry.takes)
            points += expiry.points
            break
    return count, points


# --- tier review ------------------------------------------------------------------------
def review_due(now: datetime | None = None, *, budget_seconds: float = JOB_BUDGET_SECONDS,
               lambda_context: Any = None) -> dict[str, Any]:
    """Review every member whose review date has come: keep, or step down by policy.

    Reviewed members leave the date's partition (their next review is a year on), so a run
    stopped by its time budget resumes where it was on the next run.
    """
    now = now or clock.now()
    started, budget = time.monotonic(), _budget(budget_seconds, lambda_context)
    _, program = programs.current()
    today = dates.local_date(now, program.timezone)
    report = JobReport(_due_dates("review", today))
    for day in report.dates:
        for page in repo().review_pages(day):
            for member_id in page:
                _review_one(program, member_id, now, report)
            if time.monotonic() - started > budget:
                break
        else:
            _done("review", day, dates.iso(now))
            continue
        report.unfinished = day
        break
    if report.downgraded:
        metrics_add("TierDowngraded", report.downgraded)
    logger().info("tier review done", extra={"job": report.log_fields()})
    return report.as_dict()


def _review_one(program: Program, member_id: str, now: datetime, report: JobReport) -> None:
    try:
        kind = review_member(program, member_id, now)
    except PerksError:  # one member's trouble must not stop the others
        logger().warning("tier review failed", exc_info=True, extra={"member_id": member_id})
        report.failed += 1
        return
    if kind:
        report.members += 1
        attr = COUNTERS[kind]
        setattr(report, attr, getattr(report, attr) + 1)


def review_member(program: Program, member: str, now: datetime) -> str | None:
    """Apply one due review; returns its kind, or None when it was not (or no longer) due.

    The review index projects keys only, so the LOYALTY item is read from the table (one
    read per reviewed member, ~1 review a year per member)."""
    today = dates.local_date(now, program.timezone).isoformat()

    def attempt() -> str | None:
        state = repo().state(member)
        if not state.review_at or state.review_at > today:
            return None
        spend, orders = tiers.totals(state.window, now, program.timezone)
        change = tiers.review(program, state.tier, spend, orders, now)
        new = replace(state, tier=change.after, review_at=change.review_at,
                      tier_since=change.since or state.tier_since)
        now_iso = dates.iso(now)
        if change.changed:
            new = replace(new, tier_prev=change.before, tier_change=change.kind,
                          tier_changed_at=now_iso)
        upgrade = perks.on_upgrade(program, change, new, now)  # gifts, this month's coupons
        coupons: list[tuple[str, dict[str, Any]]] = list(upgrade.items)
        if change.kind == "upgrade":
            tier = program.tiers[program.tier_index(change.after)]
            for template in tier.benefits.coupon_templates:
                coupons += named(f"tier_coupon:{template}", loyalty_hooks.coupon_issue_items(
                    member, template, source="tier", ref=f"{member}:{tier.id}:{change.since}",
                    now=now_iso)[1])
        repo().save_state(upgrade.state, state.version, program.base.id, extra=coupons,
                          guarded=perks.GUARDED, token=token())
        perks.count_granted(upgrade)
        return change.kind

    return optimistic(attempt, attempts=10)

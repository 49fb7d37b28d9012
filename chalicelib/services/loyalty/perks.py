"""Tier perks that act (issue 13): upgrade gifts, monthly free-shipping coupons, the birthday
points multiplier, perk checks at publish, and the delivery caps the program configures.

- ``on_upgrade``: the perks an upgrade grants, as NAMED items for the upgrade's own
  transaction (an order's, or a tier review's): the tier's upgrade gift (once per member
  and tier: ``perk:gift``), this month's free-shipping coupons topped up to the new tier's
  count (``perk:month``), the gift's points folded into the LOYALTY state the caller writes,
  and the member's entry in the holders index (``perk:holder``). One extra read (the two
  grant records) on an upgrading order only; a lost race on a record re-runs the caller's
  attempt (``GUARDED``), which then sees the record and grants nothing twice.
- ``grant_monthly``: the scheduled job. Each run takes the member-local months that began
  since its last run (every IANA zone), reads the holders of those zones by key and tops
  each one's month up to their tier's count. Idempotent: a run stopped by its time budget,
  or run twice, issues nothing twice.
- ``birthday_bonus``: the multiplier an order earns with (1 outside the birthday window).
- ``delivery_caps``: frequency caps per cap class, from the live program over the defaults.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo import NamedItems, TransactionCancelled, retrying
from chalicelib.adapters.loyalty.perks import PerkRepository
from chalicelib.domain.loyalty import dates, perks
from chalicelib.domain.loyalty.program import Program, Tier
from chalicelib.domain.loyalty.state import LoyaltyState
from chalicelib.domain.loyalty.tiers import TierChange
from chalicelib.domain.loyalty.wallet import earn_split
from chalicelib.errors import PerksError
from chalicelib.observability import logger, metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps
from chalicelib.services.loyalty import hooks as loyalty_hooks
from chalicelib.services.loyalty import program as programs
from chalicelib.services.loyalty.loyalty import entry, new_lot, today_and_now

if TYPE_CHECKING:
    from chalicelib.domain.delivery.policy import Cap

GUARDED = frozenset({"perk:gift", "perk:month"})
FIRST_RUN_LOOKBACK_DAYS = 32  # the first run grants the month every zone is in
JOB_BUDGET_SECONDS = 600.0
SAFETY_SECONDS = 60.0
WORKERS = 8


def repo() -> PerkRepository:
    return deps().perks


def _token() -> str:
    return uuid.uuid4().hex


# --- upgrades ---------------------------------------------------------------------------

@dataclass(frozen=True)
class UpgradePerks:
    """What an upgrade adds to its transaction: the state to write (gift points credited)
    and the named items; ``granted`` names the grants (``gift:gold``, ``month:2026-05``)."""

    state: LoyaltyState
    items: NamedItems = field(default_factory=list)
    granted: tuple[str, ...] = ()


def on_upgrade(program: Program, change: TierChange | None, state: LoyaltyState,
               now: datetime) -> UpgradePerks:
    """The perks ``change`` grants (nothing unless it is an upgrade); ``state`` is the
    member's LOYALTY state after the change, as the caller is about to write it."""
    if change is None or change.kind != "upgrade":
        return UpgradePerks(state)
    member = state.member_id
    tier = program.tiers[program.tier_index(change.after)]
    tz = state.timezone or program.timezone
    now_iso = dates.iso(now)
    items = repo().holder_item(member, tz, now_iso)
    b = tier.benefits
    if b.upgrade_gift is None and not perks.has_monthly(b):
        return UpgradePerks(state, items)
    month = perks.month_of(now, tz)
    had = repo().records(member, tier.id, month)
    granted: list[str] = []
    for grant in (perks.gift_grant(member, tier.id, b, had.gift),
                  perks.month_grant(member, month, b, had.month_count)):
        if grant is None:
            continue
        coupon_items, grant = _coupons(member, grant, now_iso)
        if not grant.coupons and not grant.points:
            continue  # every template missing: nothing to record, a later grant may work
        if grant.points:
            state, point_items = _credit(program, state, grant.points, tier, now)
            items += point_items
        items += coupon_items + repo().grant_items(member, grant, now_iso)
        granted.append(grant.record)
    return UpgradePerks(state, items, tuple(granted))


def _coupons(member_id: str, grant: perks.Grant, now_iso: str
             ) -> tuple[NamedItems, perks.Grant]:
    """Items issuing the grant's coupons, and the grant with the coupons actually issued (a
    missing or ended template is skipped with a warning by the coupons service)."""
    items: NamedItems = []
    issued = []
    for template_id, ref in grant.coupons:
        _, extra = loyalty_hooks.coupon_issue_items(member_id, template_id, source="tier",
                                                    ref=ref, now=now_iso)
        if extra:
            issued.append((template_id, ref))
        tail = ref.rsplit(":", 2)
        items += [(f"perk:coupon:{tail[-2]}:{tail[-1]}:{n}", item)
                  for n, item in enumerate(extra)]
    return items, replace(grant, coupons=tuple(issued))


def _credit(program: Program, state: LoyaltyState, points: int, tier: Tier, now: datetime
            ) -> tuple[LoyaltyState, NamedItems]:
    """An upgrade gift's points, available at once: debt first, the rest in a new lot."""
    kept, repaid = earn_split(points, state.debt)
    today, now_iso = today_and_now(program, now)
    lot, day = new_lot(program, now, kept, today, f"perk:gift:{tier.id}") if kept \
        else (None, "")
    e = entry("earn", points, "upgrade gift", now_iso, tier=tier.id,
              lots=[{"lot_id": lot.lot_id, "points": kept}] if lot else [],
              debt_repaid=repaid or None)
    new = replace(state, points=state.points + points, debt=state.debt - repaid,
                  lifetime_earned=state.lifetime_earned + points)
    return new, repo().gift_points_items(state.member_id, lot, day, e, now_iso)


def count_granted(result: UpgradePerks) -> None:
    """Metrics once the upgrade's transaction committed."""
    for record in result.granted:
        metrics_add("TierGiftGranted" if record.startswith("gift:") else
                    "MonthlyPerkGranted")


# --- birthdays --------------------------------------------------------------------------

def birthday_bonus(program: Program, tier_id: str | None, profile: dict[str, Any] | None,
                   placed_at: datetime) -> Decimal:
    """The multiplier an order placed at ``placed_at`` earns with, on top of the tier's."""
    tier = program.tiers[program.tier_index(tier_id)]
    return perks.birthday_multiplier(tier.benefits, program.birthday_window, profile,
                                     placed_at, program.timezone)


# --- the monthly job --------------------------------------------------------------------

@dataclass
class MonthlyReport:
    zones: int = 0  # (time zone, month) starts covered
    members: int = 0  # holders read
    granted: int = 0  # members who got coupons
    coupons: int = 0
    dropped: int = 0  # holders back on the base tier, taken out of the index
    failed: int = 0
    unfinished: bool = False  # stopped by its time budget; the next run covers it again

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@cache
def all_zones() -> tuple[str, ...]:
    """Every IANA time zone a member may have (read from tzdata once per container)."""
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))


def _budget(seconds: float, lambda_context: Any) -> float:
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return seconds
    return max(1.0, min(seconds, remaining() / 1000 - SAFETY_SECONDS))


def grant_monthly(now: datetime | None = None, *, budget_seconds: float = JOB_BUDGET_SECONDS,
                  lambda_context: Any = None, zones: tuple[str, ...] | None = None
                  ) -> dict[str, Any]:
    """Grant this month's free-shipping coupons to the holders whose local month began since
    the last run; the cursor moves on only when every due zone was done."""
    now = now or clock.now()
    started, budget = time.monotonic(), _budget(budget_seconds, lambda_context)
    _, program = programs.current()
    cursor = repo().cursor()
    after = dates.parse(cursor) if cursor else now - timedelta(days=FIRST_RUN_LOOKBACK_DAYS)
    report = MonthlyReport()
    if any(perks.has_monthly(t.benefits) for t in program.tiers):
        for tz, month in perks.month_starts(zones or all_zones(), after, now):
            if perks.month_of(now, tz) != month:
                continue  # caught up after that month ended: its coupons are not due now
            report.zones += 1
            if not _grant_zone(program, tz, month, now, report, started + budget):
                report.unfinished = True
                break
    if not report.unfinished:
        repo().save_cursor(dates.iso(now))
    if report.coupons:
        metrics_add("MonthlyPerkGranted", report.granted)
    logger().info("monthly perks done", extra={"job": report.as_dict()})
    return report.as_dict()


def _grant_zone(program: Program, tz: str, month: str, now: datetime, report: MonthlyReport,
                deadline: float) -> bool:
    """Every holder of ``tz``; False when the time budget ran out first."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for page in repo().holder_pages(tz):
            for coupons, dropped, failed in pool.map(
                    lambda m: _grant_one(program, m, tz, month, now), page):
                report.members += 1
                report.granted += 1 if coupons else 0
                report.coupons += coupons
                report.dropped += dropped
                report.failed += failed
            if time.monotonic() > deadline:
                return False
    return True


def _grant_one(program: Program, member_id: str, tz: str, month: str, now: datetime
               ) -> tuple[int, int, int]:
    """(coupons issued, 1 if dropped from the index, 1 if failed) for one holder."""
    try:
        coupons, dropped = grant_month(program, member_id, tz, month, now)
    except PerksError:  # one member's trouble must not stop the others
        logger().warning("monthly perk failed", exc_info=True, extra={"member_id": member_id})
        return 0, 0, 1
    return coupons, int(dropped), 0


def grant_month(program: Program, member_id: str, tz: str, month: str, now: datetime
                ) -> tuple[int, bool]:
    """Top the member's ``month`` up to their tier's free-shipping count: (coupons issued,
    whether the member left the index being back on the base tier). Exactly once per
    member-month: the month record moves only from the count read."""
    now_iso = dates.iso(now)

    def attempt() -> tuple[int, bool]:
        facts = repo().month_facts(member_id, month)
        idx = program.tier_index(facts.tier)
        if idx == 0:
            repo().drop_holder(member_id, facts.version, _token())
            return 0, True
        grant = perks.month_grant(member_id, month, program.tiers[idx].benefits,
                                  facts.month_count)
        if grant is None:
            return 0, False
        items, grant = _coupons(member_id, grant, now_iso)
        if not grant.coupons:
            return 0, False
        if facts.timezone and facts.timezone != tz:  # moved: be found in the new zone
            items += repo().holder_item(member_id, facts.timezone, now_iso)
        repo().transact(items + repo().grant_items(member_id, grant, now_iso), _token())
        return len(grant.coupons), False

    result: tuple[int, bool] = retrying(attempt, attempts=5, retry_on=(TransactionCancelled,))
    return result


def backfill_holders() -> int:
    """Put every member above the base tier into the holders index (once, when tier perks
    are deployed; later upgrades index themselves). Reads the member index by key."""
    from chalicelib.adapters.members.index import BUCKETS

    _, program = programs.current()
    holders = [(str(profile["member_id"]),
                str(loyalty.get("timezone") or profile.get("timezone") or program.timezone))
               for profile, loyalty in deps().member_index.members(range(BUCKETS))
               if loyalty and program.tier_index(loyalty.get("tier")) > 0]
    return repo().put_holders(holders, clock.iso())


# --- the program ------------------------------------------------------------------------

def delivery_caps() -> dict[str, Cap]:
    """Frequency caps per cap class: the live program's ``caps`` over the defaults."""
    from chalicelib.domain.delivery.policy import DEFAULT_CAPS, Cap

    _, program = programs.current()
    caps = dict(DEFAULT_CAPS)
    for cap_class, limits in (program.caps or {}).items():
        caps[str(cap_class)] = Cap(per_day=limits.per_day, per_week=limits.per_week)
    return caps

"""Campaign results for the console: daily counters of a date range (one key Query over the
campaign partition, never a Scan), per variant, lift over the holdout with its 95 %
interval, CSV export; and the campaign list's live columns (next occurrence, budget used,
the last 7 days' delivered/redeemed), read for a whole page with a bounded BatchGetItem.
Per arm (each variant and the holdout): intervals and the sample-ratio-mismatch check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from chalicelib.domain.campaigns.model import Campaign
from chalicelib.domain.delivery import arms as arm_stats
from chalicelib.domain.delivery import results as domain
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.services import clock
from chalicelib.services.deps import deps


def _campaign(campaign_id: str) -> Campaign:
    # Through the wired campaign source (campaigns.get_campaign), not an import of the
    # campaigns service: that service imports this module for its list columns.
    c = deps().campaign_source.get(campaign_id, fresh=True)
    if c is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return c


class CampaignResults(domain.Results, arm_stats.ArmSummary):
    campaign_id: str
    name: str
    timezone: str
    holdout_percent: float
    budget_used: dict[str, int]
    # journeys: entered, active (at a wait), exited, completed and per-step counts
    journey: dict[str, object] | None


def results(campaign_id: str, first: str | None, last: str | None) -> CampaignResults:
    """Per day, totals, per variant and lift for ``first``..``last`` (campaign-timezone
    days; default: the last 30 days up to today)."""
    c = _campaign(campaign_id)
    span = domain.day_range(first, last, domain.local_day(clock.now(), c.timezone))
    if isinstance(span, str):
        raise ValidationFailed(span, details=[{"path": "/from" if "from" in span else "/to",
                                               "message": span}])
    rows = deps().delivery.day_rows(campaign_id, *span)
    arms = [v.id for v in c.experiment.variants] if c.experiment else []
    return {"campaign_id": campaign_id, "name": c.name, "timezone": c.timezone,
            "holdout_percent": c.experiment.holdout_percent if c.experiment else 0,
            "budget_used": deps().delivery.budget_used(campaign_id),
            "journey": _journey(c),
            **domain.assemble(rows, *span, variants=arms),
            # per arm (each variant and the holdout) with intervals, and the SRM check
            **arm_stats.summary(rows, *span, *_split(c))}


def _journey(c: Campaign) -> dict[str, object] | None:
    """The journey's step counters (one Query of its shards), None for other campaigns."""
    from chalicelib.domain.campaigns.journeys import summary

    if c.journey is None:
        return None
    return summary(c.journey, deps().delivery.journey_rows(c.id))


def _split(c: Campaign) -> tuple[float, list[tuple[str, int]]]:
    """The configured split: holdout percent and (variant, weight) pairs."""
    if c.experiment is None:
        return 0.0, []
    return c.experiment.holdout_percent, [(v.id, v.weight) for v in c.experiment.variants]


def arm_results(campaign_id: str, first: str | None = None, last: str | None = None
                ) -> dict[str, object]:
    """Per arm and the SRM check (``perks campaigns stats``): ``first``..``last``, by default
    the whole campaign so far (its first day, at most 366 days back, up to today)."""
    c = _campaign(campaign_id)
    span = arm_stats.span(domain.local_day(c.starts_at, c.timezone),
                          domain.local_day(clock.now(), c.timezone), first, last)
    if isinstance(span, str):
        raise ValidationFailed(span, details=[{"path": "/from" if "from" in span else "/to",
                                               "message": span}])
    rows = deps().delivery.day_rows(campaign_id, *span)
    return {"from": span[0], "to": span[1], "timezone": c.timezone,
            **arm_stats.summary(rows, *span, *_split(c))}


def results_csv(campaign_id: str, first: str | None, last: str | None) -> tuple[str, str]:
    """(file name, CSV text) of the daily counters; counters only, no member data."""
    r = results(campaign_id, first, last)
    return f"{campaign_id}-results-{r['from']}-{r['to']}.csv", domain.to_csv(r)


def list_columns(items: Sequence[Mapping[str, object]]) -> dict[str, dict[str, object]]:
    """Live columns for a page of stored campaign items (CURRENT, with ``doc``): next
    occurrence (computed from the definition), budget used and the 7-day sparkline, all
    from one batched read (ceil(27 x page size / 100) BatchGetItem requests)."""
    from chalicelib.domain.campaigns.validate import parse_campaign

    now = clock.now()
    ids = [str(i["campaign_id"]) for i in items]
    got = deps().delivery.activity(ids)
    out: dict[str, dict[str, object]] = {}
    for item in items:
        cid = str(item["campaign_id"])
        tz, nxt = "Asia/Shanghai", None
        try:
            c = parse_campaign(item.get("doc") or {})
            tz = c.timezone
            if c.status in ("active", "draft", "paused"):
                nxt = _next(c, now)
        except Exception:  # a stored definition that no longer parses: no live columns
            c = None
        a = got.get(cid, {"budget_used": {}, "recent": []})
        out[cid] = {"next_occurrence": nxt, "budget_used": a["budget_used"],
                    "budget": c.budget.model_dump(exclude_none=True) if c and c.budget else None,
                    "recent": domain.recent(a["recent"], domain.local_day(now, tz))}
    return out


def _next(c: Campaign, now: datetime) -> str | None:
    """The next fire in the campaign timezone (event and birthday triggers fire per member:
    None)."""
    from chalicelib.domain.campaigns.occurrences import campaign_upcoming

    try:
        occ = campaign_upcoming(c, now, 1)
    except (TypeError, ValueError):
        return None
    return occ[0].local.isoformat() if occ else None

"""Points for activities: the program's ``activities`` section and the cap decision. Pure.

The service role posts an event (review written, profile completed, store visit …) with a
natural key. The program says what each type earns and how many awarded events a member may
have per member-local day and month; an event over a cap is recorded with 0 points and the
reason ``CAP_DAILY`` or ``CAP_MONTHLY``. A natural key counts once, forever.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

from chalicelib.domain.models import Out, Strict, length
from chalicelib.errors import ValidationFailed

ActivityType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
NaturalKey = Annotated[str, StringConstraints(min_length=1, max_length=200,
                                              pattern=r"^[\x21-\x7e]+$")]
MemberId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
MAX_STATS_DAYS = 92
CAP_DAILY = "CAP_DAILY"
CAP_MONTHLY = "CAP_MONTHLY"


class ActivityRule(Strict):
    """What one activity type earns, and its caps (awarded events per member)."""

    name: Annotated[str, length(0, 100)] = ""
    points: int = Field(ge=1, le=1_000_000)
    daily_cap: int | None = Field(None, ge=1, le=10_000,
                                  description="awarded events per member-local day")
    monthly_cap: int | None = Field(None, ge=1, le=100_000,
                                    description="awarded events per member-local month")


class ActivitiesProgram(Strict):
    """campaigns/program.json ``activities``: rules by activity type."""

    types: dict[ActivityType, ActivityRule] = Field(default_factory=dict, max_length=100)
    max_age_days: int = Field(30, ge=0, le=366,
                              description="events that occurred longer ago are refused")

    def rule(self, activity_type: str) -> ActivityRule | None:
        return self.types.get(activity_type)

    def suggest(self, activity_type: str) -> str:
        """A did-you-mean hint for an unknown type."""
        names = sorted(self.types)
        close = difflib.get_close_matches(activity_type, names, n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'?"
        return ("known: " + ", ".join(names[:20])) if names else "no activity types are defined"


@dataclass(frozen=True)
class Decision:
    """Points to award (0 when capped) and why not (None when awarded)."""

    points: int
    reason: str | None = None


def decide(rule: ActivityRule, day_count: int, month_count: int) -> Decision:
    """Award unless the member's awarded events today / this month reach the caps."""
    if rule.daily_cap is not None and day_count >= rule.daily_cap:
        return Decision(0, CAP_DAILY)
    if rule.monthly_cap is not None and month_count >= rule.monthly_cap:
        return Decision(0, CAP_MONTHLY)
    return Decision(rule.points)


def stats_range(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """The days a stats read covers: ``first``..``last`` (default: the last 30 days), at
    most MAX_STATS_DAYS; 400 with the query path otherwise."""
    try:
        hi = date.fromisoformat(last) if last else today
        lo = date.fromisoformat(first) if first else hi - timedelta(days=29)
    except ValueError:
        raise ValidationFailed("from and to must be dates (YYYY-MM-DD)", details=[
            {"path": "/query/from", "message": "YYYY-MM-DD"}]) from None
    if lo > hi or (hi - lo).days >= MAX_STATS_DAYS:
        raise ValidationFailed(f"from..to must be 1 to {MAX_STATS_DAYS} days", details=[
            {"path": "/query/from", "message": f"on or before to, at most {MAX_STATS_DAYS} "
                                               "days before it"}])
    return lo, hi


# --- API bodies ---------------------------------------------------------------------
class ActivityEvent(Strict):
    """POST /activities: an activity the member did (the natural key dedupes, forever)."""

    member_id: MemberId
    type: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    natural_key: NaturalKey
    occurred_at: AwareDatetime


class ActivityResult(Out):
    member_id: str
    type: str
    natural_key: str
    occurred_at: str
    local_date: str
    points: int
    reason: str | None = Field(None, description="CAP_DAILY or CAP_MONTHLY: 0 points")
    recorded_at: str


class ActivityTypeStats(Out):
    events: int = 0
    awarded: int = 0
    capped: int = 0
    points: int = 0


class ActivityStatsDay(Out):
    date: str
    types: dict[str, ActivityTypeStats]


class ActivityStats(Out):
    first: str
    last: str
    days: list[ActivityStatsDay]
    totals: dict[str, ActivityTypeStats]

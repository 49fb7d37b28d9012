"""Points for activities: the service role posts events; marketers read stats."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import Role
from chalicelib.api.checkins import STATS_QUERY
from chalicelib.api.http import Api, Ctx, Status
from chalicelib.domain.loyalty.activities import ActivityEvent, ActivityResult, ActivityStats
from chalicelib.services.loyalty import activities

bp = Blueprint(__name__)
api = Api(bp)


@api.route("POST", "/activities", roles=(Role.service,), body=ActivityEvent,
           response=ActivityResult, status=201, also=(200,), errors=(400, 404, 409, 422))
def post_activity(ctx: Ctx, body: ActivityEvent) -> Status:
    """Record an activity: points per the program, within its caps; a natural key seen
    before answers the first result with 200."""
    result, created = activities.record(body)
    return Status(201 if created else 200, result)


@api.route("GET", "/admin/activities/stats", roles=(Role.marketer, Role.admin),
           response=ActivityStats, query=STATS_QUERY, errors=(400,))
def activity_stats(ctx: Ctx) -> ActivityStats:
    """Events, awarded, capped and points per day and activity type."""
    return activities.stats(ctx.query.get("from"), ctx.query.get("to"))

"""Daily check-in (签到): member check-in, make-up cards, calendar; marketer stats."""

from __future__ import annotations

import re

from chalice import Blueprint

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx, Status
from chalicelib.domain.engagement.views import (
    CheckinCalendar,
    CheckinDay,
    CheckinStats,
    MakeupRequest,
)
from chalicelib.errors import ValidationFailed
from chalicelib.services.engagement import checkins

bp = Blueprint(__name__)
api = Api(bp)
MARKETING = (Role.marketer, Role.admin)
STATS_QUERY = {"from": "first day, YYYY-MM-DD (default: 29 days before to)",
               "to": "last day, YYYY-MM-DD (default: today, program timezone)"}


def month_param(ctx: Ctx) -> str | None:
    raw = ctx.query.get("month") or None
    if raw is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", raw):
        raise ValidationFailed("month must be YYYY-MM", details=[
            {"path": "/query/month", "message": "YYYY-MM"}])
    return raw


@api.route("POST", "/me/checkins", roles=(Role.member,), response=CheckinDay, status=201,
           also=(200,), errors=(404, 409, 422))
def check_in(ctx: Ctx) -> Status:
    """Check in for today (member-local); a second tap answers the first record with 200."""
    out = checkins.check_in(ctx.sub)
    return Status(201 if out.created else 200, out.day)


@api.route("POST", "/me/checkins/makeup", roles=(Role.member,), body=MakeupRequest,
           response=CheckinDay, status=201, also=(200,), errors=(400, 404, 409, 422))
def make_up(ctx: Ctx, body: MakeupRequest) -> Status:
    """Fill a missed day of this month with a make-up card (补签卡) paid in points."""
    out = checkins.make_up(ctx.sub, body.date)
    return Status(201 if out.created else 200, out.day)


@api.route("GET", "/me/checkins", roles=(Role.member,), response=CheckinCalendar,
           query={"month": "YYYY-MM (default: this month, member-local)"},
           errors=(400, 404, 422))
def my_checkins(ctx: Ctx) -> CheckinCalendar:
    """The month's calendar: days checked in or made up, today, streak, next reward."""
    return checkins.calendar(ctx.sub, month_param(ctx))


@api.route("GET", "/admin/checkins/stats", roles=MARKETING, response=CheckinStats,
           query=STATS_QUERY, errors=(400,))
def checkin_stats(ctx: Ctx) -> CheckinStats:
    """Check-ins, make-ups, points awarded and spent, coupons issued: per day."""
    return checkins.stats(ctx.query.get("from"), ctx.query.get("to"))

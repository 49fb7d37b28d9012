"""The campaign document marketers write as JSON. Pure pydantic v2; the JSON Schema
committed as ``campaigns/schema.json`` is generated from these classes (see ``schema.py``).

Structural rules live here; cross-field rules that need a precise JSON path (an event
parameter that belongs to another event type, a variant id used twice, an unknown holiday)
live in ``validate.py``, which is the entry point for untrusted JSON::

    from chalicelib.domain.campaigns.validate import parse_campaign
    campaign = parse_campaign(data)          # raises ValidationFailed with [{path, message, hint}]

Times: ``window.start``/``window.end`` and ``once.at`` carry an offset (or are read in the
campaign ``timezone`` when they do not); wall-clock times of day (``at``, quiet hours) are
``HH:MM`` and mean member local time when ``local_time`` is true, else campaign time.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    PlainSerializer,
    StringConstraints,
    Tag,
    WithJsonSchema,
    model_validator,
)

from chalicelib.domain.members.model import Locale, Timezone
from chalicelib.domain.models import MultiLine, OneLine, Strict, length

if TYPE_CHECKING:  # audience.py is imported on first use (compile_audience)
    from chalicelib.domain.campaigns.audience import Matcher

CAMPAIGN_ID_RE = r"^[a-z0-9][a-z0-9-]{1,63}$"
CampaignId = Annotated[str, StringConstraints(pattern=CAMPAIGN_ID_RE)]
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Text = Annotated[str, length(1, 2000), MultiLine]
ShortText = Annotated[str, length(1, 200), OneLine]
LinkText = Annotated[str, length(1, 500), OneLine]
HtmlText = Annotated[str, length(1, 10_000), MultiLine]  # an email's html template
DaysBefore = Annotated[int, Field(ge=0, le=60)]
DrawRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]  # a draw id


def _campaign_year(value: datetime) -> datetime:
    if not 2000 <= value.year <= 2100:
        raise ValueError("must be a date between the years 2000 and 2100")
    return value


# Campaign dates: ISO 8601, with an offset or (read in the campaign timezone) without.
CampaignTime = Annotated[datetime, AfterValidator(_campaign_year)]
def _whole_minute(t: time) -> time:
    # Shown (and stored) as HH:MM: seconds or an offset would be dropped silently.
    if t.second or t.microsecond or t.tzinfo is not None:
        raise ValueError("write the time of day as HH:MM (no seconds, no offset)")
    return t


# A wall-clock time of day, written and shown as "HH:MM".
WallTime = Annotated[time, AfterValidator(_whole_minute),
                     PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str,
                                     when_used="json")]
NonNegative = Annotated[int, Field(ge=0)]


def _exact_decimal(value: object) -> Decimal:
    """JSON numbers arrive as float (json.loads) or Decimal (DynamoDB); str() of either is
    the decimal the marketer wrote (1.15 -> '1.15'), so the multiplier is exact, never the
    binary float 1.149999…"""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return Decimal(str(value))
    raise ValueError("must be a number, e.g. 1.5")


# A points multiplier: an exact decimal (at most 4 places), written and stored as a number.
Multiplier = Annotated[
    Decimal, BeforeValidator(_exact_decimal), Field(gt=0, le=20, decimal_places=4),
    PlainSerializer(lambda d: int(d) if d == d.to_integral_value() else float(d),
                    return_type=int | float, when_used="json"),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 20})]


class Status(StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    ended = "ended"


# Allowed status changes; staying in the same status is always allowed.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.draft: frozenset({Status.active, Status.ended}),
    Status.active: frozenset({Status.paused, Status.ended}),
    Status.paused: frozenset({Status.active, Status.ended}),
    Status.ended: frozenset(),
}


class Window(Strict):
    """When the campaign may fire: [start, end]. Without an offset, read in ``timezone``."""

    start: CampaignTime
    end: CampaignTime | None = None


# --- triggers ------------------------------------------------------------------------------

class Once(Strict):
    """Fire once at ``at``. With ``local_time``, ``at`` is a wall-clock time (no offset)
    reached in each member's own timezone."""

    type: Literal["once"]
    at: CampaignTime
    local_time: bool = False


class Recurring(Strict):
    """Fire on a 5-field cron schedule (minute hour day-of-month month day-of-week)."""

    type: Literal["recurring"]
    cron: Annotated[str, StringConstraints(min_length=6, max_length=120)]
    local_time: bool = False


class Birthday(Strict):
    """Fire ``days_before`` a member's birthday at ``at``; 29 February birthdays are
    celebrated on 28 February in common years."""

    type: Literal["birthday"]
    at: WallTime = time(9, 0)
    days_before: DaysBefore = 0
    local_time: bool = True


HolidayName = Annotated[str, StringConstraints(min_length=1, max_length=80)]
Steps = Annotated[int, Field(ge=1, le=30)]


class HolidayRule(Strict):
    """A day found from a holiday: ``offset_days`` calendar days after it (negative: before),
    or its ``working_day_after``-th / ``working_day_before``-th official working day (调休
    included), e.g. ``{"holiday": "国庆节", "working_day_after": 1}``: back to work after 国庆."""

    holiday: HolidayName
    offset_days: Annotated[int, Field(ge=-60, le=60)] = 0
    working_day_after: Steps | None = None
    working_day_before: Steps | None = None

    @model_validator(mode="after")
    def _one_shift(self) -> HolidayRule:
        shifts = [self.offset_days != 0, self.working_day_after is not None,
                  self.working_day_before is not None]
        if sum(shifts) > 1:
            raise ValueError("give at most one of offset_days, working_day_after, "
                             "working_day_before")
        return self

    @property
    def label(self) -> str:
        """How previews name the rule: '国庆节 +1 working day', '七夕节 -3 days'."""
        if self.working_day_after is not None:
            return f"{self.holiday} +{self.working_day_after} working day"
        if self.working_day_before is not None:
            return f"{self.holiday} -{self.working_day_before} working day"
        return f"{self.holiday} {self.offset_days:+d} days" if self.offset_days else self.holiday


def _ref_kind(value: object) -> str | None:
    if isinstance(value, str):
        return "holiday-name"
    return "holiday-rule" if isinstance(value, (dict, HolidayRule)) else None


# Tags of the HolidayRef union (pydantic puts them into error locations; validate drops them).
REF_TAGS = frozenset({"holiday-name", "holiday-rule"})
# A holiday name (Chinese or English, festivals and solar terms included), an explicit date
# ("2026-11-11", "--11-11"), or a rule relative to one of them.
HolidayRef = Annotated[
    Annotated[HolidayName, Tag("holiday-name")] | Annotated[HolidayRule, Tag("holiday-rule")],
    Discriminator(_ref_kind, custom_error_type="holiday_ref",
                  custom_error_message="write a holiday name or date in quotes, or a rule "
                  "object such as {\"holiday\": \"国庆节\", \"working_day_after\": 1}")]


class Holiday(Strict):
    """Fire ``days_before`` named holidays of ``calendar`` (public holidays of that country;
    traditional festivals, solar terms and retail days in any calendar), explicit dates
    (``"2026-11-11"`` that day, ``"--11-11"`` every year), or days relative to them
    (``{"holiday": "国庆节", "working_day_after": 1}``)."""

    type: Literal["holiday"]
    calendar: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,3}$")] = "CN"
    holidays: Annotated[list[HolidayRef], Field(min_length=1, max_length=30)]
    at: WallTime = time(9, 0)
    days_before: DaysBefore = 0
    local_time: bool = True


class EventType(StrEnum):
    signup = "signup"
    first_order = "first_order"
    order = "order"
    tier_upgrade = "tier_upgrade"
    tier_downgrade = "tier_downgrade"
    points_expiring = "points_expiring"
    inactive = "inactive"


class EventParams(Strict):
    """Conditions on the event itself; which ones apply depends on the event type."""

    inactive_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    min_order_total: Annotated[int, Field(ge=0)] | None = None
    days_before_expiry: Annotated[int, Field(ge=1, le=365)] | None = None
    to_tiers: Annotated[list[Ident], Field(min_length=1, max_length=20)] | None = None


# Which params each event type accepts, and which it requires.
EVENT_PARAMS: dict[EventType, tuple[frozenset[str], frozenset[str]]] = {
    EventType.signup: (frozenset(), frozenset()),
    EventType.first_order: (frozenset({"min_order_total"}), frozenset()),
    EventType.order: (frozenset({"min_order_total"}), frozenset()),
    EventType.tier_upgrade: (frozenset({"to_tiers"}), frozenset()),
    EventType.tier_downgrade: (frozenset({"to_tiers"}), frozenset()),
    EventType.points_expiring: (frozenset({"days_before_expiry"}),
                                frozenset({"days_before_expiry"})),
    EventType.inactive: (frozenset({"inactive_days"}), frozenset({"inactive_days"})),
}


class Event(Strict):
    """Fire when a member event happens (delivery evaluates it within seconds)."""

    type: Literal["event"]
    event: EventType
    params: EventParams = EventParams()


Trigger = Annotated[Once | Recurring | Birthday | Holiday | Event, Field(discriminator="type")]
TimeTrigger = Once | Recurring | Birthday | Holiday


# --- actions -------------------------------------------------------------------------------

class CouponChoice(Strict):
    """The template of ``best_of`` that fits the member best (the coupon center's ranking:
    category affinity, basket size against the threshold, tier; docs/coupons.md)."""

    best_of: Annotated[list[Ident], Field(min_length=2, max_length=10)]

    @model_validator(mode="after")
    def _once_each(self) -> CouponChoice:
        if len(set(self.best_of)) != len(self.best_of):
            raise ValueError("list each template once")
        return self


class IssueCoupon(Strict):
    """Issue ``quantity`` coupons of a coupon template to the member: ``template``, or the
    best-fitting one of a list, ``coupon: {"best_of": [...]}``."""

    type: Literal["issue_coupon"]
    template: Ident | None = None
    coupon: CouponChoice | None = None
    quantity: Annotated[int, Field(ge=1, le=10)] = 1

    @model_validator(mode="after")
    def _one_of(self) -> IssueCoupon:
        if (self.template is None) == (self.coupon is None):
            raise ValueError("give exactly one of template or coupon (best_of)")
        return self

    def candidates(self) -> tuple[str, ...]:
        """The template, or the templates delivery chooses from."""
        if self.coupon is not None:
            return tuple(self.coupon.best_of)
        return (self.template,) if self.template else ()


class AwardPoints(Strict):
    """Award fixed ``points``, or ``multiplier`` times the points an order earns (order events)."""

    type: Literal["award_points"]
    points: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    multiplier: Multiplier | None = None
    reason: ShortText | None = None

    @model_validator(mode="after")
    def _one_of(self) -> AwardPoints:
        if (self.points is None) == (self.multiplier is None):
            raise ValueError("give exactly one of points or multiplier")
        return self


class Channel(StrEnum):
    push = "push"
    sms = "sms"
    inbox = "inbox"
    webhook = "webhook"
    email = "email"


class EmailContent(Strict):
    """The email channel's own texts for one locale: ``subject``, an ``html`` body (at most
    10,000 characters: placeholders are HTML-escaped) and a plain ``text`` body. Without
    them an email uses the message's title (subject) and body (text; html from the text)."""

    subject: ShortText
    html: HtmlText | None = None
    text: Text | None = None


class Content(Strict):
    """One locale's message; ``{{ placeholders }}`` are rendered per member."""

    title: ShortText
    body: Text
    deep_link: LinkText | None = None
    email: EmailContent | None = None

    def texts(self) -> list[tuple[str, str]]:
        """(JSON path below the content, template text) of every text that is rendered."""
        out = [(f, getattr(self, f)) for f in ("title", "body", "deep_link") if getattr(self, f)]
        if self.email is not None:
            out += [(f"email/{f}", getattr(self.email, f)) for f in ("subject", "html", "text")
                    if getattr(self.email, f)]
        return out


class Message(Strict):
    """Send a message on ``channels``; content per locale, ``fallback`` locale otherwise."""

    type: Literal["message"]
    channels: Annotated[list[Channel], Field(min_length=1, max_length=5)]
    content: Annotated[dict[Locale, Content], Field(min_length=1, max_length=20)]
    fallback: Locale = "zh-CN"


class DrawEntries(Strict):
    """Grant ``count`` entries of a lucky draw (``campaigns/draws/<draw>.json``): the member
    uses them before points, and one delivery grants them once (docs/draws.md). They cost
    the campaign nothing; prizes are paid from the draw's own stock and budget."""

    type: Literal["draw_entries"]
    draw: DrawRef
    count: Annotated[int, Field(ge=1, le=100)] = 1


Action = Annotated[IssueCoupon | AwardPoints | Message | DrawEntries,
                   Field(discriminator="type")]


# --- journeys (multi-step campaigns; execution rules in journeys.py) -----------------------

StepId = Ident


class ActionStep(Strict):
    """Do ``actions`` (coupon, points, message: the campaign actions), then go on to ``next``
    (default: the step that follows in the list)."""

    id: StepId
    type: Literal["action"]
    actions: Annotated[list[Action], Field(min_length=1, max_length=10)]
    next: StepId | None = None


class WaitStep(Strict):
    """Wait ``days`` or ``hours``; with ``at`` (days only), until that time of day in the
    member's own timezone on the day the wait ends."""

    id: StepId
    type: Literal["wait"]
    days: Annotated[int, Field(ge=1, le=365)] | None = None
    hours: Annotated[int, Field(ge=1, le=8760)] | None = None
    at: WallTime | None = None
    next: StepId | None = None

    @model_validator(mode="after")
    def _one_of(self) -> WaitStep:
        if (self.days is None) == (self.hours is None):
            raise ValueError("give exactly one of days or hours")
        if self.at is not None and self.days is None:
            raise ValueError("'at' needs days (a member-local time on the day the wait ends)")
        return self


class BranchStep(Strict):
    """Go to ``then`` when ``if`` holds, else to ``else``. ``if`` is an audience expression
    on member facts, or what happened since entry: ``{"event": "coupon_redeemed",
    "of_step": "<action step>"}`` / ``{"event": "ordered"}``."""

    model_config = Strict.model_config | {"serialize_by_alias": True, "populate_by_name": True}

    id: StepId
    type: Literal["branch"]
    if_: dict[str, object] = Field(alias="if")
    then: StepId
    else_: StepId = Field(alias="else")


class ExitStep(Strict):
    """Leave the journey here (counted as exited; falling off the last step is completed)."""

    id: StepId
    type: Literal["exit"]


Step = Annotated[ActionStep | WaitStep | BranchStep | ExitStep, Field(discriminator="type")]


class ReentryAfter(Strict):
    """A member may enter again ``after_days`` days after their previous entry, once that
    one has ended."""

    after_days: Annotated[int, Field(ge=1, le=3650)]


class Journey(Strict):
    """Steps a member walks through once per entry: actions, waits, branches, exits. Entry is
    the campaign trigger (event, or audience + schedule)."""

    entry: StepId | None = None
    steps: Annotated[list[Step], Field(min_length=1, max_length=50)]
    reentry: Literal["never"] | ReentryAfter = "never"

    @property
    def entry_step(self) -> str:
        return self.entry or self.steps[0].id


# --- limits, budget, delivery, experiment ---------------------------------------------------

class Period(StrEnum):
    campaign = "campaign"
    day = "day"
    week = "week"
    month = "month"
    year = "year"


class Limits(Strict):
    """At most ``per_member`` deliveries to one member per ``period`` (campaign = ever)."""

    per_member: Annotated[int, Field(ge=1, le=1000)] = 1
    period: Period = Period.campaign


class Budget(Strict):
    """Caps over the whole campaign; delivery stops a dimension at zero. Money in fen."""

    coupons: NonNegative | None = None
    points: NonNegative | None = None
    messages: NonNegative | None = None
    money_minor: NonNegative | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.coupons, self.points, self.messages,
                                       self.money_minor))


class QuietHours(Strict):
    """Member-local hours in which nothing is sent; may wrap midnight (22:00 → 08:00)."""

    start: WallTime
    end: WallTime

    def contains(self, t: time) -> bool:
        """True when wall-clock ``t`` falls in [start, end)."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


class CapClass(StrEnum):
    """Frequency-cap class: marketing messages share a per-member daily/weekly cap;
    service messages (welcome, expiry reminders) are capped separately."""

    marketing = "marketing"
    service = "service"


class Delivery(Strict):
    """Consent is per channel and always respected (push, sms, webhook); the inbox, coupons
    and points need none unless ``require_consent`` asks for at least one marketing
    consent (push, sms or email) before the member gets anything."""

    quiet_hours: QuietHours | None = QuietHours(start=time(22, 0), end=time(8, 0))
    cap_class: CapClass = CapClass.marketing
    require_consent: bool = False


class Variant(Strict):
    """An experiment arm; ``actions`` (when given) replace the campaign's actions."""

    id: Ident
    weight: Annotated[int, Field(ge=1, le=1000)] = 1
    actions: Annotated[list[Action], Field(min_length=1, max_length=10)] | None = None


class Experiment(Strict):
    """Holdout members get nothing (they measure lift); the rest split by variant weight."""

    holdout_percent: Annotated[float, Field(ge=0, le=50)] = 0
    variants: Annotated[list[Variant], Field(max_length=10)] = []


# --- the campaign ----------------------------------------------------------------------------

class Campaign(Strict):
    """A marketing campaign: who (audience), when (trigger), what (actions), how much."""

    schema_: str | None = Field(default=None, alias="$schema")
    id: CampaignId
    name: ShortText
    description: Text | None = None
    status: Status = Status.draft
    window: Window
    timezone: Timezone = "Asia/Shanghai"
    priority: Annotated[int, Field(ge=0, le=1000)] = 100
    trigger: Trigger
    audience: dict[str, object] | None = None
    actions: Annotated[list[Action], Field(max_length=10)] = []  # a journey has none
    journey: Journey | None = None
    limits: Limits = Limits()
    budget: Budget | None = None
    delivery: Delivery = Delivery()
    experiment: Experiment | None = None

    model_config = Strict.model_config | {"populate_by_name": True}

    @property
    def is_time_based(self) -> bool:
        return not isinstance(self.trigger, Event)

    @property
    def local_time(self) -> bool:
        return bool(getattr(self.trigger, "local_time", False))

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def instant(self, dt: datetime) -> datetime:
        """An aware UTC instant; naive datetimes are read in the campaign timezone."""
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=self.zone)
        return dt.astimezone(UTC)

    @property
    def starts_at(self) -> datetime:
        return self.instant(self.window.start)

    @property
    def ends_at(self) -> datetime | None:
        return self.instant(self.window.end) if self.window.end else None

    def in_window(self, at: datetime) -> bool:
        end = self.ends_at
        return self.starts_at <= at and (end is None or at <= end)

    @cached_property
    def matcher(self) -> Matcher:
        """The audience compiled once into a predicate over an audience profile dict."""
        from chalicelib.domain.campaigns.audience import compile_audience

        return compile_audience(self.audience)

    def document(self) -> dict[str, object]:
        """The canonical JSON document (no ``$schema``), as stored and compared by sync."""
        doc = self.model_dump(mode="json", exclude={"schema_"}, exclude_none=True)
        if not self.actions and self.journey is not None:
            doc.pop("actions", None)
        if self.delivery.quiet_hours is None:  # an explicit "no quiet hours" must survive
            doc["delivery"]["quiet_hours"] = None
        return doc

    def all_actions(self) -> list[tuple[str, int, Action]]:
        """(JSON path prefix, index, action) for the base actions and every variant's."""
        out: list[tuple[str, int, Action]] = [
            ("/actions", i, a) for i, a in enumerate(self.actions)]
        for v_i, v in enumerate(self.experiment.variants if self.experiment else []):
            for i, a in enumerate(v.actions or []):
                out.append((f"/experiment/variants/{v_i}/actions", i, a))
        for s_i, step in enumerate(self.journey.steps if self.journey else []):
            if isinstance(step, ActionStep):
                out += [(f"/journey/steps/{s_i}/actions", i, a)
                        for i, a in enumerate(step.actions)]
        return out

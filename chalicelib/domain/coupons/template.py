"""Coupon templates as marketers write them (files under campaigns/coupons/, PUT /admin/...).

Money is integer fen. Percentages are whole percent *off* (8折 = ``percent_off: 20``).
``check(template)`` adds the cross-field rules pydantic cannot express per field, each with
the JSON pointer of the offending value; ``parse_template`` runs both.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.config import ExtraValues

from chalicelib.domain.models import MultiLine, OneLine, Out, Strict, length
from chalicelib.errors import ValidationFailed

TEMPLATE_ID_RE = r"^[a-z0-9][a-z0-9-]{1,62}$"
TemplateId = Annotated[str, StringConstraints(pattern=TEMPLATE_ID_RE)]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Category = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StoreId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
TierName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,32}$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[\w:.-]+$")]
GroupName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,32}$")]
Clock = Annotated[str, StringConstraints(pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")]
Fen = Annotated[int, Field(ge=0, le=10**10)]
PositiveFen = Annotated[int, Field(gt=0, le=10**10)]
Channel = Literal["app", "web", "store", "mini_program"]
PaymentMethod = Literal["wechat_pay", "alipay", "unionpay", "card", "apple_pay", "cash",
                        "balance"]
CHANNELS: tuple[str, ...] = get_args(Channel)
PAYMENT_METHODS: tuple[str, ...] = get_args(PaymentMethod)


class FixedOff(Strict):
    """A fixed amount off the eligible items (use ``scope.min_spend`` for a floor)."""

    type: Literal["fixed"]
    amount: PositiveFen


class PercentOff(Strict):
    """``percent_off`` % off the eligible items, rounded down to the fen, capped."""

    type: Literal["percent"]
    percent_off: Annotated[int, Field(ge=1, le=99)]
    max_discount: PositiveFen | None = None


class ThresholdOff(Strict):
    """满X减Y: ``amount`` off once the eligible subtotal reaches ``threshold``."""

    type: Literal["threshold"]
    threshold: PositiveFen
    amount: PositiveFen


class SteppedOff(Strict):
    """每满X减Y: ``amount`` off for every full ``step`` of eligible spend, ``max_steps`` at most."""

    type: Literal["stepped"]
    step: PositiveFen
    amount: PositiveFen
    max_steps: Annotated[int, Field(ge=1, le=1000)]


class FreeShipping(Strict):
    """Waives the shipping fee, up to ``max_amount`` when set."""

    type: Literal["free_shipping"]
    max_amount: PositiveFen | None = None


class GiftItem(Strict):
    """Adds ``quantity`` x ``sku`` at zero price; ``value`` (fen) is for reports and ranking."""

    type: Literal["gift"]
    sku: Sku
    name: Annotated[str, length(1, 100), OneLine] | None = None
    quantity: Annotated[int, Field(ge=1, le=100)] = 1
    value: Fen = 0


class NoThreshold(Strict):
    """无门槛: a fixed amount off with no minimum spend at all."""

    type: Literal["no_threshold"]
    amount: PositiveFen


Benefit = Annotated[FixedOff | PercentOff | ThresholdOff | SteppedOff | FreeShipping | GiftItem
                    | NoThreshold, Field(discriminator="type")]
BENEFIT_TYPES = ("fixed", "percent", "threshold", "stepped", "free_shipping", "gift",
                 "no_threshold")


class Scope(Strict):
    """Which cart lines and which checkouts the coupon applies to; empty lists mean any."""

    include_skus: list[Sku] = Field(default=[], max_length=2000)
    exclude_skus: list[Sku] = Field(default=[], max_length=2000)
    include_categories: list[Category] = Field(default=[], max_length=200)
    exclude_categories: list[Category] = Field(default=[], max_length=200)
    min_spend: Fen = 0
    channels: list[Channel] = []
    store_ids: list[StoreId] = Field(default=[], max_length=2000)
    payment_methods: list[PaymentMethod] = []


class Audience(Strict):
    """Who may claim (and, for tiers, use) the coupon; empty means everyone.

    ``tiers`` lists loyalty tier ids; ``min_tier`` means that tier and every tier above it in
    the loyalty program ("gold and above"). Use one or the other.
    """

    tiers: list[TierName] = Field(default=[], max_length=20)
    min_tier: TierName | None = None
    new_members_only: bool = False
    tags: list[Tag] = Field(default=[], max_length=50)


class TimeWindow(Strict):
    """限时: usable on these ISO weekdays (1 = Monday) from ``start`` to ``end`` (local time)."""

    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = [1, 2, 3, 4, 5, 6, 7]
    start: Clock = "00:00"
    end: Clock = "24:00"


class Validity(Strict):
    """When coupons can be claimed and used; windows are in the program timezone."""

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    days_after_claim: Annotated[int, Field(ge=1, le=3650)] | None = None
    claim_starts_at: AwareDatetime | None = None
    claim_ends_at: AwareDatetime | None = None
    windows: list[TimeWindow] = Field(default=[], max_length=20)


class Limits(Strict):
    """Stock (None = unlimited) spread over ``stock_shards`` items; per-member limits."""

    stock: Annotated[int, Field(ge=0, le=100_000_000)] | None = None
    stock_shards: Annotated[int, Field(ge=1, le=50)] = 1
    per_member_claim: Annotated[int, Field(ge=1, le=1000)] | None = 1
    per_member_use: Annotated[int, Field(ge=1, le=1000)] | None = None


class Stacking(Strict):
    """At most one coupon per ``group`` in an order; ``exclusive`` coupons stand alone."""

    group: GroupName | None = None
    exclusive: bool = False


class Funding(Strict):
    """Who pays for the discount (for reports): the platform, a merchant or a partner."""

    source: Literal["platform", "merchant", "partner"] = "platform"
    id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class CouponTemplate(Strict):
    """A coupon template (JSON Schema: campaigns/coupon-template.schema.json)."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True,
                              populate_by_name=True)

    schema_ref: str | None = Field(default=None, alias="$schema",
                                   description="editor hint; ignored")
    template_id: TemplateId | None = Field(default=None,
                                           description="must match the URL or file name")
    name: Annotated[str, length(1, 100), OneLine]
    description: Annotated[str, length(0, 2000), MultiLine] = ""
    status: Literal["active", "paused", "ended"] = "active"
    claimable: bool = Field(default=True, description="listed in the coupon center and "
                            "claimable with POST /me/coupons (false: codes, rewards, grants)")
    benefit: Benefit
    scope: Scope = Scope()
    audience: Audience = Audience()
    validity: Validity
    limits: Limits = Limits()
    stacking: Stacking = Stacking()
    funding: Funding = Funding()
    restore_on_refund: bool = True

    def definition(self) -> dict[str, object]:
        """The JSON-ready definition as stored (no editor hint)."""
        return self.model_dump(mode="json", exclude={"schema_ref"})


class TemplateView(Out):
    """A stored template with its version and stock figures."""

    template_id: str
    version: int
    updated_at: str
    definition: dict[str, object]
    stock: int | None = None
    remaining: int | None = None


def _clock_minutes(value: str) -> int:
    h, m = value.split(":")
    return int(h) * 60 + int(m)


Problem = dict[str, str]  # {path, message}


def _problem(path: str, message: str) -> Problem:
    return {"path": path, "message": message}


def check(t: CouponTemplate) -> list[Problem]:
    """Cross-field rules, as [{path, message}] with JSON pointers (empty when fine)."""
    out = _validity_problems(t.validity)
    lim, sc = t.limits, t.scope
    if lim.stock_shards > 1 and lim.stock is None:
        out.append(_problem("/limits/stock_shards", "sharding needs a stock"))
    if lim.stock is not None and lim.stock_shards > max(lim.stock, 1):
        out.append(_problem("/limits/stock_shards", "cannot exceed the stock"))
    for name in ("skus", "categories"):
        both = set(getattr(sc, f"include_{name}")) & set(getattr(sc, f"exclude_{name}"))
        if both:
            out.append(_problem(f"/scope/exclude_{name}",
                                f"also included: {', '.join(sorted(both)[:5])}"))
    if t.audience.tiers and t.audience.min_tier:
        out.append(_problem("/audience/min_tier", "use either tiers or min_tier, not both"))
    return out + _benefit_problems(t.benefit, sc)


def _validity_problems(v: Validity) -> list[Problem]:
    out: list[Problem] = []
    if v.ends_at <= v.starts_at:
        out.append(_problem("/validity/ends_at", "must be after starts_at"))
    claim_start = v.claim_starts_at or v.starts_at
    claim_end = v.claim_ends_at or v.ends_at
    if claim_end <= claim_start:
        out.append(_problem("/validity/claim_ends_at",
                            "the claim window must end after it starts"))
    if v.claim_ends_at and v.claim_ends_at > v.ends_at:
        out.append(_problem("/validity/claim_ends_at",
                            "claiming cannot go on after the coupon ends (ends_at)"))
    for i, w in enumerate(v.windows):
        if _clock_minutes(w.end) <= _clock_minutes(w.start):
            out.append(_problem(f"/validity/windows/{i}/end", "must be after start (split "
                                "windows that cross midnight in two)"))
        if len(set(w.weekdays)) != len(w.weekdays) or not w.weekdays:
            out.append(_problem(f"/validity/windows/{i}/weekdays",
                                "list each weekday once, at least one"))
    return out


def _benefit_problems(b: Benefit, sc: Scope) -> list[Problem]:
    out: list[Problem] = []
    if isinstance(b, ThresholdOff) and b.amount > b.threshold:
        out.append(_problem("/benefit/amount", "cannot exceed the threshold"))
    if isinstance(b, SteppedOff) and b.amount > b.step:
        out.append(_problem("/benefit/amount", "cannot exceed the step"))
    if isinstance(b, NoThreshold) and sc.min_spend:
        out.append(_problem("/scope/min_spend",
                            "a no_threshold coupon has no minimum spend; use type fixed"))
    if isinstance(b, (FreeShipping, GiftItem)) and (sc.include_skus or sc.include_categories) \
            and not sc.min_spend:
        out.append(_problem("/scope/min_spend", "a scoped free_shipping or gift coupon needs a "
                            "min_spend on its eligible items (otherwise any single eligible "
                            "item unlocks it)"))
    return out


def parse_template(raw: str | bytes | dict[str, object], template_id: str | None = None,
                   ) -> CouponTemplate:
    """Validate JSON (text or already-parsed) into a template; ValidationFailed with paths."""

    try:
        if isinstance(raw, dict):
            import json

            raw = json.dumps(raw)
        t = CouponTemplate.model_validate_json(raw)
    except ValidationError as e:
        raise ValidationFailed("the coupon template is invalid",
                               details=pydantic_details(e)) from None
    ensure_valid(t, template_id)
    return t if t.template_id else t.model_copy(update={"template_id": template_id})


def ensure_valid(t: CouponTemplate, template_id: str | None) -> None:
    """Raise ValidationFailed for cross-field problems or an id that disagrees."""
    problems = check(t)
    if template_id and t.template_id and t.template_id != template_id:
        problems.insert(0, {"path": "/template_id", "message": f"must be {template_id!r} (the "
                            "id in the URL or file name) or left out"})
    if problems:
        raise ValidationFailed("the coupon template is invalid", details=problems)


def pydantic_details(err: ValidationError) -> list[dict[str, str]]:
    """pydantic errors → [{path, message}] (JSON pointers; input values never echoed)."""
    out = []
    for e in err.errors(include_input=False, include_url=False):
        raw = [p for p in e["loc"]
               if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
        # A tagged union puts the tag in the location (/benefit/threshold/amount): drop it.
        raw = [p for i, p in enumerate(raw)
               if not (i and raw[i - 1] == "benefit" and p in BENEFIT_TYPES)]
        loc = [str(p).replace("~", "~0").replace("/", "~1") for p in raw]
        msg = "unknown field; remove it" if e["type"] == "extra_forbidden" else e["msg"]
        out.append({"path": "/" + "/".join(loc), "message": msg})
    return out


class TemplateBody(CouponTemplate):
    """Body of PUT /admin/coupon-templates/{id}: parsed with benefit-aware JSON pointers."""

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *,
                            strict: bool | None = None, extra: ExtraValues | None = None,
                            context: object = None, by_alias: bool | None = None,
                            by_name: bool | None = None) -> TemplateBody:
        try:
            return super().model_validate_json(
                json_data, strict=strict, extra=extra, context=context, by_alias=by_alias,
                by_name=by_name)
        except ValidationError as e:
            if any(x["type"] == "json_invalid" for x in e.errors()):
                raise ValidationFailed("the body is not valid JSON", details=[
                    {"path": "/", "message": "invalid JSON"}]) from None
            raise ValidationFailed("the coupon template is invalid",
                                   details=pydantic_details(e)) from None


def json_schema() -> dict[str, object]:
    """The JSON Schema editors use for campaigns/coupons/*.json (committed, tested fresh)."""
    schema = CouponTemplate.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://perks.example/coupon-template.schema.json"
    return schema

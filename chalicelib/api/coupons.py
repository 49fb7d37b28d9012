"""Coupon templates and codes (marketer/admin), the coupon center and wallet (member)."""

from __future__ import annotations

from typing import Annotated, Any

from chalice import Blueprint
from pydantic import StringConstraints

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx, Status
from chalicelib.domain.coupons.template import TEMPLATE_ID_RE, TemplateBody, TemplateView
from chalicelib.domain.models import Out, Strict
from chalicelib.errors import NotFound
from chalicelib.services.coupons import (
    codes as coupon_codes,
)
from chalicelib.services.coupons import (
    coupons,
)
from chalicelib.services.coupons import (
    templates as coupon_templates,
)
from chalicelib.services.coupons.codes import BindRequest, CodeBatchRequest, CodeBatchView
from chalicelib.services.coupons.coupons import CenterEntry, Funnel
from chalicelib.services.coupons.records import CouponView

bp = Blueprint(__name__)
api = Api(bp)
MARKETING = (Role.marketer, Role.admin)
STATUSES = ("available", "reserved", "used", "expired")


class ClaimRequest(Strict):
    """Body of POST /me/coupons."""

    template_id: Annotated[str, StringConstraints(pattern=TEMPLATE_ID_RE)]


class TemplateDraft(TemplateBody):
    """A template as typed in the console editor: checked, never stored (any JSON text)."""

    @classmethod
    def model_validate_json(cls, json_data: Any, **_: Any) -> Any:
        # The service reports every problem with its JSON path (malformed JSON included).
        return json_data


class TemplateCheck(Out):
    valid: bool
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    result: str


@api.route("PUT", "/admin/coupon-templates/{template_id}", roles=MARKETING, body=TemplateBody,
           response=TemplateView, also=(201,), errors=(400, 409))
def put_template(ctx: Ctx, template_id: str, body: TemplateBody) -> Status:
    """Create (201) or replace (200) a coupon template (a new version; history is kept)."""
    view, created = coupons.save_template(template_id, body, ctx.sub)
    return Status(201 if created else 200, view)


@api.route("GET", "/admin/coupon-templates", roles=MARKETING, response=list[TemplateView])
def list_templates(ctx: Ctx) -> list[TemplateView]:
    """Every coupon template."""
    return coupons.list_templates()


@api.route("GET", "/admin/coupon-templates/{template_id}", roles=MARKETING,
           response=TemplateView, errors=(404,))
def get_template(ctx: Ctx, template_id: str) -> TemplateView:
    """A coupon template with its stock figures."""
    return coupons.get_template(template_id)


@api.route("POST", "/admin/coupon-templates/{template_id}/validate", roles=MARKETING,
           body=TemplateDraft, response=TemplateCheck, errors=(400,))
def validate_template(ctx: Ctx, template_id: str, body: Any) -> dict[str, Any]:
    """Validate a template without saving it: errors with JSON paths (400), else valid."""
    return coupon_templates.check(template_id, body)


@api.route("GET", "/admin/coupon-templates/{template_id}/funnel", roles=MARKETING,
           response=Funnel, errors=(404,))
def template_funnel(ctx: Ctx, template_id: str) -> Funnel:
    """Coupons claimed, reserved and redeemed (sharded counters, read by key)."""
    return coupons.funnel(template_id)


@api.route("GET", "/admin/coupon-templates/{template_id}/codes", roles=MARKETING,
           response=list[CodeBatchView], errors=(404,))
def list_code_batches(ctx: Ctx, template_id: str) -> list[CodeBatchView]:
    """The template's code batches, newest first, each with its CSV path."""
    return coupon_codes.batches(template_id)


@api.route("POST", "/admin/coupon-templates/{template_id}/codes", roles=MARKETING,
           body=CodeBatchRequest, response=CodeBatchView, status=201, errors=(400, 404))
def generate_codes(ctx: Ctx, template_id: str, body: CodeBatchRequest) -> CodeBatchView:
    """Generate a batch of unique redeemable codes (≤ 100,000)."""
    return coupon_codes.generate(template_id, body, ctx.sub)


@api.route("GET", "/admin/coupon-templates/{template_id}/codes/{batch_file}", roles=MARKETING,
           errors=(404,), content_type="text/csv")
def export_codes(ctx: Ctx, template_id: str, batch_file: str) -> str:
    """A code batch as CSV (path ends in ``.csv``)."""
    if not batch_file.endswith(".csv"):
        raise NotFound("ask for <batch>.csv")
    return coupon_codes.export_csv(template_id, batch_file[:-4])


@api.route("GET", "/coupons/center", roles=(Role.member,), response=list[CenterEntry])
def coupon_center(ctx: Ctx) -> list[CenterEntry]:
    """Templates the calling member can claim now, with remaining stock."""
    return coupons.center(ctx.sub)


@api.route("POST", "/me/coupons", roles=(Role.member,), body=ClaimRequest,
           response=CouponView, status=201, errors=(400, 404, 409, 422))
def claim(ctx: Ctx, body: ClaimRequest) -> CouponView:
    """Claim a coupon from the center (stock and per-member limits hold under concurrency)."""
    return coupons.claim(ctx.sub, body.template_id, ctx.headers.get("idempotency-key"))


@api.route("GET", "/me/coupons", roles=(Role.member,), response=list[CouponView],
           query={"status": " | ".join(STATUSES)}, errors=(400,))
def my_coupons(ctx: Ctx) -> list[CouponView]:
    """The calling member's wallet, newest first (``?status=`` filters)."""
    status = ctx.query.get("status") or None
    if status is not None and status not in STATUSES:
        from chalicelib.errors import ValidationFailed

        raise ValidationFailed("unknown status", details=[
            {"path": "/query/status", "message": f"one of {', '.join(STATUSES)}"}])
    return coupons.wallet(ctx.sub, status)


@api.route("POST", "/me/coupons/codes", roles=(Role.member,), body=BindRequest,
           response=CouponView, status=201, errors=(400, 404, 409, 422, 429))
def redeem_code(ctx: Ctx, body: BindRequest) -> CouponView:
    """Redeem a code into the wallet (wrong codes are limited per member per hour)."""
    return coupon_codes.bind(ctx.sub, body)

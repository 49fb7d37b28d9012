"""Checkout: quote, reserve, confirm, release (service for any member, member for itself)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.coupons.checkout import QuoteRequest, ReservationRequest, ReservationView
from chalicelib.domain.coupons.quote import Quote
from chalicelib.errors import Forbidden, ValidationFailed
from chalicelib.services.coupons import checkout

bp = Blueprint(__name__)
api = Api(bp)
CALLERS = (Role.service, Role.member)


def member_of(ctx: Ctx, requested: str | None) -> str:
    """The member a checkout call is about: any for the service, only itself for a member."""
    if ctx.is_(Role.service):
        if not requested:
            raise ValidationFailed("member_id is required for the service role",
                                   details=[{"path": "/member_id", "message": "required"}])
        return requested
    if requested and requested != ctx.sub:
        raise Forbidden("members can only check out for themselves",
                        details=[{"path": "/member_id", "message": "leave it out"}])
    return ctx.sub


def _scoped(ctx: Ctx) -> str | None:
    """Members only see their own reservations; the service sees every one."""
    return None if ctx.is_(Role.service) else ctx.sub


@api.route("POST", "/checkout/quote", roles=CALLERS, body=QuoteRequest, response=Quote,
           errors=(400, 403), idempotent=False)
def quote(ctx: Ctx, body: QuoteRequest) -> Quote:
    """The best coupon stack for a cart, alternatives, and why other coupons do not apply."""
    return checkout.quote_for(member_of(ctx, body.member_id), body)


@api.route("POST", "/checkout/reservations", roles=CALLERS, body=ReservationRequest,
           response=ReservationView, status=201, errors=(400, 403, 409, 422))
def reserve(ctx: Ctx, body: ReservationRequest) -> ReservationView:
    """Re-validate and hold coupons for an order (default 15 minutes)."""
    return checkout.reserve(member_of(ctx, body.member_id), body)


@api.route("GET", "/checkout/reservations/{order_id}", roles=CALLERS,
           response=ReservationView, errors=(404,))
def get_reservation(ctx: Ctx, order_id: str) -> ReservationView:
    """A reservation and its state (held, expired, confirmed, released)."""
    return checkout.get(order_id, _scoped(ctx))


@api.route("POST", "/checkout/reservations/{order_id}/confirm", roles=CALLERS,
           response=ReservationView, errors=(404, 409))
def confirm(ctx: Ctx, order_id: str) -> ReservationView:
    """Mark the held coupons used (replays are harmless)."""
    return checkout.confirm(order_id, _scoped(ctx))


@api.route("DELETE", "/checkout/reservations/{order_id}", roles=CALLERS, status=204,
           errors=(404, 409))
def release(ctx: Ctx, order_id: str) -> None:
    """Release the held coupons."""
    checkout.release(order_id, _scoped(ctx))

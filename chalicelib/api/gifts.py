"""Gift fulfilment: the operators' queue and status moves (admin), the member's gifts."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.loyalty.fulfilment import (
    CancelBody,
    DeliverBody,
    FulfilmentPage,
    FulfilmentView,
    MemberGifts,
    ShipBody,
    Status,
)
from chalicelib.errors import ValidationFailed
from chalicelib.services.loyalty import gifts

bp = Blueprint(__name__)
api = Api(bp)
OPERATORS = (Role.marketer, Role.admin)
PAGE = {"limit": "1-100 (20)", "cursor": "next_cursor of the previous page"}


def _limit(ctx: Ctx) -> int:
    raw = ctx.query.get("limit") or "20"
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise ValidationFailed("limit must be an integer from 1 to 100",
                               details=[{"path": "/query/limit", "message": "1-100"}])
    return int(raw)


def _status(ctx: Ctx) -> Status:
    raw = ctx.query.get("status") or Status.to_fulfil.value
    if raw not in Status.__members__:
        raise ValidationFailed(f"status must be one of {', '.join(Status)}",
                               details=[{"path": "/query/status", "message": raw[:40]}])
    return Status(raw)


@api.route("GET", "/admin/fulfilments", roles=OPERATORS, response=FulfilmentPage,
           query={"status": "to_fulfil (default) | shipped | delivered | cancelled", **PAGE},
           errors=(400,))
def list_fulfilments(ctx: Ctx) -> FulfilmentPage:
    """The fulfilment queue: gifts in one status, newest first."""
    return gifts.queue(_status(ctx), _limit(ctx), ctx.query.get("cursor") or None)


@api.route("GET", "/admin/fulfilments/{fulfilment_id}", roles=OPERATORS,
           response=FulfilmentView, errors=(404,))
def get_fulfilment(ctx: Ctx, fulfilment_id: str) -> FulfilmentView:
    """One gift with its history of moves."""
    return gifts.get(fulfilment_id)


@api.route("POST", "/admin/fulfilments/{fulfilment_id}/ship", roles=OPERATORS,
           body=ShipBody, response=FulfilmentView, errors=(400, 404, 409))
def ship_fulfilment(ctx: Ctx, fulfilment_id: str, body: ShipBody) -> FulfilmentView:
    """Mark a gift shipped with carrier and tracking number (to_fulfil only), audited."""
    return gifts.ship(fulfilment_id, body.carrier, body.tracking_number, ctx.sub,
                      ctx.request_key)


@api.route("POST", "/admin/fulfilments/{fulfilment_id}/deliver", roles=OPERATORS,
           body=DeliverBody, response=FulfilmentView, errors=(400, 404, 409))
def deliver_fulfilment(ctx: Ctx, fulfilment_id: str, body: DeliverBody) -> FulfilmentView:
    """Mark a shipped gift delivered, audited."""
    return gifts.deliver(fulfilment_id, ctx.sub, body.note, ctx.request_key)


@api.route("POST", "/admin/fulfilments/{fulfilment_id}/cancel", roles=(Role.admin,),
           body=CancelBody, response=FulfilmentView, errors=(400, 404, 409))
def cancel_fulfilment(ctx: Ctx, fulfilment_id: str, body: CancelBody) -> FulfilmentView:
    """Cancel a gift not yet delivered: its points go back to the member once, audited."""
    return gifts.cancel(fulfilment_id, body.reason, ctx.sub, ctx.request_key)


@api.route("GET", "/me/gifts", roles=(Role.member,), response=MemberGifts, query=PAGE,
           errors=(400,))
def my_gifts(ctx: Ctx) -> MemberGifts:
    """My gifts and where they are: carrier and tracking number once shipped."""
    return gifts.my_gifts(ctx.sub, _limit(ctx), ctx.query.get("cursor") or None)

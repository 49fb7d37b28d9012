"""Orders and refunds from the commerce backend (service role)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.loyalty.orders import NewOrder
from chalicelib.domain.loyalty.refunds import NewRefund
from chalicelib.domain.loyalty.views import OrderResult, OrderView, RefundResult
from chalicelib.services.loyalty import orders

bp = Blueprint(__name__)
api = Api(bp)


@api.route("POST", "/orders", roles=(Role.service,), body=NewOrder, response=OrderResult,
           status=201, errors=(400, 404, 409, 422))
def post_order(ctx: Ctx, body: NewOrder) -> OrderResult:
    """Record an order: points, tier progress, upgrade. A replayed order_id earns nothing."""
    return orders.record(body)


@api.route("GET", "/orders/{order_id}", roles=(Role.service, Role.admin), response=OrderView,
           errors=(404,))
def get_order(ctx: Ctx, order_id: str) -> OrderView:
    """An order with what it earned and what was refunded."""
    return OrderView.model_validate(orders.get(order_id))


@api.route("POST", "/orders/{order_id}/refunds", roles=(Role.service,), body=NewRefund,
           response=RefundResult, status=201, errors=(400, 404, 409, 422))
def post_refund(ctx: Ctx, order_id: str, body: NewRefund) -> RefundResult:
    """Refund items or an amount: reverses points line by line; once per refund_id."""
    return orders.refund(order_id, body)

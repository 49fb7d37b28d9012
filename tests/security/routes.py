"""The route registry as the security matrices see it: every endpoint, its roles, its body."""

from __future__ import annotations

import re
from typing import Any

ROLES = ("member", "service", "marketer", "admin")
PARAM = re.compile(r"\{(\w+)\}")


def all_routes() -> list[Any]:
    import app  # noqa: F401  (registers every blueprint's routes)
    from chalicelib.api.http import ROUTES

    seen: dict[tuple[str, str], Any] = {}
    for r in ROUTES:
        seen.setdefault((r.method, r.path), r)
    return sorted(seen.values(), key=lambda r: (r.path, r.method))


def route_id(r: Any) -> str:
    return f"{r.method} {r.path}"


def fill(path: str, values: dict[str, str] | None = None, default: str = "x-none-1") -> str:
    """The path with every ``{param}`` replaced (from ``values``, else ``default``)."""
    values = values or {}
    return PARAM.sub(lambda m: values.get(m.group(1), default), path)


def params_of(path: str) -> list[str]:
    return PARAM.findall(path)


# Hand-written roles of EVERY route (issue 10, issue 12): the role matrix compares each route's
# behaviour with this table, never with the route's own ``roles=``, so a change to who may call
# an endpoint must be made here too, on purpose; a route missing here fails the matrix.
# Segmentation (what audiences and coupon gates read) is written by trusted callers only; a
# member manages its own profile and devices; the console's roles (marketer, admin) author.
GOLDEN_ROLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/health"): (),  # public: load balancers and uptime checks
    # public: a mail client's one-click unsubscribe (RFC 8058) carries no credentials; the
    # signed ticket in the path is the authority (it names one member and one channel)
    ("POST", "/unsubscribe/{ticket}"): (),
    ("GET", "/unsubscribe/{ticket}"): (),
    # members: the commerce backend registers, a member manages itself
    ("POST", "/members"): ("service", "admin"),
    ("GET", "/members/{member_id}"): ("service", "marketer", "admin"),
    ("PATCH", "/members/{member_id}"): ("service", "admin"),
    ("GET", "/me"): ("member",),
    ("PATCH", "/me"): ("member",),
    ("DELETE", "/me"): ("member",),
    ("GET", "/me/export"): ("member",),
    ("GET", "/me/profile-facts"): ("member",),
    ("POST", "/me/devices"): ("member",),
    ("GET", "/me/devices"): ("member",),
    ("DELETE", "/me/devices/{device_id}"): ("member",),
    ("PATCH", "/admin/members/{member_id}/segmentation"): ("service", "marketer", "admin"),
    ("POST", "/admin/members/{member_id}/points"): ("admin",),
    # Support lookups show a (masked) member to the console's roles only, audited.
    ("GET", "/admin/members/{member_id}/support"): ("marketer", "admin"),
    ("GET", "/admin/audit"): ("marketer", "admin"),
    # loyalty: orders and refunds come from the commerce backend only
    ("POST", "/orders"): ("service",),
    ("GET", "/orders/{order_id}"): ("service", "admin"),
    ("POST", "/orders/{order_id}/refunds"): ("service",),
    ("GET", "/me/points"): ("member",),
    ("POST", "/me/checkins"): ("member",),
    ("POST", "/me/checkins/makeup"): ("member",),
    ("GET", "/me/checkins"): ("member",),
    ("GET", "/admin/checkins/stats"): ("marketer", "admin"),
    ("POST", "/activities"): ("service",),
    ("GET", "/admin/activities/stats"): ("marketer", "admin"),
    ("GET", "/me/points/history"): ("member",),
    ("GET", "/me/tier"): ("member",),
    ("POST", "/me/rewards/{reward_id}/redeem"): ("member",),
    ("GET", "/rewards"): ("member", "service", "marketer", "admin"),
    # gift fulfilment (issue 14): operators ship/deliver; only an admin cancels (points back)
    ("GET", "/admin/fulfilments"): ("marketer", "admin"),
    ("GET", "/admin/fulfilments/{fulfilment_id}"): ("marketer", "admin"),
    ("POST", "/admin/fulfilments/{fulfilment_id}/ship"): ("marketer", "admin"),
    ("POST", "/admin/fulfilments/{fulfilment_id}/deliver"): ("marketer", "admin"),
    ("POST", "/admin/fulfilments/{fulfilment_id}/cancel"): ("admin",),
    ("GET", "/me/gifts"): ("member",),
    ("GET", "/admin/program"): ("marketer", "admin"),
    ("PUT", "/admin/program"): ("marketer", "admin"),
    ("GET", "/admin/program/versions"): ("marketer", "admin"),
    # coupons and checkout
    ("GET", "/coupons/center"): ("member",),
    ("GET", "/me/coupons"): ("member",),
    ("POST", "/me/coupons"): ("member",),
    ("POST", "/me/coupons/codes"): ("member",),
    ("POST", "/checkout/quote"): ("service", "member"),
    ("POST", "/checkout/reservations"): ("service", "member"),
    ("GET", "/checkout/reservations/{order_id}"): ("service", "member"),
    ("DELETE", "/checkout/reservations/{order_id}"): ("service", "member"),
    ("POST", "/checkout/reservations/{order_id}/confirm"): ("service", "member"),
    ("GET", "/admin/coupon-templates"): ("marketer", "admin"),
    ("GET", "/admin/coupon-templates/{template_id}"): ("marketer", "admin"),
    ("PUT", "/admin/coupon-templates/{template_id}"): ("marketer", "admin"),
    ("POST", "/admin/coupon-templates/{template_id}/validate"): ("marketer", "admin"),
    ("GET", "/admin/coupon-templates/{template_id}/codes"): ("marketer", "admin"),
    ("POST", "/admin/coupon-templates/{template_id}/codes"): ("marketer", "admin"),
    ("GET", "/admin/coupon-templates/{template_id}/codes/{batch_file}"): ("marketer", "admin"),
    ("GET", "/admin/coupon-templates/{template_id}/funnel"): ("marketer", "admin"),
    # campaigns (authoring, review, results: issue 11): marketers and admins, never members
    ("GET", "/admin/campaigns"): ("marketer", "admin"),
    ("GET", "/admin/segments"): ("marketer", "admin"),
    ("GET", "/admin/segments/{slug}"): ("marketer", "admin"),
    ("PUT", "/admin/segments/{slug}"): ("marketer", "admin"),
    ("DELETE", "/admin/segments/{slug}"): ("marketer", "admin"),
    ("POST", "/admin/segments/{slug}/size"): ("marketer", "admin"),
    # lucky draws (issue 14): marketers define them, anyone reads the public view and its
    # commitment, members enter
    ("PUT", "/admin/draws/{draw_id}"): ("marketer", "admin"),
    ("GET", "/admin/draws"): ("marketer", "admin"),
    ("GET", "/admin/draws/{draw_id}"): ("marketer", "admin"),
    ("GET", "/admin/draws/{draw_id}/stats"): ("marketer", "admin"),
    ("POST", "/admin/draws/{draw_id}/reveal"): ("marketer", "admin"),
    ("GET", "/draws/{draw_id}"): ("member", "service", "marketer", "admin"),
    ("POST", "/me/draws/{draw_id}/entries"): ("member",),
    ("GET", "/me/draws/{draw_id}/entries"): ("member",),
    ("GET", "/admin/campaigns/{campaign_id}"): ("marketer", "admin"),
    ("PUT", "/admin/campaigns/{campaign_id}"): ("marketer", "admin"),
    ("DELETE", "/admin/campaigns/{campaign_id}"): ("marketer", "admin"),
    ("POST", "/admin/campaigns/{campaign_id}/validate"): ("marketer", "admin"),
    ("POST", "/admin/campaigns/{campaign_id}/status"): ("marketer", "admin"),
    ("POST", "/admin/campaigns/{campaign_id}/preview"): ("marketer", "admin"),
    ("GET", "/admin/campaigns/{campaign_id}/preview/{job_id}"): ("marketer", "admin"),
    ("GET", "/admin/campaigns/{campaign_id}/stats"): ("marketer", "admin"),
    ("GET", "/admin/campaigns/{campaign_id}/results"): ("marketer", "admin"),
    ("GET", "/admin/campaigns/{campaign_id}/results/csv"): ("marketer", "admin"),
    ("GET", "/admin/campaigns/{campaign_id}/versions"): ("marketer", "admin"),
    ("POST", "/admin/campaigns/{campaign_id}/rollback"): ("marketer", "admin"),
    # member inbox
    ("GET", "/me/inbox"): ("member",),
    ("GET", "/me/inbox/unread"): ("member",),
    ("POST", "/me/inbox/{message_id}/read"): ("member",),
    # referrals (老带新): sign-ups with a code come from trusted callers only
    ("GET", "/me/referral"): ("member",),
    ("GET", "/me/referrals"): ("member",),
    ("POST", "/referrals/signups"): ("service", "admin"),
    ("GET", "/admin/referrals/stats"): ("marketer", "admin"),
}


def golden_roles(method: str, path: str) -> tuple[str, ...]:
    """The hand-written roles of a route; a route missing from the table fails the test that
    asks (there is no fallback to the route's own ``roles=``)."""
    import pytest

    key = (method, path)
    if key not in GOLDEN_ROLES:
        pytest.fail(f"{method} {path} is missing from GOLDEN_ROLES in tests/security/routes.py: "
                    "write down who may call it, by hand")
    return GOLDEN_ROLES[key]

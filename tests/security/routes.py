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


# Hand-written roles of the trust-boundary endpoints (issue 10): a change to who may call them
# must be made here too, on purpose. Segmentation (what audiences and coupon gates read) is
# written by trusted callers only; a member manages its own profile and devices.
GOLDEN_ROLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("PATCH", "/me"): ("member",),
    ("POST", "/me/devices"): ("member",),
    ("GET", "/me/devices"): ("member",),
    ("DELETE", "/me/devices/{device_id}"): ("member",),
    ("POST", "/members"): ("service", "admin"),
    ("PATCH", "/members/{member_id}"): ("service", "admin"),
    ("PATCH", "/admin/members/{member_id}/segmentation"): ("service", "marketer", "admin"),
    ("POST", "/admin/members/{member_id}/points"): ("admin",),
    # Support lookups show a (masked) member to the console's roles only, audited.
    ("GET", "/admin/members/{member_id}/support"): ("marketer", "admin"),
    # campaign results (issue 11): marketers and admins read counters, never members
    ("GET", "/admin/campaigns/{campaign_id}/results"): ("marketer", "admin"),
    ("GET", "/admin/campaigns/{campaign_id}/results/csv"): ("marketer", "admin"),
    # Console review (issue 11): marketers and admins only.
    ("GET", "/admin/campaigns/{campaign_id}/versions"): ("marketer", "admin"),
    ("POST", "/admin/campaigns/{campaign_id}/rollback"): ("marketer", "admin"),
    ("GET", "/admin/campaigns/{campaign_id}/preview/{job_id}"): ("marketer", "admin"),
}

"""Coupons by habit: what the pure ranking (domain/coupons/ranking.py) needs from storage.

The coupon center ranks from the items its claim check already read (profile, LOYALTY,
program); delivery's ``best_of`` reads templates by id and the live program's tiers (both
cached), and the member's LOYALTY item it reads anyway.
"""

from __future__ import annotations

from chalicelib.domain.coupons.ranking import Tiers
from chalicelib.domain.coupons.template import CouponTemplate
from chalicelib.services.coupons.records import template_of
from chalicelib.services.deps import deps


def template_definition(template_id: str) -> CouponTemplate | None:
    """The current definition of a template (None when unknown)."""
    item = deps().coupons.template(template_id)
    return template_of(item) if item else None


def tier_ladder() -> Tiers:
    """The live loyalty program's tiers, base first, with their names (cached program)."""
    from chalicelib.services.loyalty import program as programs

    _, program = programs.current()
    return Tiers(tuple(t.id for t in program.tiers), {t.id: t.name for t in program.tiers})

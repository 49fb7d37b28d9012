"""Campaign effects as named TransactItems, so they commit together with the send record.

- coupons: ``issue_coupon`` (bootstrap wires ``loyalty_hooks.coupon_issue_items``, which
  uses the coupons service's ``issue_items`` when wired) with a deterministic coupon id per
  (campaign, occurrence, member, template, n): a replay collides instead of issuing twice.
  Items are named ``coupon:<coupon id>``.
- points: ``award_items`` (bootstrap wires the loyalty service's ``award_items``: the
  balance with a version check, a ledger entry and a lot, built from a fresh read). Items
  are named ``points:<loyalty's name>``; a failed ``points:loyalty`` means the balance moved
  since the read, so the decision reads again and retries.

The collaborators are passed at construction (``chalicelib/bootstrap.py``); a deployment
without one of them gets ``EffectUnavailable`` for that effect.

Each provider returns an ``Effect``: the items, the facts message placeholders may use
(``coupon.title`` …), counters for campaign stats and budget spend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.dynamo import NamedItems
from chalicelib.errors import NotFound

TEMPLATE_TTL_SECONDS = 60.0
IssueCoupon = Callable[..., tuple[str, list[dict[str, Any]]]]
AwardItems = Callable[..., NamedItems]


class EffectUnavailable(Exception):
    """The service that performs this effect is not available in this deployment."""


@dataclass
class Effect:
    items: NamedItems = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    spend: dict[str, int] = field(default_factory=dict)  # budget dimensions
    # Items built from a read (points: the member's balance and its version), built again
    # on every try of the decision; a failed condition on a ``stale`` name means the read
    # was old.
    fresh: Callable[[], NamedItems] | None = None
    stale: frozenset[str] = frozenset()
    metrics: dict[str, int] = field(default_factory=dict)  # business metrics once committed


def issued_expiry(template: dict[str, Any] | None, issued_at: str) -> str:
    """The issued coupon's own ``valid_until`` (ISO), by the same rule the coupon record
    uses: a coupon valid 14 days expires 14 days after issue, not at the template's end."""
    from datetime import datetime

    from chalicelib.domain.coupons.validity import use_until
    from chalicelib.services import clock

    ends = (template or {}).get("expires_at")
    if not ends:
        return ""
    until = use_until(datetime.fromisoformat(str(ends).replace("Z", "+00:00")),
                      (template or {}).get("days_after_claim"),
                      datetime.fromisoformat(issued_at.replace("Z", "+00:00")))
    return clock.iso(until)


class Effects:
    """The providers, over the services bootstrap passes in; tests swap in fakes with the
    same two methods."""

    def __init__(self, *, issue_coupon: IssueCoupon | None = None,
                 template_facts: Callable[[str], dict[str, Any] | None] | None = None,
                 award_items: AwardItems | None = None) -> None:
        self._issue_coupon = issue_coupon
        self._template_facts = template_facts
        self._award_items = award_items
        self._templates: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def coupons(self, member_id: str, template_id: str, quantity: int, campaign_id: str,
                occurrence: str, now: str) -> Effect:
        if self._issue_coupon is None:
            raise EffectUnavailable("no coupon issuer is wired here")
        out = Effect(counters={"coupons_issued": quantity}, spend={"coupons": quantity})
        ids = []
        for n in range(quantity):
            ref = f"{campaign_id}#{occurrence}#{member_id}#{n}"
            coupon_id, items = self._issue_coupon(member_id, template_id, source="campaign",
                                                  ref=ref, now=now)
            ids.append(coupon_id)
            out.items += named(f"coupon:{coupon_id}", items)
        template = self.template(template_id)
        value = int(template.get("value_minor") or 0) if template else 0
        if value:
            out.spend["money_minor"] = value * quantity
        out.facts = {"coupon": {"id": ids[0], "ids": ids, "template_id": template_id,
                                "title": (template or {}).get("title", ""),
                                "expires_at": issued_expiry(template, now),
                                "value": value or None}}
        return out

    def template(self, template_id: str) -> dict[str, Any] | None:
        """Coupon template facts for placeholders (title, face value), cached briefly."""
        import time

        hit = self._templates.get(template_id)
        if hit and time.monotonic() - hit[0] < TEMPLATE_TTL_SECONDS:
            return hit[1]
        fn = self._template_facts
        facts = fn(template_id) if fn else None
        self._templates[template_id] = (time.monotonic(), facts)
        return facts

    def points(self, member_id: str, points: int, reason: str, campaign_id: str,
               occurrence: str, now: str) -> Effect:
        """The loyalty service's award as named items, built from a fresh read of the
        member's balance on every try (``points:loyalty`` carries its version check)."""
        award = self._award_items
        if award is None:
            raise EffectUnavailable("the loyalty service cannot award points here")

        def build() -> NamedItems:
            try:
                got = award(member_id, points, reason=reason, campaign_id=campaign_id,
                            ref=f"{campaign_id}#{occurrence}")
            except NotFound as e:  # no loyalty program published
                raise EffectUnavailable(str(e)) from e
            return [(f"points:{name}", item) for name, item in got]

        return Effect(counters={"points_awarded": points}, spend={"points": points},
                      fresh=build, stale=frozenset({"points:loyalty"}),
                      metrics={"PointsEarned": points})


def named(prefix: str, items: list[dict[str, Any]]) -> NamedItems:
    """Name another capability's items: ``prefix`` alone for one, ``prefix:<n>`` for more."""
    if len(items) == 1:
        return [(prefix, items[0])]
    return [(f"{prefix}:{n}", item) for n, item in enumerate(items)]

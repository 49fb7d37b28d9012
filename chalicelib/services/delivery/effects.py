"""Campaign effects as named TransactItems, so they commit together with the send record.

- coupons: ``issue_coupon`` (bootstrap wires ``loyalty_hooks.coupon_issue_items``, which
  uses the coupons service's ``issue_items`` when wired) with a deterministic coupon id per
  (campaign, occurrence, member, template, n): a replay collides instead of issuing twice.
  Items are named ``coupon:<coupon id>``.
- points: ``award_items`` (bootstrap wires the loyalty service's ``award_items``: the
  balance with a version check, a ledger entry and a lot, built from a fresh read). Items
  are named ``points:<loyalty's name>``; a failed ``points:loyalty`` means the balance moved
  since the read, so the decision reads again and retries.
- best_of: ``chooser`` picks, per member, the template of a list that fits it best, with the
  coupon center's pure ranking (``domain/coupons/ranking.py``) over the definitions
  (``definition``, cached) and program tiers (``tiers``) bootstrap wires from the coupons
  service; the picks go into the send record.
- draw entries: ``grant_entries`` (bootstrap wires the draws service's
  ``campaign_grant_items``) over the draw ``draw`` looks up (cached briefly; a missing or
  closed draw is ``EffectUnavailable``). The grant is keyed by (member, draw, campaign,
  occurrence) and create-only, besides the send record: granted once. Items are named
  ``draw:<draw id>:<draws' name>``; no budget dimension (prizes are the draw's own cost).

The collaborators are passed at construction (``chalicelib/bootstrap.py``); a deployment
without one of them gets ``EffectUnavailable`` for that effect.

Each provider returns an ``Effect``: the items, the facts message placeholders may use
(``coupon.title`` …), counters for campaign stats and budget spend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import NamedItems
from chalicelib.domain.coupons.ranking import Tiers, for_member
from chalicelib.domain.coupons.template import CouponTemplate
from chalicelib.domain.engagement.draws import Draw
from chalicelib.errors import NotFound

TEMPLATE_TTL_SECONDS = 60.0
IssueCoupon = Callable[..., tuple[str, list[dict[str, Any]]]]
AwardItems = Callable[..., NamedItems]
GrantEntries = Callable[[str, str, int, str, str], NamedItems]  # member, draw, count, ref, now


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
                 award_items: AwardItems | None = None,
                 definition: Callable[[str], CouponTemplate | None] | None = None,
                 tiers: Callable[[], Tiers] | None = None,
                 draw: Callable[[str], Draw | None] | None = None,
                 grant_entries: GrantEntries | None = None) -> None:
        self._issue_coupon = issue_coupon
        self._template_facts = template_facts
        self._award_items = award_items
        self._definition = definition
        self._tiers = tiers
        self._draw = draw
        self._grant_entries = grant_entries
        self._draws: dict[str, tuple[float, Draw | None]] = {}
        self._templates: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._definitions: dict[str, tuple[float, CouponTemplate | None]] = {}

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

    def definition(self, template_id: str) -> CouponTemplate | None:
        """A template's definition for best_of, cached briefly like ``template``."""
        import time

        hit = self._definitions.get(template_id)
        if hit and time.monotonic() - hit[0] < TEMPLATE_TTL_SECONDS:
            return hit[1]
        fn = self._definition
        found = fn(template_id) if fn else None
        self._definitions[template_id] = (time.monotonic(), found)
        return found

    def tiers(self) -> Tiers:
        """The program's tiers (EffectUnavailable when templates cannot be read here)."""
        if self._definition is None:
            raise EffectUnavailable("best_of needs the coupon templates; none are wired here")
        return self._tiers() if self._tiers else Tiers()

    def chooser(self, profile: Mapping[str, Any] | None, loyalty: Mapping[str, Any] | None,
                now: datetime, default_tz: str) -> Chooser:
        """Picks best_of templates for one member (a pick raises EffectUnavailable when
        templates cannot be read here)."""
        return Chooser(self, profile, loyalty, now, default_tz)

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

    def draw_entries(self, member_id: str, draw_id: str, count: int, campaign_id: str,
                     occurrence: str, now: str) -> Effect:
        """``count`` entries of a lucky draw, granted once per (campaign, occurrence,
        member): the draws repository's create-only ``grant_ref`` and the ``grant`` ADD."""
        import time

        grant, lookup = self._grant_entries, self._draw
        if grant is None or lookup is None:
            raise EffectUnavailable("lucky draws are not wired here")
        hit = self._draws.get(draw_id)
        if hit is None or time.monotonic() - hit[0] >= TEMPLATE_TTL_SECONDS:
            hit = (time.monotonic(), lookup(draw_id))
            self._draws[draw_id] = hit
        draw = hit[1]
        if draw is None:
            raise EffectUnavailable(f"no lucky draw {draw_id}")
        if draw.closed_at(datetime.fromisoformat(now.replace("Z", "+00:00"))):
            raise EffectUnavailable(f"the lucky draw {draw_id} has closed")
        items = grant(member_id, draw_id, count, f"campaign:{campaign_id}#{occurrence}", now)
        return Effect(items=[(f"draw:{draw_id}:{name}", item) for name, item in items],
                      counters={"draw_entries_granted": count},
                      metrics={"DrawEntriesGranted": count})


class Chooser:
    """The best-fitting template of a best_of list for one member (``Effects.chooser``):
    issuable ones only (active, not ended), ranked like the coupon center; ``made`` lists
    each pick for the send record."""

    def __init__(self, effects: Effects, profile: Mapping[str, Any] | None,
                 loyalty: Mapping[str, Any] | None, now: datetime, default_tz: str) -> None:
        self._effects, self._profile, self._loyalty = effects, profile, loyalty
        self._now, self._tz = now, default_tz
        self.made: list[dict[str, Any]] = []

    def __call__(self, template_ids: tuple[str, ...]) -> str:
        tiers = self._effects.tiers()
        found = [t for t in map(self._effects.definition, template_ids)
                 if t is not None and t.status == "active" and self._now < t.validity.ends_at]
        ranked = for_member(found, self._profile, self._loyalty, tiers, self._now,
                            self._tz) if found else []
        # Nothing issuable: the first of the list, which then fails like a fixed template.
        best = ranked[0] if ranked else None
        chosen = best.template_id if best else template_ids[0]
        self.made.append({"of": list(template_ids), "chosen": chosen,
                          "reason": best.reason_code if best else "none"})
        return chosen


def named(prefix: str, items: list[dict[str, Any]]) -> NamedItems:
    """Name another capability's items: ``prefix`` alone for one, ``prefix:<n>`` for more."""
    if len(items) == 1:
        return [(prefix, items[0])]
    return [(f"{prefix}:{n}", item) for n, item in enumerate(items)]

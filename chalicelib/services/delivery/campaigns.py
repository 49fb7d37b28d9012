"""Where delivery gets campaign definitions: the active list (planner) and one by id
(workers), cached briefly per process, plus what each campaign needs read per member."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from chalicelib.domain.campaigns.model import (
    AwardPoints,
    Campaign,
    DrawEntries,
    IssueCoupon,
    Message,
)

TTL_SECONDS = 30.0
LOYALTY_ATTRS = frozenset({"tier", "points.available", "lifetime_spend", "qualifying_spend",
                           "orders_count", "last_order_days_ago",
                           # member facts, kept on LOYALTY (domain/members/facts.py)
                           "orders_30d", "orders_90d", "orders_365d", "spend_30d", "spend_90d",
                           "spend_365d", "avg_basket_365d", "first_order_days_ago",
                           "favourite_store", "favourite_channel", "top_category"})
LOYALTY_PREFIXES = ("affinity.",)
LOYALTY_PLACEHOLDERS = ("tier", "points")


class CampaignSource:
    """Reads campaigns through the campaigns service (its repository owns the layout):
    bootstrap passes the service's ``active_campaigns`` and ``get_campaign``."""

    def __init__(self, active: Callable[[], Iterable[Campaign]],
                 get: Callable[[str], Campaign | None]) -> None:
        self._active_fn = active
        self._get_fn = get
        self._cache: dict[str, tuple[float, Campaign | None]] = {}
        self._active: tuple[float, list[Campaign]] | None = None

    def active(self, max_age: float = 0.0) -> list[Campaign]:
        """Active campaigns: fresh for the planner, up to ``max_age`` seconds old for the
        events worker (one key query per batch of events, not per event)."""
        now = time.monotonic()
        if max_age and self._active and now - self._active[0] < max_age:
            return self._active[1]
        found = [c for c in self._active_fn() if c.status == "active"]
        for c in found:
            self._cache[c.id] = (now, c)
        self._active = (now, found)
        return found

    def get(self, campaign_id: str, fresh: bool = False) -> Campaign | None:
        """A campaign by id, from a cache of ``TTL_SECONDS`` unless ``fresh``."""
        hit = self._cache.get(campaign_id)
        if hit and not fresh and time.monotonic() - hit[0] < TTL_SECONDS:
            return hit[1]
        c = self._get_fn(campaign_id)
        self._cache[campaign_id] = (time.monotonic(), c)
        return c


class StaticCampaigns(CampaignSource):
    """A fixed set of campaigns (tests, benches)."""

    def __init__(self, campaigns: Iterable[Campaign]) -> None:
        self.campaigns = {c.id: c for c in campaigns}
        super().__init__(active=lambda: list(self.campaigns.values()),
                         get=self.campaigns.get)

    def get(self, campaign_id: str, fresh: bool = False) -> Campaign | None:
        return self.campaigns.get(campaign_id)


def message_action(actions: Iterable[Any]) -> Message | None:
    return next((a for a in actions if isinstance(a, Message)), None)


@lru_cache(maxsize=512)
def _needs_loyalty(key: str, audience_json: str, texts: tuple[str, ...],
                   multiplier: bool) -> bool:
    import json

    from chalicelib.domain.campaigns.audience import leaves
    from chalicelib.domain.campaigns.templates import placeholders

    tree = json.loads(audience_json)
    if tree is not None:
        for leaf in leaves(tree):
            attr = leaf[1].get("attr") if isinstance(leaf, tuple) and len(leaf) > 1 \
                and isinstance(leaf[1], dict) else None
            if attr is None or attr in LOYALTY_ATTRS or str(attr).startswith(LOYALTY_PREFIXES):
                return True
    for text in texts:
        for p in placeholders(text):
            if p.split(".")[0] in LOYALTY_PLACEHOLDERS:
                return True
    return multiplier


def needs_contact(c: Campaign) -> bool:
    """True when a message goes by SMS or email: the phone number and email address are on
    the PROFILE item only (the indexes never project contact data), so tasks planned from an
    index leave the profile for the worker to read whole."""
    return any(isinstance(a, Message) and {"sms", "email"} & {str(ch) for ch in a.channels}
               for _, _, a in c.all_actions())


def needs_loyalty(c: Campaign) -> bool:
    """True when the audience, the message placeholders, a points multiplier or a best_of
    coupon read the member's LOYALTY item (otherwise workers read the profile only)."""
    import json

    from chalicelib.services.delivery.journeys import needs_facts

    if needs_facts(c.journey):
        return True  # branches read facts: orders since entry, audiences on facts
    texts: list[str] = []
    multiplier = False
    for _, _, a in c.all_actions():
        if isinstance(a, IssueCoupon) and a.coupon is not None:
            return True  # best_of ranks on the member's tier and facts
        if isinstance(a, Message):
            for content in a.content.values():
                texts += [text for _, text in content.texts()]
        if isinstance(a, AwardPoints) and a.multiplier is not None:
            multiplier = True
    return _needs_loyalty(f"{c.id}", json.dumps(c.audience, sort_keys=True, default=str),
                          tuple(texts), multiplier)


def coupon_actions(actions: Iterable[Any],
                   choose: Callable[[tuple[str, ...]], str] | None = None) -> dict[str, int]:
    """Template → total quantity (one transaction may touch a template's items once); a
    ``best_of`` action counts the template ``choose`` picks of its list (the first without)."""
    out: dict[str, int] = {}
    for a in actions:
        if isinstance(a, IssueCoupon):
            ids = a.candidates()
            tid = choose(ids) if a.coupon is not None and choose is not None else ids[0]
            out[tid] = out.get(tid, 0) + a.quantity
    return out


def draw_actions(actions: Iterable[Any]) -> dict[str, int]:
    """Draw → total entries (one transaction may touch a member's grant item once)."""
    out: dict[str, int] = {}
    for a in actions:
        if isinstance(a, DrawEntries):
            out[a.draw] = out.get(a.draw, 0) + a.count
    return out

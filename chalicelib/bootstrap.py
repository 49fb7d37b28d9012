"""The composition root: the one place that builds the object graph (cosmicpython ch. 13).

``build()`` constructs every repository, client and service object with real adapters and
wires the hooks through which one capability calls another (loyalty → coupons, delivery →
coupons and loyalty, campaigns → coupon templates). Keyword overrides replace any part of
it, which is how tests inject fakes::

    bootstrap.bootstrap(campaign_source=StaticCampaigns([...]), channels=fakes)

app.py and the CLI call ``register()`` (the graph is built on the first service call), tests
call ``reset()`` or ``bootstrap(**fakes)``; services read the installed graph through
``services.deps``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.services import deps as wiring
from chalicelib.services.deps import CouponHooks, Deps, TemplateLookup


def coupon_template_lookup(template_id: str) -> Mapping[str, Any] | None:
    """Campaign lint and preview read coupon templates as stored (None when unknown)."""
    from chalicelib.errors import NotFound
    from chalicelib.services.coupons import coupons

    try:
        return coupons.get_template(template_id).definition
    except NotFound:
        return None


def build(**overrides: Any) -> Deps:
    """The graph with real adapters; ``overrides`` replace fields by name (tests).

    Imports happen here, on first use, not when app.py loads: a cold Lambda that never
    touches delivery does not pay for importing it."""
    from chalicelib.adapters.campaigns.preview_jobs import PreviewJobs
    from chalicelib.adapters.campaigns.repository import CampaignRepository
    from chalicelib.adapters.campaigns.segments import SegmentRepository
    from chalicelib.adapters.coupons.repository import CouponRepository
    from chalicelib.adapters.delivery.channels import default_channels
    from chalicelib.adapters.delivery.email import EmailChannel
    from chalicelib.adapters.delivery.inbox import InboxRepository
    from chalicelib.adapters.delivery.queues import DeliveryQueues
    from chalicelib.adapters.delivery.repository import DeliveryRepository
    from chalicelib.adapters.loyalty.programs import ProgramRepository
    from chalicelib.adapters.loyalty.repository import LoyaltyRepository
    from chalicelib.adapters.members.contacts import ContactIndex
    from chalicelib.adapters.members.index import MemberIndex
    from chalicelib.adapters.members.repository import MemberRepository
    from chalicelib.config import get_settings
    from chalicelib.services.campaigns import campaigns
    from chalicelib.services.coupons import checkout, coupons
    from chalicelib.services.coupons import ranking as coupon_ranking
    from chalicelib.services.delivery.campaigns import CampaignSource
    from chalicelib.services.delivery.effects import Effects
    from chalicelib.services.delivery.planner import Planner
    from chalicelib.services.delivery.worker import Worker
    from chalicelib.services.loyalty import hooks as loyalty_hooks
    from chalicelib.services.loyalty import loyalty

    unknown = set(overrides) - set(Deps.__dataclass_fields__) - {"scan_segments"}
    if unknown:
        raise TypeError(f"bootstrap: no such dependency {sorted(unknown)}")
    s = get_settings()
    delivery_repo = overrides.get("delivery") or DeliveryRepository()
    source = overrides.get("campaign_source") or CampaignSource(
        active=campaigns.active_campaigns, get=campaigns.get_campaign)
    channels = overrides.get("channels") or {**default_channels(delivery_repo),
                                              "email": EmailChannel()}
    queues = overrides.get("delivery_queues") or DeliveryQueues()
    effects = overrides.get("effects") or Effects(
        issue_coupon=loyalty_hooks.coupon_issue_items, template_facts=coupons.template_facts,
        award_items=loyalty.award_items, definition=coupon_ranking.template_definition,
        tiers=coupon_ranking.tier_ladder)
    lookup: TemplateLookup | None = overrides.get("template_lookup", coupon_template_lookup)
    graph = Deps(
        members=overrides.get("members") or MemberRepository(),
        member_index=overrides.get("member_index") or MemberIndex(),
        inbox=overrides.get("inbox") or InboxRepository(),
        loyalty=overrides.get("loyalty") or LoyaltyRepository(),
        programs=overrides.get("programs") or ProgramRepository(),
        coupons=overrides.get("coupons") or CouponRepository(),
        campaigns=overrides.get("campaigns") or CampaignRepository(),
        segments=overrides.get("segments") or SegmentRepository(),
        preview_jobs=overrides.get("preview_jobs") or PreviewJobs(),
        delivery=delivery_repo,
        delivery_queues=queues,
        channels=channels,
        campaign_source=source,
        effects=effects,
        planner=overrides.get("planner") or Planner(
            delivery_repo, source, queues,
            segments=overrides.get("scan_segments") or s.delivery_scan_segments,
            interval_minutes=s.schedule_minutes),
        worker=overrides.get("worker") or Worker(delivery_repo, source, channels, effects),
        coupon_hooks=overrides.get("coupon_hooks") or CouponHooks(
            issue_items=coupons.issue_items, order_confirmation=checkout.order_confirmation,
            restore_items=checkout.restore_items),
        template_lookup=lookup,
        contacts=overrides.get("contacts") or ContactIndex(),
    )
    return graph


def register() -> None:
    """Make ``build`` the default graph; it is built on the first service call (app.py and
    the CLI call this at start; ``reset`` and ``bootstrap`` do too)."""
    wiring.register_builder(build)


def bootstrap(**overrides: Any) -> Deps:
    """Build the graph (with ``overrides``) and install it for the services."""
    _forget_program()
    register()
    return wiring.install(build(**overrides))


def reset() -> None:
    """Drop the installed graph: the next use builds a fresh default one (tests, benches)."""
    _forget_program()
    register()
    wiring.clear()


def _forget_program() -> None:
    from chalicelib.services.loyalty import program

    program.invalidate()  # the cached program belongs to the previous graph's table

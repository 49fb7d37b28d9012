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
from typing import TYPE_CHECKING, TypedDict, Unpack

from chalicelib.services import deps as wiring
from chalicelib.services.deps import CouponHooks, Deps, TemplateLookup

if TYPE_CHECKING:  # types only: build() imports the adapters and services on first use
    from chalicelib.adapters.campaigns.preview_jobs import PreviewJobs
    from chalicelib.adapters.campaigns.repository import CampaignRepository
    from chalicelib.adapters.campaigns.segments import SegmentRepository
    from chalicelib.adapters.coupons.repository import CouponRepository
    from chalicelib.adapters.delivery.channels import Channel
    from chalicelib.adapters.delivery.inbox import InboxRepository
    from chalicelib.adapters.delivery.queues import DeliveryQueues
    from chalicelib.adapters.delivery.repository import DeliveryRepository
    from chalicelib.adapters.engagement.checkins import CheckinRepository
    from chalicelib.adapters.engagement.draws import DrawRepository
    from chalicelib.adapters.engagement.referrals import ReferralRepository
    from chalicelib.adapters.loyalty.activities import ActivityRepository
    from chalicelib.adapters.loyalty.gifts import GiftRepository
    from chalicelib.adapters.loyalty.partner import GiftPartner
    from chalicelib.adapters.loyalty.perks import PerkRepository
    from chalicelib.adapters.loyalty.programs import ProgramRepository
    from chalicelib.adapters.loyalty.repository import LoyaltyRepository
    from chalicelib.adapters.members.contacts import ContactIndex
    from chalicelib.adapters.members.index import MemberIndex
    from chalicelib.adapters.members.repository import MemberRepository
    from chalicelib.domain.campaigns.lint import DrawFacts, DrawLookup
    from chalicelib.services.delivery.campaigns import CampaignSource
    from chalicelib.services.delivery.effects import Effects
    from chalicelib.services.delivery.planner import Planner
    from chalicelib.services.delivery.worker import Worker


class Overrides(TypedDict, total=False):
    """What a test may replace: any field of ``Deps``, and the planner's scan segments."""

    members: MemberRepository
    member_index: MemberIndex
    inbox: InboxRepository
    loyalty: LoyaltyRepository
    programs: ProgramRepository
    perks: PerkRepository
    coupons: CouponRepository
    campaigns: CampaignRepository
    segments: SegmentRepository
    preview_jobs: PreviewJobs
    delivery: DeliveryRepository
    delivery_queues: DeliveryQueues
    channels: dict[str, Channel]
    campaign_source: CampaignSource
    effects: Effects
    planner: Planner
    worker: Worker
    coupon_hooks: CouponHooks
    template_lookup: TemplateLookup | None
    draw_lookup: DrawLookup | None
    contacts: ContactIndex
    draws: DrawRepository
    referrals: ReferralRepository
    gifts: GiftRepository
    gift_partner: GiftPartner
    checkins: CheckinRepository
    activities: ActivityRepository
    scan_segments: int


def coupon_template_lookup(template_id: str) -> Mapping[str, object] | None:
    """Campaign lint and preview read coupon templates as stored (None when unknown)."""
    from chalicelib.errors import NotFound
    from chalicelib.services.coupons import coupons

    try:
        return coupons.get_template(template_id).definition
    except NotFound:
        return None


def draw_facts_lookup(draw_id: str) -> DrawFacts | None:
    """Campaign lint reads lucky draws as stored: closing time, closed now (None when
    unknown)."""
    from chalicelib.domain.campaigns.lint import DrawFacts
    from chalicelib.services import clock
    from chalicelib.services.engagement import draws

    found = draws.definition(draw_id)
    if found is None:
        return None
    return DrawFacts(found.id, found.window.closes_at, found.closed_at(clock.now()))


def build(**overrides: Unpack[Overrides]) -> Deps:
    """The graph with real adapters; ``overrides`` replace fields by name (tests).

    Imports happen here, on first use, not when app.py loads: a cold Lambda that never
    touches delivery does not pay for importing it."""
    unknown = set(overrides) - set(Deps.__dataclass_fields__) - {"scan_segments"}
    if unknown:
        raise TypeError(f"bootstrap: no such dependency {sorted(unknown)}")
    repos = _repositories(overrides)
    delivery = _delivery(overrides, repos["delivery"], repos["delivery_queues"])
    return Deps(**repos, **delivery, coupon_hooks=_coupon_hooks(overrides),
                template_lookup=overrides.get("template_lookup", coupon_template_lookup),
                draw_lookup=overrides.get("draw_lookup", draw_facts_lookup),
                **_gifts(overrides))


class _Repositories(TypedDict):
    members: MemberRepository
    member_index: MemberIndex
    inbox: InboxRepository
    loyalty: LoyaltyRepository
    programs: ProgramRepository
    perks: PerkRepository
    coupons: CouponRepository
    campaigns: CampaignRepository
    segments: SegmentRepository
    preview_jobs: PreviewJobs
    delivery: DeliveryRepository
    delivery_queues: DeliveryQueues
    contacts: ContactIndex
    draws: DrawRepository
    referrals: ReferralRepository
    checkins: CheckinRepository
    activities: ActivityRepository


def _repositories(overrides: Overrides) -> _Repositories:
    from chalicelib.adapters.campaigns.preview_jobs import PreviewJobs
    from chalicelib.adapters.campaigns.repository import CampaignRepository
    from chalicelib.adapters.campaigns.segments import SegmentRepository
    from chalicelib.adapters.coupons.repository import CouponRepository
    from chalicelib.adapters.delivery.inbox import InboxRepository
    from chalicelib.adapters.delivery.queues import DeliveryQueues
    from chalicelib.adapters.delivery.repository import DeliveryRepository
    from chalicelib.adapters.engagement.checkins import CheckinRepository
    from chalicelib.adapters.engagement.draws import DrawRepository
    from chalicelib.adapters.engagement.referrals import ReferralRepository
    from chalicelib.adapters.loyalty.activities import ActivityRepository
    from chalicelib.adapters.loyalty.perks import PerkRepository
    from chalicelib.adapters.loyalty.programs import ProgramRepository
    from chalicelib.adapters.loyalty.repository import LoyaltyRepository
    from chalicelib.adapters.members.contacts import ContactIndex
    from chalicelib.adapters.members.index import MemberIndex
    from chalicelib.adapters.members.repository import MemberRepository

    return {
        "members": overrides.get("members") or MemberRepository(),
        "member_index": overrides.get("member_index") or MemberIndex(),
        "inbox": overrides.get("inbox") or InboxRepository(),
        "loyalty": overrides.get("loyalty") or LoyaltyRepository(),
        "programs": overrides.get("programs") or ProgramRepository(),
        "perks": overrides.get("perks") or PerkRepository(),
        "coupons": overrides.get("coupons") or CouponRepository(),
        "campaigns": overrides.get("campaigns") or CampaignRepository(),
        "segments": overrides.get("segments") or SegmentRepository(),
        "preview_jobs": overrides.get("preview_jobs") or PreviewJobs(),
        "delivery": overrides.get("delivery") or DeliveryRepository(),
        "delivery_queues": overrides.get("delivery_queues") or DeliveryQueues(),
        "contacts": overrides.get("contacts") or ContactIndex(),
        "draws": overrides.get("draws") or DrawRepository(),
        "referrals": overrides.get("referrals") or ReferralRepository(),
        "checkins": overrides.get("checkins") or CheckinRepository(),
        "activities": overrides.get("activities") or ActivityRepository(),
    }


class _Delivery(TypedDict):
    channels: dict[str, Channel]
    campaign_source: CampaignSource
    effects: Effects
    planner: Planner
    worker: Worker


def _delivery(overrides: Overrides, repo: DeliveryRepository,
              queues: DeliveryQueues) -> _Delivery:
    """Delivery's graph: campaigns as the planner and workers see them, channels, effects
    (coupons, points and draw entries through their services), caps from the live program."""
    from chalicelib.adapters.delivery.channels import default_channels
    from chalicelib.adapters.delivery.email import EmailChannel
    from chalicelib.config import get_settings
    from chalicelib.domain.delivery.policy import LiveCaps
    from chalicelib.services.campaigns import campaigns
    from chalicelib.services.coupons import coupons
    from chalicelib.services.coupons import ranking as coupon_ranking
    from chalicelib.services.delivery.campaigns import CampaignSource
    from chalicelib.services.delivery.effects import Effects
    from chalicelib.services.delivery.planner import Planner
    from chalicelib.services.delivery.worker import Worker
    from chalicelib.services.engagement import draws
    from chalicelib.services.loyalty import hooks as loyalty_hooks
    from chalicelib.services.loyalty import loyalty, perks

    s = get_settings()
    source = overrides.get("campaign_source") or CampaignSource(
        active=campaigns.active_campaigns, get=campaigns.get_campaign)
    channels = overrides.get("channels") or {**default_channels(repo),
                                              "email": EmailChannel()}
    effects = overrides.get("effects") or Effects(
        issue_coupon=loyalty_hooks.coupon_issue_items, template_facts=coupons.template_facts,
        award_items=loyalty.award_items, definition=coupon_ranking.template_definition,
        tiers=coupon_ranking.tier_ladder, draw=draws.definition,
        grant_entries=draws.campaign_grant_items)
    return {
        "channels": channels,
        "campaign_source": source,
        "effects": effects,
        "planner": overrides.get("planner") or Planner(
            repo, source, queues,
            segments=overrides.get("scan_segments") or s.delivery_scan_segments,
            interval_minutes=s.schedule_minutes),
        "worker": overrides.get("worker") or Worker(repo, source, channels, effects,
                                                    caps=LiveCaps(perks.delivery_caps)),
    }


class _Gifts(TypedDict):
    gifts: GiftRepository
    gift_partner: GiftPartner


def _gifts(overrides: Overrides) -> _Gifts:
    """Gift fulfilment: its records and the partner webhook (URL and secret from settings)."""
    from chalicelib.adapters.loyalty.gifts import GiftRepository
    from chalicelib.adapters.loyalty.partner import GiftPartner

    return {"gifts": overrides.get("gifts") or GiftRepository(),
            "gift_partner": overrides.get("gift_partner") or GiftPartner()}


def _coupon_hooks(overrides: Overrides) -> CouponHooks:
    from chalicelib.services.coupons import checkout, coupons

    return overrides.get("coupon_hooks") or CouponHooks(
        issue_items=coupons.issue_items, order_confirmation=checkout.order_confirmation,
        restore_items=checkout.restore_items)


def register() -> None:
    """Make ``build`` the default graph; it is built on the first service call (app.py and
    the CLI call this at start; ``reset`` and ``bootstrap`` do too)."""
    wiring.register_builder(build)


def bootstrap(**overrides: Unpack[Overrides]) -> Deps:
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

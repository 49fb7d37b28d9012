"""What the services run with: the object graph ``chalicelib/bootstrap.py`` builds.

Services read their repositories, clients and cross-capability hooks from ``deps()``; they
never construct an adapter themselves and never look a sibling service up by name. The hooks
are plain callables wired in bootstrap, so loyalty can issue a coupon and delivery can award
points without loyalty importing coupons (or delivery importing loyalty): no import cycles.

This module is the leaf of that wiring: it imports no service, so every service may import
it. bootstrap registers its builder here (app.py and the CLI call ``bootstrap.register()``);
``deps()`` builds the default graph on first use (once per Lambda container), tests install
one with fakes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: the classes live in services that import this module
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
    from chalicelib.domain.campaigns.lint import DrawLookup
    from chalicelib.services.delivery.campaigns import CampaignSource
    from chalicelib.services.delivery.effects import Effects
    from chalicelib.services.delivery.planner import Planner
    from chalicelib.services.delivery.worker import Worker

Item = dict[str, Any]
TemplateLookup = Callable[[str], Mapping[str, object] | None]  # coupon template JSON


@dataclass
class CouponHooks:
    """What loyalty asks of coupons inside its own transactions (see services/loyalty/hooks);
    ``None`` where a deployment runs loyalty without coupons."""

    issue_items: Callable[..., list[Item]] | None = None
    order_confirmation: Callable[..., tuple[list[int], list[tuple[str, Item]]]] | None = None
    restore_items: Callable[..., list[Item]] | None = None


@dataclass
class Deps:
    """The wired graph. Every field is built explicitly in ``bootstrap.build``."""

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
    draw_lookup: DrawLookup | None  # lucky draws for campaign lint (draw_entries actions)
    contacts: ContactIndex  # members by phone (inbound SMS replies)
    draws: DrawRepository  # lucky draws (engagement)
    referrals: ReferralRepository  # 老带新: codes, referral records, due index, stats
    gifts: GiftRepository  # gift fulfilment records and partner webhooks (issue 14)
    gift_partner: GiftPartner  # the fulfilment partner's signed webhook
    checkins: CheckinRepository  # daily check-in (engagement)
    activities: ActivityRepository  # points for activities (loyalty)


_lock = threading.Lock()
_current: list[Deps] = []
_builder: list[Callable[[], Deps]] = []


def register_builder(build: Callable[[], Deps]) -> None:
    """bootstrap's default builder (called when bootstrap is imported)."""
    _builder[:] = [build]


def install(graph: Deps) -> Deps:
    with _lock:
        _current[:] = [graph]
    return graph


def clear() -> None:
    """Forget the graph; the next ``deps()`` builds a fresh one (new stack, new table)."""
    with _lock:
        _current.clear()


def deps() -> Deps:
    if _current:
        return _current[0]
    with _lock:
        if not _current:
            if not _builder:
                raise RuntimeError("services are not wired: call chalicelib.bootstrap."
                                   "register() first (app.py, the CLI and the tests do)")
            _current.append(_builder[0]())
        return _current[0]

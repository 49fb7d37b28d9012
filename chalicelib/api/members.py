"""Members: registration and profiles (service/admin), self-service under /me (member)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.members.facts_view import ProfileFacts
from chalicelib.domain.members.model import (
    Device,
    DeviceView,
    MemberPatch,
    MemberView,
    NewMember,
    SegmentationPatch,
    SegmentationView,
)
from chalicelib.services.members import facts as member_facts
from chalicelib.services.members import members, support
from chalicelib.services.members.support import SupportView

bp = Blueprint(__name__)
api = Api(bp)
BACKEND = (Role.service, Role.admin)
OPERATORS = (Role.service, Role.marketer, Role.admin)  # segmentation: trusted callers only


@api.route("POST", "/members", roles=BACKEND, body=NewMember, response=MemberView, status=201,
           errors=(400, 409))
def create_member(ctx: Ctx, body: NewMember) -> MemberView:
    """Register a member."""
    return members.register(body, ctx.request_key)


@api.route("GET", "/members/{member_id}", roles=(*BACKEND, Role.marketer), response=MemberView,
           errors=(404,))
def get_member(ctx: Ctx, member_id: str) -> MemberView:
    """Read a member's profile."""
    return members.get(member_id)


@api.route("PATCH", "/members/{member_id}", roles=BACKEND, body=MemberPatch, response=MemberView,
           errors=(400, 404, 409))
def patch_member(ctx: Ctx, member_id: str, body: MemberPatch) -> MemberView:
    """Update profile fields of a member."""
    return members.correct(member_id, body, ctx.sub, ctx.request_key)


@api.route("GET", "/me", roles=(Role.member,), response=MemberView, errors=(404,))
def get_me(ctx: Ctx) -> MemberView:
    """The calling member's profile."""
    return members.get(ctx.sub)


@api.route("PATCH", "/me", roles=(Role.member,), body=MemberPatch, response=MemberView,
           errors=(400, 404, 409))
def patch_me(ctx: Ctx, body: MemberPatch) -> MemberView:
    """Update the calling member's own profile fields."""
    return members.update(ctx.sub, body, by_member=True)


@api.route("DELETE", "/me", roles=(Role.member,), status=204, errors=(404,))
def erase_me(ctx: Ctx) -> None:
    """Erase the calling member's personal data (irreversible)."""
    members.erase(ctx.sub)


@api.route("GET", "/me/export", roles=(Role.member,), errors=(404,))
def export_me(ctx: Ctx) -> dict:
    """Everything Perks holds about the calling member."""
    return members.export(ctx.sub)


@api.route("GET", "/me/profile-facts", roles=(Role.member,), response=ProfileFacts,
           errors=(404,))
def profile_facts(ctx: Ctx) -> ProfileFacts:
    """What Perks knows about the calling member from its orders and profile, and why."""
    return member_facts.profile_facts(ctx.sub)


@api.route("PATCH", "/admin/members/{member_id}/segmentation", roles=OPERATORS,
           body=SegmentationPatch, response=SegmentationView, errors=(400, 404, 409))
def patch_segmentation(ctx: Ctx, member_id: str, body: SegmentationPatch) -> SegmentationView:
    """Set a member's tags, attributes, city or city tier (what audiences read); audited."""
    return members.update_segmentation(member_id, body, ctx.sub, ctx.request_key)


@api.route("POST", "/me/devices", roles=(Role.member,), body=Device, response=DeviceView,
           status=201, errors=(400, 404, 409))
def add_device(ctx: Ctx, body: Device) -> DeviceView:
    """Register a push device; answers its opaque device_id (a token moves between members)."""
    return members.add_device(ctx.sub, body)


@api.route("GET", "/me/devices", roles=(Role.member,), response=list[DeviceView], errors=(404,))
def list_devices(ctx: Ctx) -> list[DeviceView]:
    """The calling member's push devices, by device_id."""
    return members.list_devices(ctx.sub)


@api.route("DELETE", "/me/devices/{device_id}", roles=(Role.member,), status=204,
           errors=(404,))
def remove_device(ctx: Ctx, device_id: str) -> None:
    """Forget a push device (by the device_id registration answered; never the token)."""
    members.remove_device(ctx.sub, device_id)


@api.route("GET", "/admin/members/{member_id}/support", roles=(Role.marketer, Role.admin),
           response=SupportView, errors=(404,))
def support_view(ctx: Ctx, member_id: str) -> SupportView:
    """Support lookup: masked profile, consent, tier, points, wallet and inbox; audited."""
    return support.lookup(member_id, ctx.sub)

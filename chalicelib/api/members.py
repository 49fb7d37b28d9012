"""Members: registration and profiles (service/admin), self-service under /me (member)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.members import Device, MemberPatch, MemberView, NewMember
from chalicelib.services import members

bp = Blueprint(__name__)
api = Api(bp)
BACKEND = (Role.service, Role.admin)


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
    return members.update(member_id, body)


@api.route("GET", "/me", roles=(Role.member,), response=MemberView, errors=(404,))
def get_me(ctx: Ctx) -> MemberView:
    """The calling member's profile."""
    return members.get(ctx.sub)


@api.route("PATCH", "/me", roles=(Role.member,), body=MemberPatch, response=MemberView,
           errors=(400, 404, 409))
def patch_me(ctx: Ctx, body: MemberPatch) -> MemberView:
    """Update the calling member's own profile fields."""
    return members.update(ctx.sub, body)


@api.route("DELETE", "/me", roles=(Role.member,), status=204, errors=(404,))
def erase_me(ctx: Ctx) -> None:
    """Erase the calling member's personal data (irreversible)."""
    members.erase(ctx.sub)


@api.route("GET", "/me/export", roles=(Role.member,), errors=(404,))
def export_me(ctx: Ctx) -> dict:
    """Everything Perks holds about the calling member."""
    return members.export(ctx.sub)


@api.route("POST", "/me/devices", roles=(Role.member,), body=Device, status=201, errors=(400, 404))
def add_device(ctx: Ctx, body: Device) -> dict:
    """Register a push device."""
    return members.add_device(ctx.sub, body)


@api.route("DELETE", "/me/devices/{token}", roles=(Role.member,), status=204, errors=(404,))
def remove_device(ctx: Ctx, token: str) -> None:
    """Forget a push device."""
    members.remove_device(ctx.sub, token)

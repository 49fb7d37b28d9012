"""Member use cases: register, read, update, erase, export, devices."""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.adapters.guards import guard_put, replayed
from chalicelib.adapters.members_repo import MemberRepository
from chalicelib.config import get_settings
from chalicelib.domain import members as domain
from chalicelib.domain.members import Device, MemberPatch, MemberView, NewMember
from chalicelib.errors import NotFound
from chalicelib.observability import metrics_add
from chalicelib.services import clock

_repo: MemberRepository | None = None


def repo() -> MemberRepository:
    global _repo
    if _repo is None:
        _repo = MemberRepository()
    return _repo


def use(repository: MemberRepository | None) -> None:
    """Swap the repository (tests)."""
    global _repo
    _repo = repository


def register(req: NewMember, request_key: str | None = None) -> MemberView:
    """Create a member; 409 when the id is taken (a keyed retry replays the first create)."""
    settings = get_settings()
    now = clock.iso()
    data = req.model_dump(mode="json", exclude_none=True)
    member_id = data.pop("member_id", None) or f"m-{secrets.token_hex(8)}"
    signup = req.signup_at.isoformat() if req.signup_at else now
    data.pop("signup_at", None)
    profile = {
        "member_id": member_id,
        "timezone": settings.default_timezone,
        "locale": settings.default_locale,
        "consent": {"push": False, "sms": False, "email": False},
        **data,
        "signup_at": signup,
        "created_at": now,
        "updated_at": now,
        "erased": False,
    }
    view = MemberView.model_validate(profile)
    guard = guard_put(request_key, view.model_dump(mode="json")) if request_key else None
    try:
        repo().create(profile, guard)
    except TransactionCancelled as e:
        first = replayed(e, request_key)
        if first is None:
            raise
        return MemberView.model_validate(first)
    metrics_add("MemberRegistered")
    return view


def get(member_id: str) -> MemberView:
    """The member's profile; 404 when unknown or erased."""
    return MemberView.model_validate(repo().require(member_id))


def update(member_id: str, patch: MemberPatch) -> MemberView:
    """Apply a profile patch under an optimistic version check."""
    before = repo().require(member_id)
    after = domain.apply_patch(before, patch)
    repo().replace_profile(before, after, clock.iso())
    return get(member_id)


def erase(member_id: str) -> None:
    """Irreversibly remove PII and targeting index entries; pseudonymous ledgers remain."""
    repo().require(member_id)
    repo().erase(member_id, domain.PII_FIELDS, clock.iso())
    metrics_add("MemberErased")


def export(member_id: str) -> dict[str, Any]:
    """Everything Perks holds about the member, grouped by kind."""
    repo().require(member_id)
    out: dict[str, Any] = {"member_id": member_id, "exported_at": clock.iso()}
    for item in repo().partition(member_id):
        kind = item["SK"].split("#", 1)[0].lower()
        body = {k: v for k, v in item.items()
                if k not in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "version")}
        if kind == "profile":
            out["profile"] = body
        else:
            out.setdefault(kind if kind.endswith("s") else f"{kind}s", []).append(body)
    return out


def add_device(member_id: str, device: Device) -> dict[str, Any]:
    """Register (or refresh) a push device for the member."""
    repo().require(member_id)
    record = {"platform": device.platform, "token": device.token, "enabled": True,
              "registered_at": clock.iso()}
    from chalicelib.adapters.channels import device_endpoint  # SNS endpoint per device

    arn = device_endpoint(member_id, device.token)
    if arn:
        record["endpoint_arn"] = arn
    repo().put_device(member_id, record)
    return {"platform": device.platform, "registered_at": record["registered_at"]}


def remove_device(member_id: str, token: str) -> None:
    """Forget a device; 404 when the member has no such device."""
    if not repo().delete_device(member_id, token):
        raise NotFound("device not found")

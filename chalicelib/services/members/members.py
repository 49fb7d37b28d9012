"""Member use cases: register, read, update, erase, export, devices."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from chalicelib.adapters.dynamo import TransactionCancelled, retrying
from chalicelib.adapters.guards import guard_put, replayed
from chalicelib.adapters.members.repository import MemberRepository
from chalicelib.config import get_settings
from chalicelib.domain.members import model as domain
from chalicelib.domain.members.model import (
    Device,
    DeviceView,
    MemberPatch,
    MemberView,
    NewMember,
    SegmentationPatch,
    SegmentationView,
)
from chalicelib.errors import Conflict, NotFound
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps


def repo() -> MemberRepository:
    return deps().members


def register(req: NewMember, request_key: str | None = None) -> MemberView:
    """Create a member; 409 when the id is taken (a keyed retry replays the first create)."""
    settings = get_settings()
    now = clock.iso()
    data = req.model_dump(mode="json", exclude_none=True)
    member_id = data.pop("member_id", None) or f"m-{secrets.token_hex(8)}"
    signup = req.signup_at.isoformat() if req.signup_at else now
    data.pop("signup_at", None)
    if data.get("birthday"):  # a trusted caller's birthday counts at once
        data.update(domain.birthday_provenance("registration", now))
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


def update(member_id: str, patch: MemberPatch, *, by_member: bool = False) -> MemberView:
    """The member's own profile patch (``by_member``: set-once fields already set are
    refused) under an optimistic version check."""
    before = repo().require(member_id)
    now = clock.iso()
    after = domain.apply_patch(before, patch, by_member=by_member, now=now)
    repo().replace_profile(before, after, now)
    return get(member_id)


def correct(member_id: str, patch: MemberPatch, actor: str,
            request_key: str | None = None) -> MemberView:
    """An operator's profile change (PATCH /members/{id}: birthday corrections, name,
    consent, ...), audited in the same transaction: who, when, which fields -- never their
    values, since audit entries outlive a member's erasure."""
    before = repo().require(member_id)
    now = clock.iso()
    after = domain.apply_patch(before, patch, now=now)
    view = MemberView.model_validate({**after, "updated_at": now})
    audit = {"at": now, "who": actor, "entity": "member", "entity_id": member_id,
             "action": "profile", "changes": _profile_changes(before, after)}
    guard = guard_put(request_key, view.model_dump(mode="json")) if request_key else None
    try:
        repo().replace_audited(before, after, now, audit, guard)
    except TransactionCancelled as e:
        first = replayed(e, request_key)
        if first is None:
            raise
        return MemberView.model_validate(first)
    metrics_add("MemberCorrected")
    return view


def _profile_changes(before: Mapping[str, object], after: Mapping[str, object]
                     ) -> list[dict[str, str]]:
    """JSON paths of the profile fields that changed (consent per channel), no values."""
    out: list[dict[str, str]] = []
    for name in domain.ProfileFields.model_fields:
        old, new = before.get(name), after.get(name)
        if name == "consent" and isinstance(old, dict) and isinstance(new, dict):
            out += [{"path": f"/consent/{ch}"} for ch in sorted(set(old) | set(new))
                    if bool(old.get(ch)) != bool(new.get(ch))]  # absent means no
        elif old != new:
            out.append({"path": f"/{name}"})
    return out


def update_segmentation(member_id: str, patch: SegmentationPatch, actor: str,
                        request_key: str | None = None) -> SegmentationView:
    """An operator's change to what audiences and coupon gates read, audited atomically.

    The audit entry names who changed which fields (how many tags were added/removed,
    attribute keys), never tag names or values: audit entries outlive a member's erasure,
    and a tag ("pregnant", "staff") says something about the person.
    """
    before = repo().require(member_id)
    after = domain.apply_patch(before, patch)
    now = clock.iso()
    view = SegmentationView.model_validate({**after, "updated_at": now})
    audit = {"at": now, "who": actor, "entity": "member", "entity_id": member_id,
             "action": "segmentation", "changes": _segmentation_changes(before, after)}
    guard = guard_put(request_key, view.model_dump(mode="json")) if request_key else None
    try:
        repo().replace_segmentation(before, after, now, audit, guard)
    except TransactionCancelled as e:
        first = replayed(e, request_key)
        if first is None:
            raise
        return SegmentationView.model_validate(first)
    metrics_add("MemberSegmentationChanged")
    return view


def _tags(item: Mapping[str, object]) -> set[object]:
    tags = item.get("tags")
    return set(tags) if isinstance(tags, (list, tuple, set, frozenset)) else set()


def _attributes(item: Mapping[str, object]) -> Mapping[str, object]:
    attrs = item.get("attributes")
    return attrs if isinstance(attrs, Mapping) else {}


def _segmentation_changes(before: Mapping[str, object], after: Mapping[str, object]
                          ) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    old_tags, new_tags = _tags(before), _tags(after)
    if old_tags != new_tags:
        out.append({"path": "/tags", "added": len(new_tags - old_tags),
                    "removed": len(old_tags - new_tags)})
    old_attrs, new_attrs = _attributes(before), _attributes(after)
    for key in sorted(set(old_attrs) | set(new_attrs)):
        if old_attrs.get(key) != new_attrs.get(key):
            out.append({"path": f"/attributes/{key}"})
    for name in ("city", "city_tier"):
        if before.get(name) != after.get(name):
            out.append({"path": f"/{name}"})
    return out


def erase(member_id: str) -> None:
    """Irreversibly remove PII and targeting index entries; pseudonymous ledgers remain."""
    from chalicelib.services.delivery import delivery

    repo().require(member_id)
    pending = repo().erase(member_id, domain.PII_FIELDS, clock.iso())
    delivery.stop_outbox(pending, "erased")
    metrics_add("MemberErased")


def export(member_id: str) -> dict[str, object]:
    """Everything Perks holds about the member, grouped by kind."""
    repo().require(member_id)
    out: dict[str, object] = {"member_id": member_id, "exported_at": clock.iso()}
    groups: dict[str, list[dict[str, object]]] = {}
    for item in repo().partition(member_id):
        kind = item["SK"].split("#", 1)[0].lower()
        body = {k: v for k, v in item.items()
                if k not in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "version")}
        if kind == "profile":
            out["profile"] = body
            continue
        key = kind if kind.endswith("s") else f"{kind}s"
        if key not in groups:
            groups[key] = []
            out[key] = groups[key]  # the same list, filled below: kinds keep their order
        groups[key].append(body)
    return out


def add_device(member_id: str, device: Device) -> DeviceView:
    """Register (or refresh) a push device; a token another member holds moves to this one
    (push providers address a device, not a person: the last account signed in owns it)."""
    from chalicelib.adapters.delivery.channels import device_endpoint, forget_endpoint

    repo().require(member_id)

    def attempt() -> DeviceView:
        device_id, holder = repo().device_holder(device.token)
        if holder and holder != member_id:
            old = repo().get_device(holder, device_id)
            if old and old.get("endpoint_arn"):  # SNS keys endpoints by token: free it
                forget_endpoint(str(old["endpoint_arn"]))
        registered_at = clock.iso()
        record: dict[str, object] = {"platform": device.platform, "token": device.token,
                                     "enabled": True, "registered_at": registered_at}
        arn = device_endpoint(member_id, device.token)  # SNS endpoint per device
        if arn:
            record["endpoint_arn"] = arn
        repo().put_device(member_id, record, previous_owner=holder)
        return DeviceView(device_id=device_id, platform=device.platform,
                          registered_at=registered_at)

    return retrying(attempt, retry_on=(Conflict,))


def list_devices(member_id: str) -> list[DeviceView]:
    """The member's devices by opaque id (tokens are never returned)."""
    repo().require(member_id)
    return [DeviceView.model_validate(d) for d in repo().devices(member_id)]


def remove_device(member_id: str, device_id: str) -> None:
    """Forget a device; 404 when the member has no such device."""
    if not repo().delete_device(member_id, device_id):
        raise NotFound("device not found")

"""Campaign use cases: store versions, change status, list, delete drafts, preview, audit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TypedDict

from chalicelib.adapters.campaigns.repository import CampaignRepository
from chalicelib.domain.campaigns import lint as linter
from chalicelib.domain.campaigns.diff import diff
from chalicelib.domain.campaigns.model import TRANSITIONS, Campaign, Status
from chalicelib.domain.campaigns.validate import parse_campaign, validate_campaign
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import TemplateLookup, deps

DEFAULT_SCAN_LIMIT = 20_000
MAX_SCAN_LIMIT = 200_000


def repo() -> CampaignRepository:
    return deps().campaigns


def template_lookup() -> TemplateLookup | None:
    """Coupon templates as stored on the stack (bootstrap wires the coupons service; None
    where a deployment runs campaigns without it)."""
    return deps().template_lookup


# --- records ---------------------------------------------------------------------------------

def _record(item: Mapping[str, object]) -> dict[str, object]:
    out = {k: item.get(k) for k in ("campaign_id", "version", "status", "name", "created_at",
                                    "created_by", "updated_at", "updated_by")}
    out["campaign"] = item.get("doc", {})
    return out


def _summary(item: Mapping[str, object]) -> dict[str, object]:
    from chalicelib.adapters.campaigns.repository import SUMMARY_FIELDS

    return {k: item.get(k) for k in SUMMARY_FIELDS}


def _current_item(c: Campaign, version: int, who: str, now: str,
                  before: Mapping[str, object] | None) -> dict[str, object]:
    return {
        "campaign_id": c.id, "version": version, "status": c.status.value, "name": c.name,
        "trigger_type": c.trigger.type, "local_time": c.local_time, "priority": c.priority,
        "window_start": c.starts_at.isoformat(),
        "window_end": c.ends_at.isoformat() if c.ends_at else None,
        "doc": c.document(), "updated_at": now, "updated_by": who,
        "created_at": before["created_at"] if before else now,
        "created_by": before["created_by"] if before else who,
    }


def _check_transition(before: Status, after: Status, path: str) -> None:
    if after != before and after not in TRANSITIONS[before]:
        allowed = ", ".join(s.value for s in sorted(TRANSITIONS[before])) or "none (final)"
        raise Conflict(f"a {before.value} campaign cannot become {after.value}",
                       details=[{"path": path, "message": f"allowed from {before.value}: "
                                 f"{allowed}"}])


# --- use cases -------------------------------------------------------------------------------

def put(campaign_id: str, campaign: Campaign, who: str) -> dict[str, object]:
    """Store a new version (or nothing when unchanged); returns the record and lint."""
    if campaign.id != campaign_id:
        raise ValidationFailed("the campaign id does not match the URL", details=[
            {"path": "/id", "message": f"must be '{campaign_id}'",
             "hint": "ids are fixed once created; copy the campaign to rename it"}])
    campaign = pin_segments(campaign)
    before = repo().current(campaign_id)
    warnings = lint(campaign, online=True)
    if before is not None and before.get("doc") == campaign.document():
        return {**_record(before), "result": "unchanged", "warnings": warnings}
    if before is not None:
        _check_transition(Status(before["status"]), campaign.status, "/status")
    version = (before["version"] + 1) if before else 1
    now = clock.iso()
    item = _current_item(campaign, version, who, now, before)
    changes = diff(before.get("doc") if before else {}, item["doc"])
    action = "update" if before else "create"
    repo().save(item, repo().audit_item(now, who, action, campaign_id, version, changes),
                before["version"] if before else None)
    metrics_add("CampaignSaved")
    return {**_record(item), "result": "created" if before is None else "updated",
            "warnings": warnings}


def get(campaign_id: str, version: int | None = None) -> dict[str, object]:
    """The live definition, or one stored version of it."""
    item = repo().current(campaign_id) if version is None else repo().version(campaign_id,
                                                                              version)
    if item is None:
        what = f"campaign {campaign_id}" + (f" version {version}" if version else "")
        raise NotFound(f"{what} not found")
    out = _record(item)
    if version is None:
        out["versions"] = [{"version": v["version"], "status": v.get("status"),
                            "updated_at": v.get("updated_at"),
                            "updated_by": v.get("updated_by")}
                           for v in repo().versions(campaign_id)]
    return out


def load(campaign_id: str) -> Campaign:
    """The live campaign as a model (the scheduler and workers use it)."""
    item = repo().current(campaign_id)
    if item is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return parse_campaign(item["doc"])


def active() -> list[Campaign]:
    """Every active campaign, by one key query on CAMPAIGNSTATUS#active (no scan)."""
    return [parse_campaign(i["doc"]) for i in repo().by_status(Status.active.value)]


class CampaignPage(TypedDict):
    items: list[dict[str, object]]
    next_cursor: str | None


def page(status: str | None, limit: int, cursor: str | None, activity: bool = False
         ) -> CampaignPage:
    """One page of campaign summaries, by key (GSI1, or GSI2 for one status); with
    ``activity`` also the console's live columns (a bounded batched read for the page)."""
    if status is not None and status not in Status.__members__:
        raise ValidationFailed("unknown status", details=[
            {"path": "/status", "message": "one of " + ", ".join(Status.__members__)}])
    items, nxt = repo().page(status=status, limit=limit, cursor=cursor)
    out = [_summary(i) for i in items]
    if activity and items:
        from chalicelib.services.campaigns.results import list_columns

        live = list_columns(items)
        out = [{**o, **live.get(str(o["campaign_id"]), {})} for o in out]
    return {"items": out, "next_cursor": nxt}


def set_status(campaign_id: str, status: Status, who: str) -> dict[str, object]:
    """Activate, pause or end a campaign: a new version that differs only in status."""
    before = repo().current(campaign_id)
    if before is None:
        raise NotFound(f"campaign {campaign_id} not found")
    current = Status(before["status"])
    if current == status:
        return {**_record(before), "result": "unchanged"}
    _check_transition(current, status, "/status")
    campaign = parse_campaign({**before["doc"], "status": status.value})
    now = clock.iso()
    version = before["version"] + 1
    item = _current_item(campaign, version, who, now, before)
    changes = [{"path": "/status", "before": current.value, "after": status.value}]
    repo().save(item, repo().audit_item(now, who, "status", campaign_id, version, changes),
                before["version"])
    metrics_add("CampaignStatusChanged")
    return {**_record(item), "result": "updated"}


def delete(campaign_id: str, who: str) -> None:
    """Delete a draft and its history; other statuses are kept (end them instead)."""
    before = repo().current(campaign_id)
    if before is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if before["status"] != Status.draft.value:
        raise Conflict(f"only drafts can be deleted; this campaign is {before['status']}",
                       details=[{"path": "/status", "message": "end it instead: POST "
                                 f"/admin/campaigns/{campaign_id}/status {{\"status\": "
                                 "\"ended\"}"}])
    now = clock.iso()
    audit = repo().audit_item(now, who, "delete", campaign_id, before["version"],
                              [{"path": "/", "before": before["name"]}])
    repo().delete_draft(campaign_id, before["version"], audit)


def audit(month: str | None, limit: int, cursor: str | None,
          entity_id: str | None = None) -> dict[str, object]:
    """The marketer audit log for one month (default: this month), newest first."""
    month = month or clock.iso()[:7]
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise ValidationFailed("month must be YYYY-MM", details=[
            {"path": "/month", "message": "e.g. 2026-02"}])
    items, nxt = repo().audit_page(month, limit=limit, cursor=cursor, entity_id=entity_id)
    return {"month": month, "items": [_audit_view(i) for i in items], "next_cursor": nxt}


def _audit_view(item: Mapping[str, object]) -> dict[str, object]:
    """One shape for every capability's audit entries (who, when, what, which, changes)."""
    action = str(item.get("action", ""))
    entity = item.get("entity")
    if entity in (None, "audit") and "." in action:  # e.g. program.publish
        entity, action = action.split(".", 1)
    known = {"at", "who", "actor", "entity", "entity_id", "target", "member_id", "action",
             "version", "changes"}
    out: dict[str, object] = {"at": item.get("at"), "who": item.get("who") or item.get("actor"),
           "entity": entity,
           "entity_id": item.get("entity_id") or item.get("target") or item.get("member_id"),
           "action": action, "version": item.get("version"),
           "changes": item.get("changes", [])}
    details = {k: v for k, v in item.items() if k not in known}
    if details:
        out["details"] = details
    return out


def lint(campaign: Campaign, *, online: bool = True,
         templates: TemplateLookup | None = None) -> list[dict[str, str]]:
    """Lint warnings; coupon templates come from the stack unless ``templates`` is given,
    lucky draws from the stack when ``online``."""
    lookup = templates if templates is not None else (template_lookup() if online else None)
    return linter.lint(campaign, lookup, deps().draw_lookup if online else None)


def check(campaign_id: str, raw: object) -> dict[str, object]:
    """The editor's "validate": the same validation and lint as PUT, with nothing stored.

    Whatever the body holds (even malformed JSON) is checked; errors raise ValidationFailed
    with every path and hint (400, as PUT would answer), a valid campaign returns its lint."""
    campaign, errors = validate_campaign(raw)
    if campaign is not None and campaign.id != campaign_id:
        errors = [{"path": "/id", "message": f"must be '{campaign_id}'",
                   "hint": "ids are fixed once created; copy the campaign to rename it"}]
    if campaign is None or errors:
        raise ValidationFailed("the campaign is invalid", details=errors)
    campaign = pin_segments(campaign)
    return {"valid": True, "errors": [], "warnings": lint(campaign, online=True)}


def pin_segments(campaign: Campaign) -> Campaign:
    """The campaign with each ``{"segment": slug}`` pinned to the segment's current version
    and expression (see domain/campaigns/segments.py); unchanged without references."""
    from chalicelib.services.campaigns import segments

    if not campaign.audience:
        return campaign
    pinned = segments.resolve_audience(campaign.audience)
    if pinned == campaign.audience:
        return campaign
    return parse_campaign({**campaign.document(), "audience": pinned})


def preview(campaign: Campaign, *, at: datetime | None = None, samples: int = 10,
            scan_limit: int = DEFAULT_SCAN_LIMIT) -> dict[str, object]:
    """Audience, sample members, next fires and projected cost (see preview.py)."""
    from chalicelib.services.campaigns.preview import preview_on_stack

    campaign = pin_segments(campaign)
    return preview_on_stack(campaign, at=at or clock.now(), samples=samples,
                            scan_limit=max(1, min(scan_limit, MAX_SCAN_LIMIT)),
                            templates=template_lookup())


def stored_preview(campaign_id: str, *, at: datetime | None = None, samples: int = 10,
                   scan_limit: int = DEFAULT_SCAN_LIMIT) -> dict[str, object]:
    return preview(load(campaign_id), at=at, samples=samples, scan_limit=scan_limit)


def canonical(doc: Mapping[str, object]) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


def active_campaigns() -> list[Campaign]:
    """Active campaigns for the delivery planner (a key query on GSI2)."""
    return active()


def get_campaign(campaign_id: str) -> Campaign | None:
    """The live campaign, or None (delivery workers)."""
    item = repo().current(campaign_id)
    return parse_campaign(item["doc"]) if item else None


# --- version history and rollback (the console's editor) -----------------------------------

def versions(campaign_id: str) -> dict[str, object]:
    """Every stored version of a campaign, newest first."""
    current = repo().current(campaign_id)
    if current is None:
        raise NotFound(f"campaign {campaign_id} not found")
    items = [{"version": v["version"], "status": v.get("status"),
              "updated_at": v.get("updated_at"), "updated_by": v.get("updated_by")}
             for v in repo().versions(campaign_id)]
    return {"campaign_id": campaign_id, "current": current["version"],
            "items": sorted(items, key=lambda v: -int(v["version"]))}


def rollback(campaign_id: str, version: int, who: str,
             expected_version: int | None = None) -> dict[str, object]:
    """Store a new version whose definition equals ``version``'s. The status stays what it
    is now (publish, pause and end change it, with their own rules); audited as rollback."""
    before = repo().current(campaign_id)
    if before is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if expected_version is not None and before["version"] != expected_version:
        raise Conflict(f"campaign {campaign_id} is at version {before['version']} now; "
                       "reload and retry", details=[{"path": "/expected_version",
                                                     "message": "version conflict"}])
    old = repo().version(campaign_id, version)
    if old is None:
        raise NotFound(f"campaign {campaign_id} version {version} not found")
    campaign = parse_campaign({**old["doc"], "status": before["status"]})
    warnings = lint(campaign, online=True)
    if campaign.document() == before["doc"]:
        return {**_record(before), "result": "unchanged", "warnings": warnings}
    now = clock.iso()
    new_version = before["version"] + 1
    item = _current_item(campaign, new_version, who, now, before)
    audit = repo().audit_item(now, who, "rollback", campaign_id, new_version,
                              diff(before["doc"], item["doc"]))
    audit["rolled_back_to"] = version
    repo().save(item, audit, before["version"])
    metrics_add("CampaignRolledBack")
    return {**_record(item), "result": "rolled_back", "warnings": warnings}

"""The loyalty program: publish versions, read any version, keep the live one cached.

A published program applies from the moment it is published; warm functions pick it up
within PROGRAM_CACHE_SECONDS (default 30 s). The hot paths read it through ``cached()``
and, when stale, fetch it inside the same BatchGetItem as the member's state, so caching
never adds a request. With nothing published, a built-in single-tier program applies.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from chalicelib.adapters.audit_log import audit_item
from chalicelib.adapters.dynamo import doc_value
from chalicelib.adapters.loyalty.programs import ProgramRepository
from chalicelib.config import get_settings
from chalicelib.domain.loyalty.perks import template_problems
from chalicelib.domain.loyalty.program import DEFAULT_PROGRAM, Program, parse_program
from chalicelib.domain.loyalty.views import ProgramVersion, ProgramVersionSummary
from chalicelib.errors import NotFound, Unprocessable
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.deps import deps

_cache: dict[str, tuple[float, int, Program]] = {}
_lock = threading.Lock()


def repo() -> ProgramRepository:
    return deps().programs


def invalidate() -> None:
    """Forget the cached program (bootstrap does, with each new graph)."""
    with _lock:
        _cache.clear()


def parse_stored(doc: dict[str, Any] | str) -> Program:
    """A stored program document (JSON data, or the text a batch read returns as stored)
    → Program, with the same strict JSON rules as the API."""
    return parse_program(doc_value(doc), stored=True)


def cached() -> tuple[int, Program] | None:
    """The live (version, program) if fetched less than PROGRAM_CACHE_SECONDS ago."""
    s = get_settings()
    entry = _cache.get(s.table_name)
    if entry and time.monotonic() - entry[0] < s.program_cache_seconds:
        return entry[1], entry[2]
    return None


def remember(item: dict[str, Any] | None) -> tuple[int, Program]:
    """Cache the PROGRAM/CURRENT item just read (None → the built-in default)."""
    if item:
        version, program = int(item["version"]), parse_stored(item["program"])
    else:
        version, program = 0, parse_stored(DEFAULT_PROGRAM)
    with _lock:
        _cache[get_settings().table_name] = (time.monotonic(), version, program)
    return version, program


def current() -> tuple[int, Program]:
    """The live program (cached, else one GetItem)."""
    return cached() or remember(repo().current())


def _removed_tiers(before: Program, after: Program) -> list[str]:
    ids = {t.id for t in after.tiers}
    return [t.id for t in before.tiers if t.id not in ids]


def _check_perk_templates(program: Program) -> None:
    """422 with JSON paths when a tier perk names a coupon template that exists but cannot
    do its job (domain/loyalty/perks.template_problems)."""
    lookup = deps().template_lookup
    problems = template_problems([(t.id, t.benefits) for t in program.tiers], lookup) \
        if lookup is not None else []
    if problems:
        raise Unprocessable("a tier perk names a coupon template that cannot do its job",
                            details=problems)


def publish(program: Program, actor: str) -> ProgramVersion:
    """Publish a new version; tiers members may hold cannot be removed (422), nor may a
    perk name a coupon template that cannot do its job (422)."""
    _check_perk_templates(program)
    cur = repo().current()
    if cur:
        removed = _removed_tiers(parse_stored(cur["program"]), program)
        if removed:
            raise Unprocessable("tiers cannot be removed while members may hold them", details=[
                {"path": "/tiers", "message": f"keep tier(s) {', '.join(removed)}; rename them "
                                              "instead"}])
    version = (int(cur["version"]) if cur else 0) + 1
    now = clock.iso()
    record = {"version": version, "published_at": now, "published_by": actor,
              "program": program.document()}
    audit = audit_item(now, actor, "program", "loyalty-program", "publish", version=version)
    repo().publish(record, audit)
    invalidate()
    metrics_add("ProgramPublished")
    return ProgramVersion.model_validate(record)


def get(version: int | None = None) -> ProgramVersion:
    """The live version, or a past one; 404 when it does not exist."""
    if version is None:
        item = repo().current()
        if item is None:
            return ProgramVersion(version=0, program=parse_stored(DEFAULT_PROGRAM).document())
    else:
        item = repo().version(version)
        if item is None:
            raise NotFound(f"program version {version} does not exist")
    return ProgramVersion.model_validate(item)


def history() -> list[ProgramVersionSummary]:
    """Published versions, newest first."""
    return [ProgramVersionSummary.model_validate(i) for i in repo().versions()]

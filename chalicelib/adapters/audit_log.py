"""The one builder of audit log items (``AUDIT#<yyyy-mm> / <ts>#<entity>#<id>#<nonce>``).

Every capability's audit entry has the same fields, so the log can be filtered by the
entity's id whatever wrote it: ``at``, ``who``, ``entity`` (its type), ``entity_id``,
``action``, ``version`` (when versioned), ``changes`` (JSON paths, maybe values) and any
further details (a points adjustment's delta and reason, a rollback's target version).
Entries written before this builder existed named the entity ``member_id`` (points
adjustments) or ``target`` (program publishes); the reader matches those too.
"""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib.adapters import keys

# Older entries' fields that held the entity id (the audit reader filters on all of them).
LEGACY_ID_FIELDS = ("member_id", "target")


def audit_item(at: str, who: str, entity: str, entity_id: str, action: str, *,
               version: int | None = None, changes: Any = None, **details: Any
               ) -> dict[str, Any]:
    """The item, keys included; put it in the same transaction as the change it records."""
    item: dict[str, Any] = {**keys.audit_entry(at, entity, entity_id, secrets.token_hex(4)),
                            "at": at, "who": who, "entity": entity, "entity_id": entity_id,
                            "action": action,
                            "changes": [] if changes is None else changes, **details}
    if version is not None:
        item["version"] = version
    return item

"""Campaign definitions, their version history and the marketer audit log in DynamoDB.

    CAMPAIGN#<id> / CURRENT   the live definition: doc, version, status, who/when;
                              GSI1 CATALOG#CAMPAIGN / <id> (list all),
                              GSI2 CAMPAIGNSTATUS#<status> / <id> (scheduler: list active)
    CAMPAIGN#<id> / V#<n>     every version ever stored (immutable)
    AUDIT#<yyyy-mm> / <ts>#campaign#<id>#<nonce>   who changed what, when

The document is stored as JSON text (``doc``): DynamoDB maps would turn numbers into
Decimals and drop nulls, and a null (``"quiet_hours": null``) means something.

A change writes the new version, the CURRENT item (conditional on the version it was based
on) and the audit entry in one TransactWriteItems, so history and audit never disagree
with what is live.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.audit_log import LEGACY_ID_FIELDS, audit_item
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    TransactionCancelled,
    doc_text,
    doc_value,
    hydrate,
    plain,
    query_all,
    storable,
    translated,
    write_named,
)
from chalicelib.errors import Conflict, ValidationFailed

# A filtered audit page reads at most AUDIT_READS Queries of AUDIT_READ_PAGE entries each.
AUDIT_READS = 10
AUDIT_READ_PAGE = 200
SUMMARY_FIELDS = ("campaign_id", "name", "status", "version", "trigger_type", "priority",
                  "window_start", "window_end", "updated_at", "updated_by", "created_at",
                  "created_by")


def encode_cursor(lek: dict[str, Any] | None) -> str | None:
    if not lek:
        return None
    return base64.urlsafe_b64encode(json.dumps(plain(lek), separators=(",", ":")).encode()
                                    ).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ValueError
        return value
    except ValueError:
        raise ValidationFailed("invalid cursor", details=[
            {"path": "/cursor", "message": "use the next_cursor of a previous page"}]) from None


def hydrated_page(table: Any, args: dict[str, Any], limit: int, cursor: str | None
                  ) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an index Query (``args``: IndexName, KeyConditionExpression) and the
    next cursor; the indexes project no documents, so the listed items are read back whole
    (<= limit keys)."""
    args = {**args, "Limit": limit}
    start = decode_cursor(cursor)
    if start:
        args["ExclusiveStartKey"] = start
    with translated():
        resp = table.query(**args)
    return hydrate(table, resp.get("Items", [])), encode_cursor(resp.get("LastEvaluatedKey"))


def _decoded(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return _document(item) if item else None


def _document(item: dict[str, Any]) -> dict[str, Any]:
    """A stored campaign item with its document as JSON data (stored as text)."""
    out: dict[str, Any] = plain(item)
    if isinstance(out.get("doc"), str):
        out["doc"] = doc_value(out["doc"])
    return out


class CampaignRepository(TableRepository):
    # --- reads ----------------------------------------------------------------------------

    def current(self, campaign_id: str) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.campaign_current(campaign_id),
                                       ConsistentRead=True).get("Item")
        return _decoded(item)

    def version(self, campaign_id: str, version: int) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.campaign_version(campaign_id, version)
                                       ).get("Item")
        return _decoded(item)

    def versions(self, campaign_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return query_all(self.table, KeyConditionExpression=Key("PK").eq(
            keys.campaign_pk(campaign_id)) & Key("SK").begins_with(keys.CAMPAIGN_VERSION),
            ProjectionExpression="PK, SK, version, #s, updated_at, updated_by",
            ExpressionAttributeNames={"#s": "status"})

    def page(self, *, status: str | None = None, limit: int = 50, cursor: str | None = None
             ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of CURRENT items by key: GSI1 (every campaign) or GSI2 (one status)."""
        from boto3.dynamodb.conditions import Key

        if status:
            args: dict[str, Any] = {"IndexName": keys.GSI2, "KeyConditionExpression": Key(
                "GSI2PK").eq(keys.campaign_status_partition(status))}
        else:
            args = {"IndexName": keys.GSI1,
                    "KeyConditionExpression": Key("GSI1PK").eq(keys.CAMPAIGN_CATALOG)}
        items, next_cursor = hydrated_page(self.table, args, limit, cursor)
        return [_document(i) for i in items], next_cursor

    def by_status(self, status: str) -> list[dict[str, Any]]:
        """Every CURRENT item in ``status`` (the scheduler's key query for active ones)."""
        from boto3.dynamodb.conditions import Key

        return [_document(i) for i in hydrate(self.table, query_all(
            self.table, IndexName=keys.GSI2,
            KeyConditionExpression=Key("GSI2PK").eq(keys.campaign_status_partition(status))))]

    # --- writes ---------------------------------------------------------------------------

    def save(self, current: dict[str, Any], audit: dict[str, Any],
             expected_version: int | None) -> None:
        """Store ``current`` as version N (history + CURRENT + audit, all or nothing)."""
        cid, version = current["campaign_id"], current["version"]
        current = {**current, "doc": doc_text(current["doc"])}
        fields = {k: v for k, v in current.items() if k not in ("PK", "SK", *keys.GSI_ATTRS)}
        item = {**fields, **keys.campaign_current(cid), **keys.campaign_catalog(cid),
                **keys.campaign_status_index(current["status"], cid)}
        history = {**fields, **keys.campaign_version(cid, version)}
        if expected_version is None:
            cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
        else:
            cond = {"ConditionExpression": "#v = :v",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":v": expected_version}}
        self._transact([
            ("current", {"Put": {"Item": storable(item), **cond}}),
            ("version", {"Put": {"Item": storable(history),
                                 "ConditionExpression": "attribute_not_exists(PK)"}}),
            ("audit", {"Put": {"Item": storable(audit),
                               "ConditionExpression": "attribute_not_exists(PK)"}}),
        ], cid, conflicts={"current", "version"})

    def delete_draft(self, campaign_id: str, expected_version: int,
                     audit: dict[str, Any]) -> None:
        """Remove a draft and its history; fails if it left draft or changed meanwhile."""
        history = self.versions(campaign_id)
        extra, kept = history[98:], history[:98]
        ops: NamedItems = [
            ("current", {"Delete": {"Key": keys.campaign_current(campaign_id),
                                    "ConditionExpression": "#v = :v AND #s = :draft",
                                    "ExpressionAttributeNames": {"#v": "version",
                                                                 "#s": "status"},
                                    "ExpressionAttributeValues": {":v": expected_version,
                                                                  ":draft": "draft"}}}),
            ("audit", {"Put": {"Item": storable(audit),
                               "ConditionExpression": "attribute_not_exists(PK)"}}),
        ]
        ops += [(f"version:{h['SK']}", {"Delete": {"Key": {"PK": h["PK"], "SK": h["SK"]}}})
                for h in kept]
        self._transact(ops, campaign_id, conflicts={"current", "audit"})
        if extra:
            with translated(), self.table.batch_writer() as batch:
                for h in extra:
                    batch.delete_item(Key={"PK": h["PK"], "SK": h["SK"]})

    def _transact(self, named: NamedItems, campaign_id: str, conflicts: set[str]) -> None:
        """One transaction of named items; a failed condition on one of ``conflicts`` (what
        the change was based on) is a concurrent change: 409, reload and retry."""
        name = self.table.name
        for _, op in named:
            next(iter(op.values()))["TableName"] = name
        try:
            write_named(self.table.meta.client, named, secrets.token_hex(16))
        except TransactionCancelled as e:
            if e.failed_names & conflicts:
                raise Conflict(f"campaign {campaign_id} was changed concurrently; reload and "
                               "retry", details=[{"path": "/", "message": "version conflict"}]
                               ) from e
            raise

    # --- audit ----------------------------------------------------------------------------

    @staticmethod
    def audit_item(at: str, who: str, action: str, campaign_id: str, version: int | None,
                   changes: list[dict[str, Any]]) -> dict[str, Any]:
        # changes as text, like the document: a diff holds the document's own values
        return audit_item(at, who, "campaign", campaign_id, action, version=version,
                          changes=doc_text(changes))

    def audit_page(self, month: str, *, limit: int = 50, cursor: str | None = None,
                   entity_id: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, one month per partition. Filtered by entity id (older entries'
        ``member_id``/``target`` too), it reads on until ``limit`` entries match or the
        month ends, at most ``AUDIT_READS`` Queries: DynamoDB applies ``Limit`` before the
        filter, so one Query could answer nothing and "more"."""
        from boto3.dynamodb.conditions import Attr, Key

        args: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(keys.audit_month_partition(month)),
            "ScanIndexForward": False, "Limit": limit}
        if entity_id:
            cond = Attr("entity_id").eq(entity_id)
            for legacy in LEGACY_ID_FIELDS:
                cond = cond | Attr(legacy).eq(entity_id)
            args.update(FilterExpression=cond, Limit=max(limit, AUDIT_READ_PAGE))
        start = decode_cursor(cursor)
        found: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        for _ in range(AUDIT_READS if entity_id else 1):
            if start:
                args["ExclusiveStartKey"] = start
            with translated():
                resp = self.table.query(**args)
            for raw in resp.get("Items", []):
                if len(found) == limit:  # more matched than asked: resume after the last
                    return self._audit_items(found), encode_cursor(last)
                found.append(raw)
                last = {"PK": raw["PK"], "SK": raw["SK"]}
            start = resp.get("LastEvaluatedKey")
            if not start or len(found) == limit:
                break
        return self._audit_items(found), encode_cursor(start)

    @staticmethod
    def _audit_items(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: doc_value(v) if k == "changes" else v for k, v in plain(i).items()
                 if k not in ("PK", "SK")} for i in raw]

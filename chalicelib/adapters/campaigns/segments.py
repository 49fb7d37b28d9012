"""Segments in DynamoDB: the live definition, every version, audit, weekly size snapshots.

    SEGMENT#<slug> / CURRENT       the live definition (doc as JSON text, version, who/when);
                                   GSI1 CATALOG#SEGMENT / <slug> (list all)
    SEGMENT#<slug> / V#<n>         every version ever stored (immutable; campaigns pin them)
    SEGMENT#<slug> / SIZE#<week>   the weekly size estimate written by the scheduled job

A change writes the version, CURRENT (conditional on the version it was based on) and the
audit entry in one transaction; a delete removes CURRENT (conditional) with an audit entry
and keeps the versions, because stored campaigns may still name them.
"""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.audit_log import audit_item
from chalicelib.adapters.campaigns.repository import hydrated_page
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    TransactionCancelled,
    doc_text,
    doc_value,
    plain,
    query_all,
    storable,
    translated,
    write_named,
)
from chalicelib.domain.campaigns.segments import Segment
from chalicelib.errors import Conflict

WEEKS_KEPT = 12


def _segment(item: dict[str, Any] | None) -> Segment | None:
    if not item:
        return None
    raw = item.get("doc")
    doc: dict[str, Any] = doc_value(raw) if isinstance(raw, str) else dict(raw or {})
    return Segment.model_validate({**doc, "version": int(item["version"])})


def _record(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = plain(item)
    if isinstance(out.get("doc"), str):
        out["doc"] = doc_value(out["doc"])
    return {k: v for k, v in out.items() if k not in ("PK", "SK", *keys.GSI_ATTRS)}


class SegmentRepository(TableRepository):
    # --- reads ----------------------------------------------------------------------------

    def current(self, slug: str) -> Segment | None:
        with translated():
            return _segment(self.table.get_item(Key=keys.segment_current(slug),
                                                ConsistentRead=True).get("Item"))

    def record(self, slug: str, version: int | None = None) -> dict[str, Any] | None:
        """The stored item (doc, version, who/when) of the live or one past version."""
        key = keys.segment_current(slug) if version is None else \
            keys.segment_version(slug, version)
        with translated():
            item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def version(self, slug: str, version: int) -> Segment | None:
        with translated():
            return _segment(self.table.get_item(Key=keys.segment_version(slug, version)
                                                ).get("Item"))

    def versions(self, slug: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return [_record(i) for i in query_all(
            self.table, KeyConditionExpression=Key("PK").eq(keys.segment_pk(slug))
            & Key("SK").begins_with(keys.CAMPAIGN_VERSION),
            ProjectionExpression="version, updated_at, updated_by")]

    def page(self, limit: int = 50, cursor: str | None = None
             ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of CURRENT records by key (GSI1 CATALOG#SEGMENT)."""
        from boto3.dynamodb.conditions import Key

        items, next_cursor = hydrated_page(self.table, {
            "IndexName": keys.GSI1,
            "KeyConditionExpression": Key("GSI1PK").eq(keys.SEGMENT_CATALOG)}, limit, cursor)
        return [_record(i) for i in items], next_cursor

    def slugs(self) -> list[str]:
        """Every segment slug (a keys-only Query of the catalog; for did-you-mean)."""
        from boto3.dynamodb.conditions import Key

        return [str(i["GSI1SK"]) for i in query_all(
            self.table, IndexName=keys.GSI1, ProjectionExpression="GSI1SK",
            KeyConditionExpression=Key("GSI1PK").eq(keys.SEGMENT_CATALOG))]

    def sizes(self, slug: str, weeks: int = WEEKS_KEPT) -> list[dict[str, Any]]:
        """The newest ``weeks`` weekly size snapshots, oldest first."""
        from boto3.dynamodb.conditions import Key

        with translated():
            resp = self.table.query(
                KeyConditionExpression=Key("PK").eq(keys.segment_pk(slug))
                & Key("SK").begins_with(keys.SEGMENT_SIZE), ScanIndexForward=False,
                Limit=weeks)
        return [_record(i) for i in reversed(resp.get("Items", []))]

    # --- writes ---------------------------------------------------------------------------

    def save(self, segment: Segment, version: int, who: str, now: str,
             before: dict[str, Any] | None, changes: list[dict[str, Any]]) -> dict[str, Any]:
        """Store ``segment`` as ``version`` (history + CURRENT + audit, all or nothing)."""
        slug = segment.slug
        fields = {"slug": slug, "version": version, "doc": doc_text(segment.document()),
                  "title_zh": segment.title.zh, "owner": segment.owner,
                  "updated_at": now, "updated_by": who,
                  "created_at": before["created_at"] if before else now,
                  "created_by": before["created_by"] if before else who}
        if before is None:
            cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
        else:
            cond = {"ConditionExpression": "#v = :v", "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":v": before["version"]}}
        audit = audit_item(now, who, "segment", slug, "update" if before else "create",
                           version=version, changes=doc_text(changes))
        self._transact([
            ("current", {"Put": {"Item": storable({**fields, **keys.segment_current(slug),
                                                     **keys.segment_catalog(slug)}), **cond}}),
            ("version", {"Put": {"Item": storable({**fields,
                                                   **keys.segment_version(slug, version)}),
                                 "ConditionExpression": "attribute_not_exists(PK)"}}),
            ("audit", {"Put": {"Item": storable(audit),
                               "ConditionExpression": "attribute_not_exists(PK)"}}),
        ], slug)
        return _record(fields)

    def delete(self, slug: str, expected_version: int, who: str, now: str) -> None:
        """Remove the live definition (versions stay: campaigns may have pinned them)."""
        audit = audit_item(now, who, "segment", slug, "delete", version=expected_version,
                           changes=doc_text([]))
        self._transact([
            ("current", {"Delete": {"Key": keys.segment_current(slug),
                                    "ConditionExpression": "#v = :v",
                                    "ExpressionAttributeNames": {"#v": "version"},
                                    "ExpressionAttributeValues": {":v": expected_version}}}),
            ("audit", {"Put": {"Item": storable(audit),
                               "ConditionExpression": "attribute_not_exists(PK)"}}),
        ], slug)

    def put_size(self, slug: str, week: str, record: dict[str, Any]) -> None:
        """The week's size estimate (rewritten by a rerun of the same week's job)."""
        with translated():
            self.table.put_item(Item=storable({**record, "week": week,
                                               **keys.segment_size(slug, week)}))

    def _transact(self, named: NamedItems, slug: str) -> None:
        for _, op in named:
            next(iter(op.values()))["TableName"] = self.table.name
        try:
            write_named(self.table.meta.client, named, secrets.token_hex(16))
        except TransactionCancelled as e:
            if e.failed_names & {"current", "version"}:
                raise Conflict(f"segment {slug} was changed concurrently; reload and retry",
                               details=[{"path": "/", "message": "version conflict"}]) from e
            raise

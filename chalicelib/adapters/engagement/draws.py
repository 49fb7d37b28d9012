"""Lucky draws in DynamoDB: definitions (versions, audit, the secret seed), the stock and
budget pools, members' entries, limits and campaign-granted entries.

    DRAW#<id> / CURRENT | V#<n>     the definition (doc as JSON text, version, commitment)
    DRAW#<id> / SEED                the secret seed (read by the service only after close)
    DRAWPOOL#<id>#<k> / POOL        shard k: ``s_<prize>`` units left, ``w_<prize>`` won,
                                    ``bp``/``bf`` points/fen budget left (absent: unlimited)
    MEMBER#<id> / DRAWENTRY#<draw>#<entry>   one entry and its outcome (create-only);
                                    GSI1 DRAWLOG#<draw>#<s> / <at>#<entry>: the entry log
    MEMBER#<id> / DRAWLIMIT#<draw>#TOTAL | …#DAY#<date>   entry counts (conditional ADD)
    MEMBER#<id> / DRAWGRANT#<draw>  entries campaigns granted (``granted``) and ``used``

An entry is ONE transaction of named items: ``entry``, ``pool``, ``limit_total``,
``limit_day``, ``grant``, ``gift`` and the items other capabilities hand in (``loyalty``,
``lot:<id>``, ``ledger``, ``ledger:earn``, ``lot``, ``coupon:<n>``, ``fulfilment``,
``fulfilment_hook``).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.audit_log import audit_item
from chalicelib.adapters.campaigns.repository import hydrated_page
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    doc_text,
    doc_value,
    hydrate,
    parallel_query_all,
    plain,
    query_all,
    storable,
    translated,
    update_args,
    write_named,
)
from chalicelib.adapters.loyalty.records import redemption_record
from chalicelib.domain.engagement.draws import Draw, Pool, Prize, parse_draw

Item = dict[str, Any]
DAY_TTL_SECONDS = 3 * 86400
OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def _record(item: Item) -> Item:
    out: Item = plain(item)
    if isinstance(out.get("doc"), str):
        out["doc"] = doc_value(out["doc"])
    return {k: v for k, v in out.items() if k not in ("PK", "SK", *keys.GSI_ATTRS)}


def _pool(shard: int, item: Item | None) -> Pool:
    item = plain(item or {})
    return Pool(shard, stock={k[2:]: int(v) for k, v in item.items() if k.startswith("s_")},
                points=item.get("bp"), fen=item.get("bf"),
                won={k[2:]: int(v) for k, v in item.items() if k.startswith("w_")})


class DrawRepository(TableRepository):
    # --- definitions ----------------------------------------------------------------------
    def record(self, draw_id: str, version: int | None = None) -> Item | None:
        key = keys.draw_current(draw_id) if version is None else \
            keys.draw_version(draw_id, version)
        with translated():
            item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def current(self, draw_id: str) -> tuple[Draw, Item] | None:
        """The live draw and its stored record (version, commitment, shards, who/when)."""
        rec = self.record(draw_id)
        return (parse_draw(rec["doc"]), rec) if rec else None

    def versions(self, draw_id: str) -> list[Item]:
        from boto3.dynamodb.conditions import Key

        return [_record(i) for i in query_all(
            self.table, KeyConditionExpression=Key("PK").eq(keys.draw_pk(draw_id))
            & Key("SK").begins_with(keys.CAMPAIGN_VERSION),
            ProjectionExpression="version, updated_at, updated_by")]

    def page(self, limit: int, cursor: str | None) -> tuple[list[Item], str | None]:
        from boto3.dynamodb.conditions import Key

        items, next_cursor = hydrated_page(self.table, {
            "IndexName": keys.GSI1,
            "KeyConditionExpression": Key("GSI1PK").eq(keys.DRAW_CATALOG)}, limit, cursor)
        return [_record(i) for i in items], next_cursor

    def seed(self, draw_id: str) -> str | None:
        with translated():
            item = self.table.get_item(Key=keys.draw_seed(draw_id), ConsistentRead=True
                                       ).get("Item")
        return str(item["seed"]) if item else None

    def save(self, draw: Draw, version: int, who: str, now: str, before: Item | None,
             changes: list[Item], *, seed: str | None, commitment: str,
             pools: list[Pool] | None) -> Item:
        """Store ``draw`` as ``version`` with its audit entry, all or nothing; a first
        version stores the secret ``seed`` (create-only); ``pools`` (re)set the counters
        (only before the draw opens)."""
        fields = {"draw_id": draw.id, "version": version, "doc": doc_text(draw.document()),
                  "name_zh": draw.name.zh, "commitment": commitment,
                  "opens_at": draw.window.opens_at.isoformat(),
                  "closes_at": draw.window.closes_at.isoformat(),
                  "shards": len(pools) if pools is not None else before and before["shards"],
                  "updated_at": now, "updated_by": who,
                  "created_at": before["created_at"] if before else now,
                  "created_by": before["created_by"] if before else who}
        cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"} \
            if before is None else {
                "ConditionExpression": "#v = :v", "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": before["version"]}}
        audit = audit_item(now, who, "draw", draw.id, "update" if before else "create",
                           version=version, changes=doc_text(changes))
        named: NamedItems = [
            ("current", self._put({**fields, **keys.draw_current(draw.id),
                                   **keys.draw_catalog(draw.id)}, **cond)),
            ("version", self._put({**fields, **keys.draw_version(draw.id, version)})),
            ("audit", self._put(audit))]
        if seed is not None:
            named.append(("seed", self._put({**keys.draw_seed(draw.id), "entity": "draw_seed",
                                             "seed": seed, "created_at": now})))
        for p in pools or []:
            named.append((f"pool:{p.shard}", self._put(self._pool_item(draw.id, p),
                                                       create_only=False)))
        self.transact(named)
        return _record(fields)

    def reveal(self, draw_id: str, version: int, who: str, now: str) -> None:
        """Mark the seed revealed (audited); the seed is public from the close anyway."""
        args = update_args(set_={"revealed_at": now, "revealed_by": who},
                           condition="#v = :v AND attribute_not_exists(revealed_at)",
                           names={"#v": "version"}, values={":v": version})
        self.transact([
            ("current", {"Update": {"TableName": self.table.name,
                                    "Key": keys.draw_current(draw_id), **args}}),
            ("audit", self._put(audit_item(now, who, "draw", draw_id, "reveal",
                                           version=version)))])

    # --- pools, entries, limits, grants ----------------------------------------------------
    def pools(self, draw_id: str, shards: int) -> list[Pool]:
        """Every pool shard, strongly consistent (one BatchGetItem)."""
        wanted = [keys.draw_pool(draw_id, k) for k in range(shards)]
        got: dict[str, Item] = {}
        request: dict[str, Any] = {self.table.name: {"Keys": wanted, "ConsistentRead": True}}
        while request:
            with translated():
                resp = self.table.meta.client.batch_get_item(RequestItems=request)
            for item in resp.get("Responses", {}).get(self.table.name, []):
                got[item["PK"]] = item
            request = resp.get("UnprocessedKeys") or {}
        return [_pool(k, got.get(w["PK"])) for k, w in enumerate(wanted)]

    def entry(self, member_id: str, draw_id: str, entry_id: str) -> Item | None:
        with translated():
            item = self.table.get_item(Key=keys.draw_entry(member_id, draw_id, entry_id),
                                       ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def member_entries(self, member_id: str, draw_id: str, limit: int) -> list[Item]:
        from boto3.dynamodb.conditions import Key

        return [_record(i) for i in query_all(
            self.table, limit=limit, KeyConditionExpression=Key("PK").eq(
                keys.member_pk(member_id)) & Key("SK").begins_with(
                keys.draw_entries_prefix(draw_id)))]

    def log(self, draw_id: str) -> list[Item]:
        """Every entry of the draw: the GSI1 log shards by key, then the entries themselves
        (BatchGetItem, 100 a request); for the verifier, after the draw closes."""
        from boto3.dynamodb.conditions import Key

        items = parallel_query_all(self.table, [
            {"IndexName": keys.GSI1, "KeyConditionExpression": Key("GSI1PK").eq(p)}
            for p in keys.draw_log_partitions(draw_id)])
        return [_record(i) for i in hydrate(self.table, items)]  # the index projects keys

    def grants(self, member_id: str, draw_id: str) -> tuple[int, int]:
        """(granted, used) entries from campaigns."""
        with translated():
            item = self.table.get_item(Key=keys.draw_grant(member_id, draw_id),
                                       ConsistentRead=True).get("Item")
        item = plain(item or {})
        return int(item.get("granted", 0)), int(item.get("used", 0))

    def grant_items(self, member_id: str, draw_id: str, count: int, ref: str, now: str
                    ) -> NamedItems:
        """``grant_ref`` (create-only: one cause grants once) and ``grant`` (ADD)."""
        args = update_args(set_={"entity": "draw_grant", "draw_id": draw_id,
                                 "member_id": member_id}, add={"granted": count})
        return [("grant_ref", self._put({**keys.draw_grant_ref(member_id, draw_id, ref),
                                         "entity": "draw_grant_ref", "count": count,
                                         "created_at": now})),
                ("grant", {"Update": {"TableName": self.table.name,
                                      "Key": keys.draw_grant(member_id, draw_id), **args}})]

    def entry_items(self, draw: Draw, entry: Item, *, prize: Prize | None, pool: int | None,
                    day: str, use_grant: bool, gift: Item | None) -> NamedItems:
        """The draw's own items of an entry (see the module docstring for the names)."""
        member, at = str(entry["member_id"]), str(entry["created_at"])
        named: NamedItems = [("entry", self._put({
            **keys.draw_entry(member, draw.id, str(entry["entry_id"])),
            **keys.draw_log_index(draw.id, str(entry["entry_id"]), at),
            "entity": "draw_entry", **entry}))]
        if prize is not None and pool is not None:
            named.append(("pool", self._take(draw.id, prize, pool)))
        named += self._limits(draw, member, day)
        if use_grant:
            # ``used`` is absent until the first granted entry: compared as missing it
            # would fail every first use.
            args = update_args(add={"used": 1}, condition="(attribute_not_exists(#used) AND "
                               "#granted > :zero) OR #used < #granted",
                               names={"#used": "used", "#granted": "granted"},
                               values={":zero": 0})
            named.append(("grant", {"Update": {"TableName": self.table.name, **OLD,
                                               "Key": keys.draw_grant(member, draw.id),
                                               **args}}))
        if gift is not None:
            named.append(("gift", self._put(redemption_record(member, gift))))
        return named

    def transact(self, named: NamedItems) -> None:
        """One TransactWriteItems (TransactionCancelled names the failed items)."""
        write_named(self.table.meta.client, named, secrets.token_hex(16))

    # --- item builders --------------------------------------------------------------------
    def _put(self, item: Item, create_only: bool = True, **cond: Any) -> Item:
        body: Item = {"TableName": self.table.name, "Item": storable(item)}
        if cond:
            body.update(cond)
        elif create_only:
            body.update({"ConditionExpression": "attribute_not_exists(PK)", **OLD})
        return {"Put": body}

    @staticmethod
    def _pool_item(draw_id: str, p: Pool) -> Item:
        item: Item = {**keys.draw_pool(draw_id, p.shard), "entity": "draw_pool",
                      "draw_id": draw_id, "shard": p.shard,
                      **{f"s_{k}": v for k, v in p.stock.items()},
                      **{f"w_{k}": v for k, v in p.won.items()}}
        if p.points is not None:
            item["bp"] = p.points
        if p.fen is not None:
            item["bf"] = p.fen
        return item

    def _take(self, draw_id: str, prize: Prize, shard: int) -> Item:
        """One win of ``prize`` from pool ``shard``: stock and budget never below zero."""
        add: dict[str, int] = {f"w_{prize.id}": 1}
        conds, values = ["attribute_exists(PK)"], {}
        if prize.stock is not None:
            add[f"s_{prize.id}"] = -1
            conds.append(f"#s_{prize.id} >= :one")
            values[":one"] = 1
        for attr, cost in (("bp", prize.points), ("bf", prize.fen)):
            if cost:
                add[attr] = -cost
                conds.append(f"(attribute_not_exists(#{attr}) OR #{attr} >= :{attr})")
                values[f":{attr}"] = cost
        names = {f"#{a}": a for a in add if a.startswith(("s_", "bp", "bf"))}
        args = update_args(add=add, condition=" AND ".join(conds), names=names,
                           values=values)
        return {"Update": {"TableName": self.table.name, **OLD,
                           "Key": keys.draw_pool(draw_id, shard), **args}}

    def _limits(self, draw: Draw, member: str, day: str) -> NamedItems:
        out: NamedItems = []
        for name, cap, day_key in (("limit_total", draw.limits.total, None),
                                   ("limit_day", draw.limits.per_day, day)):
            if cap is None:
                continue
            sets: dict[str, Any] = {"entity": "draw_limit"}
            if day_key:
                sets[keys.TTL_ATTR] = int(time.time()) + DAY_TTL_SECONDS
            args = update_args(set_=sets, add={"n": 1},
                               condition="attribute_not_exists(#n) OR #n < :cap",
                               names={"#n": "n"}, values={":cap": cap})
            out.append((name, {"Update": {"TableName": self.table.name, **OLD,
                                          "Key": keys.draw_limit(member, draw.id, day_key),
                                          **args}}))
        return out

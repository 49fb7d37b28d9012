"""Referral items: codes, the referee's pointer, the referral record, caps, due index, stats.

Every key is built in keys.py; every transaction here names its items (``code``,
``summary``, ``pointer``, ``referral``, ``cap``, ``stats``, ``referrer_summary`` …) so the
service reacts to a cancellation by name.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    hydrate,
    plain,
    query_all,
    storable,
    translated,
    update_args,
    write_named,
)

Item = dict[str, Any]
OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
COUNTERS = ("invites", "signups", "qualified", "rewarded", "reversed", "rejected",
            "cost_points", "cost_coupon_minor")


class ReferralRepository(TableRepository):
    """Referrals in the single table (key layout: keys.py, 'referrals')."""

    # --- item builders ------------------------------------------------------------------
    def _put(self, item: Item, condition: str | None = "attribute_not_exists(PK)",
             names: dict[str, str] | None = None, values: dict[str, Any] | None = None
             ) -> Item:
        body: Item = {"TableName": self.table.name, "Item": storable(item), **OLD}
        if condition:
            body["ConditionExpression"] = condition
        if names:
            body["ExpressionAttributeNames"] = names
        if values:
            body["ExpressionAttributeValues"] = storable(values)
        return {"Put": body}

    def _update(self, key: dict[str, str], **kw: Any) -> Item:
        return {"Update": {"TableName": self.table.name, "Key": key, **update_args(**kw), **OLD}}

    def _stats(self, member_id: str, add: dict[str, int]) -> Item:
        return self._update(keys.referral_stats(keys.referral_stats_shard(member_id)), add=add)

    def _counts(self, member_id: str, add: dict[str, int]) -> Item:
        """The member's summary counters (the summary exists once a code was issued)."""
        return self._update(keys.referral_summary(member_id), add=add)

    def transact_named(self, named: NamedItems, token: str | None = None) -> None:
        write_named(self.table.meta.client, named, token)

    # --- reads --------------------------------------------------------------------------
    def _get(self, key: dict[str, str], consistent: bool = True) -> Item | None:
        with translated():
            item = self.table.get_item(Key=key, ConsistentRead=consistent).get("Item")
        return _strip(plain(item)) if item else None

    def summary(self, member_id: str) -> Item | None:
        return self._get(keys.referral_summary(member_id), consistent=False)

    def code_owner(self, code: str) -> str | None:
        item = self._get(keys.referral_code(code), consistent=False)
        return str(item["member_id"]) if item else None

    def pointer(self, referee_id: str) -> Item | None:
        return self._get(keys.referral_pointer(referee_id))

    def record(self, referrer_id: str, referee_id: str) -> Item | None:
        return self._get(keys.referral(referrer_id, referee_id))

    def cap_used(self, referrer_id: str, month: str) -> int:
        item = self._get(keys.referral_cap(referrer_id, month))
        return int((item or {}).get("n", 0))

    def phone_hash(self, phone: str | None) -> str | None:
        return keys.contact_hash("phone", phone) if phone else None

    def device_id(self, token: str | None) -> str | None:
        return keys.device_hash(token) if token else None

    def referees(self, referrer_id: str, limit: int) -> list[Item]:
        from boto3.dynamodb.conditions import Key

        return [_strip(i) for i in query_all(
            self.table, limit=limit, ScanIndexForward=False,
            KeyConditionExpression=Key("PK").eq(keys.member_pk(referrer_id))
            & Key("SK").begins_with(keys.REFEREE))]

    def due(self, now_iso: str, limit: int, first_shard: int = 0) -> list[Item]:
        """Up to ``limit`` referrals whose window ended by ``now_iso``, oldest first per shard.

        Every due shard gets a fair share (``limit`` / shards, rounded up) from
        ``first_shard`` on, then what is left of ``limit`` goes to the shards that had more:
        a shard full of due (or failing) referrals cannot starve the others."""
        from boto3.dynamodb.conditions import Key

        def read(shard: int, n: int) -> list[Item]:
            return query_all(self.table, limit=n, IndexName=keys.GSI2,
                             KeyConditionExpression=Key("GSI2PK").eq(
                                 keys.referral_due_partition(shard))
                             & Key("GSI2SK").lt(f"{now_iso}$"))

        shards = keys.REFERRAL_DUE_SHARDS
        order = [(first_shard + i) % shards for i in range(shards)]
        share = max(1, -(-limit // shards))
        out: list[Item] = []
        fuller: list[int] = []
        for shard in order:
            got = read(shard, min(share, limit - len(out)))
            out += got
            if len(got) == share:
                fuller.append(shard)
            if len(out) >= limit:
                break
        for shard in fuller:
            if len(out) >= limit:
                break
            out += read(shard, share + limit - len(out))[share:]  # past its first share
        return [_strip(i) for i in hydrate(self.table, out)]  # GSI2 projects keys only

    def stats(self) -> dict[str, int]:
        """Every stats shard summed (a handful of GetItems in one BatchGetItem)."""
        rows = hydrate(self.table, [keys.referral_stats(s)
                                    for s in range(keys.REFERRAL_STATS_SHARDS)])
        total: dict[str, int] = {}
        for row in rows:
            for k, v in row.items():
                if isinstance(v, int) and k not in ("PK", "SK"):
                    total[k] = total.get(k, 0) + v
        return total

    # --- writes -------------------------------------------------------------------------
    def create_code(self, member_id: str, code: str, now: str) -> None:
        """The code's owner item and the member's summary, both create-only (``code``:
        the code is taken, try another; ``summary``: the member already has one)."""
        self.transact_named([
            ("code", self._put({**keys.referral_code(code), "member_id": member_id,
                                "created_at": now})),
            ("summary", self._put({**keys.referral_summary(member_id), "member_id": member_id,
                                   "code": code, "created_at": now})),
            ("stats", self._stats(member_id, {"invites": 1}))])

    def accept_items(self, record: Item, month: str, cap: int, guard: Item | None
                     ) -> NamedItems:
        """A counted sign-up: the referee's ``pointer`` (new, or replacing a rejection),
        the ``referral`` record, the referrer's month ``cap`` counter (only below the cap),
        counts and stats."""
        referrer, referee = record["referrer_id"], record["referee_id"]
        named: NamedItems = [
            ("pointer", self._pointer(record)),
            ("referral", self._put({**keys.referral(referrer, referee), **record},
                                   condition="attribute_not_exists(PK) OR #s = :rej",
                                   names={"#s": "state"}, values={":rej": "rejected"})),
            ("cap", self._update(keys.referral_cap(referrer, month), add={"n": 1},
                                 condition="attribute_not_exists(#n) OR #n < :cap",
                                 names={"#n": "n"}, values={":cap": cap})),
            ("referrer_summary", self._counts(referrer, {"signups": 1})),
            ("stats", self._stats(referee, {"signups": 1}))]
        if guard:
            named.append(("request", guard))
        return named

    def reject_items(self, record: Item, guard: Item | None) -> NamedItems:
        """A rejected sign-up, stored with its reason: the referee's ``pointer``, the
        record in the referrer's list (when the code was known), counts and stats."""
        referrer, referee = record.get("referrer_id"), record["referee_id"]
        named: NamedItems = [("pointer", self._pointer(record))]
        if referrer and referrer != referee:
            named += [("referral", self._put({**keys.referral(referrer, referee), **record},
                                             condition="attribute_not_exists(PK) OR #s = :rej",
                                             names={"#s": "state"},
                                             values={":rej": "rejected"})),
                      ("referrer_summary", self._counts(referrer, {"rejected": 1}))]
        named.append(("stats", self._stats(referee, {
            "rejected": 1, f"rejected_{record['reason']}": 1})))
        if guard:
            named.append(("request", guard))
        return named

    def _pointer(self, record: Item) -> Item:
        item = {**keys.referral_pointer(record["referee_id"]),
                **{k: record.get(k) for k in ("referrer_id", "referee_id", "code", "state",
                                              "reason", "signed_up_at")}}
        return self._put(item, condition="attribute_not_exists(PK) OR #s = :rej",
                         names={"#s": "state"}, values={":rej": "rejected"})

    def start_window(self, referrer: str, referee: str, order_id: str, placed_at: str,
                     due_iso: str) -> None:
        """signed_up → pending, into the due index (ConditionFailed when not signed_up)."""
        args = update_args(
            set_={"state": "pending", "order_id": order_id, "order_placed_at": placed_at,
                  "due_at": due_iso, **keys.referral_due_index(referrer, referee, due_iso)},
            condition="#c0 = :from", names={"#c0": "state"}, values={":from": "signed_up"})
        with translated():
            self.table.update_item(Key=keys.referral(referrer, referee),
                                   ReturnValuesOnConditionCheckFailure="ALL_OLD", **args)

    def transition_items(self, referrer: str, referee: str, from_: str, to: str, now: str,
                         *, before: str | None = None, counts: dict[str, int] | None = None
                         ) -> NamedItems:
        """``referral`` from ``from_`` to ``to`` (conditional), leaving the due index
        unless it stays due; ``before``: only while its window is still open."""
        stay = to in ("pending", "qualified")
        cond, values = "#c0 = :from", {":from": from_}
        if before:
            cond, values = cond + " AND #c1 > :before", {**values, ":before": before}
        named: NamedItems = [("referral", self._update(
            keys.referral(referrer, referee), set_={"state": to, f"{to}_at": now},
            remove=() if stay else ("GSI2PK", "GSI2SK"), condition=cond,
            names={"#c0": "state", **({"#c1": "due_at"} if before else {})}, values=values))]
        if counts:
            named += [("referrer_summary", self._counts(referrer, counts)),
                      ("stats", self._stats(referee, counts))]
        return named


def _strip(item: Item) -> Item:
    return {k: v for k, v in item.items() if k not in ("PK", "SK", *keys.GSI_ATTRS)}

"""Check-in records on the single table: the member's streak state, one record per day,
sharded daily counters. Every key and transaction item is built here; services hand in
domain values and get domain values back.

Transaction item names: ``day`` (create-only: a second check-in of the day fails it and
gets the first record back), ``checkin`` (the state, at the version read), ``stat`` (a
commutative counter ADD).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.counters import add_item, summed_stats
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    get_labelled,
    plain,
    query_all,
    storable,
    translated,
    update_args,
    write_named,
)
from chalicelib.domain.engagement.checkin import CheckinState

Item = dict[str, Any]
OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
STAT_FIELDS = ("checkins", "makeups", "points_awarded", "points_spent", "coupons")
RUN_LOOKBACK_DAYS = 400  # a make-up re-links a run at most this long


def state_from_item(member_id: str, item: Item | None) -> CheckinState:
    if not item:
        return CheckinState(member_id)
    return CheckinState(
        member_id, version=int(item.get("version", 0)),
        run_start=date.fromisoformat(item["run_start"]) if item.get("run_start") else None,
        last_date=date.fromisoformat(item["last_date"]) if item.get("last_date") else None,
        total_days=int(item.get("total_days", 0)),
        makeups={k: int(v) for k, v in (item.get("makeups") or {}).items()})


class CheckinReads:
    """What one check-in decision reads, in one BatchGetItem."""

    def __init__(self, timezone: str | None, member_live: bool, state: CheckinState,
                 day: Item | None) -> None:
        self.timezone = timezone
        self.member_live = member_live
        self.state = state
        self.day = day


class CheckinRepository(TableRepository):
    # --- reads --------------------------------------------------------------------------
    def _batch(self, wanted: dict[str, dict[str, str]]) -> dict[str, Item | None]:
        return get_labelled(self.table, wanted)

    def reads(self, member_id: str, day: str | None = None) -> CheckinReads:
        """Profile (timezone), the check-in state and, when given, the record of ``day``."""
        wanted = {"profile": keys.member_profile(member_id),
                  "state": keys.checkin_state(member_id)}
        if day:
            wanted["day"] = keys.checkin_day(member_id, day)
        got = self._batch(wanted)
        profile = got["profile"]
        return CheckinReads(timezone=(profile or {}).get("timezone"),
                            member_live=profile is not None and not profile.get("erased"),
                            state=state_from_item(member_id, got["state"]),
                            day=_day_record(got.get("day")))

    def day(self, member_id: str, day: str) -> Item | None:
        with translated():
            item = self.table.get_item(Key=keys.checkin_day(member_id, day),
                                       ConsistentRead=True).get("Item")
        return _day_record(plain(item) if item else None)

    def days(self, member_id: str, first: str, last: str) -> list[Item]:
        """Day records from ``first`` to ``last`` (yyyy-mm-dd), oldest first: one Query."""
        from boto3.dynamodb.conditions import Key

        pk, low, high = keys.checkin_days(member_id, first, last)
        items = query_all(self.table, KeyConditionExpression=Key("PK").eq(pk)
                          & Key("SK").between(low, high))
        return [r for r in (_day_record(i) for i in items) if r]

    def recorded_before(self, member_id: str, day: date) -> set[date]:
        """Recorded days in the RUN_LOOKBACK_DAYS before ``day`` (keys only, newest first)."""
        from datetime import timedelta

        from boto3.dynamodb.conditions import Key

        first = (day - timedelta(days=RUN_LOOKBACK_DAYS)).isoformat()
        last = (day - timedelta(days=1)).isoformat()
        pk, low, high = keys.checkin_days(member_id, first, last)
        items = query_all(self.table, KeyConditionExpression=Key("PK").eq(pk)
                          & Key("SK").between(low, high), ProjectionExpression="SK",
                          ScanIndexForward=False)
        return {date.fromisoformat(i["SK"].removeprefix(keys.CHECKIN)) for i in items}

    def stats(self, first: str, last: str) -> dict[str, dict[str, int]]:
        """Counters per day from ``first`` to ``last``, summed over the shards."""
        return summed_stats(self.table, keys.checkin_stats_partitions(), first, last)

    # --- writes -------------------------------------------------------------------------
    def day_item(self, member_id: str, record: Item) -> Item:
        """Create-only Put of a day's record (its condition fails on a second check-in)."""
        item = {**keys.checkin_day(member_id, record["date"]), "entity": "checkin_day",
                "member_id": member_id, **record}
        return {"Put": {"TableName": self.table.name, "Item": storable(item),
                        "ConditionExpression": "attribute_not_exists(PK)", **OLD}}

    def state_item(self, new: CheckinState, read_version: int) -> Item:
        """The streak state, if still at ``read_version`` (absent when 0)."""
        sets = {"entity": "checkin", "member_id": new.member_id,
                "run_start": new.run_start.isoformat() if new.run_start else None,
                "last_date": new.last_date.isoformat() if new.last_date else None,
                "total_days": new.total_days, "makeups": new.makeups}
        if read_version:
            cond, names, values = "#ver = :ver", {"#ver": "version"}, {":ver": read_version}
        else:
            cond, names, values = "attribute_not_exists(PK)", {}, {}
        args = update_args(set_={k: v for k, v in sets.items() if v is not None},
                           add={"version": 1}, condition=cond, names=names, values=values)
        return {"Update": {"TableName": self.table.name,
                           "Key": keys.checkin_state(new.member_id), **args}}

    def stat_item(self, member_id: str, day: str, counts: dict[str, int]) -> Item:
        """A commutative ADD on the member's counter shard of ``day``."""
        return add_item(self.table.name, keys.checkin_stats(member_id, day), "checkin_stats",
                        counts)

    def write(self, named: NamedItems, token: str | None = None) -> None:
        write_named(self.table.meta.client, named, token)


def _day_record(item: Item | None) -> Item | None:
    if not item:
        return None
    return {k: v for k, v in item.items()
            if k not in ("PK", "SK", "entity", "member_id")}


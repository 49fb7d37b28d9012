"""Activity events on the single table: the once-forever record per natural key, the
member's per-day/per-month award counters, sharded daily stats.

Transaction item names: ``activity`` (create-only: the same natural key again fails it and
gets the first record back), ``cap_day`` / ``cap_month`` (ADD 1 while under the cap: a lost
race fails them, read again), ``stat`` (a commutative ADD).
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.counters import add_item, summed_stats
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    plain,
    storable,
    translated,
    update_args,
    write_named,
)

Item = dict[str, Any]
OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


class ActivityRepository(TableRepository):
    # --- reads --------------------------------------------------------------------------
    def _get(self, key: dict[str, str], consistent: bool = True) -> Item | None:
        with translated():
            item = self.table.get_item(Key=key, ConsistentRead=consistent).get("Item")
        return plain(item) if item else None

    def member(self, member_id: str) -> tuple[bool, str | None]:
        """(live, the profile's timezone)."""
        profile = self._get(keys.member_profile(member_id), consistent=False)
        return (profile is not None and not profile.get("erased"),
                (profile or {}).get("timezone"))

    def first(self, activity_type: str, natural_key: str) -> Item | None:
        """The record of an event already seen (its result), or None."""
        item = self._get(keys.activity(activity_type, natural_key))
        return _record(item)

    def counts(self, member_id: str, activity_type: str, day: str, month: str
               ) -> tuple[int, int]:
        """Awarded events of the type on the member-local ``day`` and in ``month``."""
        d = self._get(keys.activity_cap(member_id, activity_type, day)) or {}
        m = self._get(keys.activity_cap(member_id, activity_type, month)) or {}
        return int(d.get("n", 0)), int(m.get("n", 0))

    def stats(self, first: str, last: str) -> dict[str, dict[str, int]]:
        """Counters per day (``<type>:events|awarded|capped|points``), summed over shards."""
        return summed_stats(self.table, keys.activity_stats_partitions(), first, last)

    # --- writes -------------------------------------------------------------------------
    def record_item(self, record: Item) -> Item:
        item = {**keys.activity(record["type"], record["natural_key"]), "entity": "activity",
                **record}
        return {"Put": {"TableName": self.table.name, "Item": storable(item),
                        "ConditionExpression": "attribute_not_exists(PK)", **OLD}}

    def cap_item(self, member_id: str, activity_type: str, period: str, cap: int | None
                 ) -> Item:
        """Count one awarded event, only while the count is under ``cap``."""
        cond, values = None, {}
        if cap is not None:
            cond, values = "attribute_not_exists(#n) OR #n < :cap", {":cap": cap}
        args = update_args(set_={"entity": "activity_cap"}, add={"n": 1}, condition=cond,
                           names={"#n": "n"} if cond else None, values=values)
        return {"Update": {"TableName": self.table.name,
                           "Key": keys.activity_cap(member_id, activity_type, period), **args}}

    def stat_item(self, member_id: str, day: str, activity_type: str, points: int,
                  capped: bool) -> Item:
        add = {f"{activity_type}:events": 1, f"{activity_type}:points": points,
               f"{activity_type}:{'capped' if capped else 'awarded'}": 1}
        return add_item(self.table.name, keys.activity_stats(member_id, day), "activity_stats",
                        add)

    def write(self, named: NamedItems, token: str | None = None) -> None:
        write_named(self.table.meta.client, named, token)


def _record(item: Item | None) -> Item | None:
    if not item:
        return None
    return {k: v for k, v in item.items() if k not in ("PK", "SK", "entity")}


def record_of(old: Item | None) -> Item | None:
    """A stored activity record (as a cancellation returns it) without its keys."""
    return _record(old)

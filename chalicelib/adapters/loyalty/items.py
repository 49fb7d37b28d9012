"""TransactWriteItems entries for loyalty writes: LOYALTY, lots, ledger, orders, stock.

Each builder returns one TransactItem in the high-level (resource) form, with every
condition spelled out: the LOYALTY item moves only from the version it was read at, a lot
only from the remainder it was read with, and creates never overwrite.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import aws, keys
from chalicelib.adapters.dynamo import storable, update_args
from chalicelib.domain.coupons.stock import split
from chalicelib.domain.loyalty import dates
from chalicelib.domain.loyalty.state import LoyaltyState
from chalicelib.domain.loyalty.wallet import Lot, Take

Item = dict[str, Any]
OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def _table() -> str:
    return str(aws.table().name)


def put(item: Item, *, create_only: bool = True) -> Item:
    body: Item = {"TableName": _table(), "Item": storable(item)}
    if create_only:
        body["ConditionExpression"] = "attribute_not_exists(PK)"
        body.update(OLD)
    return {"Put": body}


def loyalty_write(state: LoyaltyState, read_version: int, base_tier: str) -> Item:
    """Set every owned LOYALTY attribute if the item is still at ``read_version``."""
    member = state.member_id
    attrs = state.attrs()
    sets = {k: v for k, v in attrs.items() if v is not None}
    sets["entity"] = "loyalty"
    sets.update(keys.member_index(member))  # audiences read LOYALTY from the member index
    remove = [k for k, v in attrs.items() if v is None]
    if state.review_at and state.tier and state.tier != base_tier:
        sets.update(keys.review_index(state.review_at, member))
    else:
        remove += ["GSI1PK", "GSI1SK"]
    if state.last_order_at and state.timezone:
        day = dates.local_date(dates.parse(state.last_order_at), state.timezone).isoformat()
        sets.update(keys.last_order_index(day, state.timezone, member))
    if read_version:
        cond, names, values = "#ver = :ver", {"#ver": "version"}, {":ver": read_version}
    else:
        cond, names, values = "attribute_not_exists(PK)", {}, {}
    args = update_args(set_=sets, remove=remove, add={"version": 1}, condition=cond,
                       names=names, values=values)
    return {"Update": {"TableName": _table(), "Key": keys.member_loyalty(member), **args, **OLD}}


def loyalty_add(member_id: str, add: dict[str, int], require_no_debt: bool = False) -> Item:
    """Commutative change (no read needed): ADD counters and bump the version."""
    cond = "attribute_exists(PK)"
    names: dict[str, str] = {}
    if require_no_debt:
        cond += " AND (attribute_not_exists(#debt) OR #debt = :zero)"
        names["#debt"] = "debt"
    args = update_args(add={**add, "version": 1}, condition=cond, names=names,
                       values={":zero": 0} if require_no_debt else None)
    return {"Update": {"TableName": _table(), "Key": keys.member_loyalty(member_id), **args,
                       **OLD}}


def lot_put(member_id: str, lot: Lot, expiry_date: str, created_at: str) -> Item:
    item = {**keys.member_lot(member_id, lot.expires_at, lot.lot_id),
            **keys.lot_expiry_index(expiry_date, member_id, lot.lot_id),
            "entity": "lot", "member_id": member_id, "lot_id": lot.lot_id,
            "points": lot.points, "remaining": lot.remaining, "expires_at": lot.expires_at,
            "expiry_date": expiry_date, "available_on": lot.available_on, "source": lot.source,
            "created_at": created_at}
    return put(item)


def lot_take(member_id: str, take: Take) -> Item:
    """Lower a lot's remainder (deleting it at zero) if it still holds what was read."""
    key = keys.member_lot(member_id, take.lot.expires_at, take.lot.lot_id)
    cond = {"ConditionExpression": "#rem = :seen",
            "ExpressionAttributeNames": {"#rem": "remaining"},
            "ExpressionAttributeValues": {":seen": take.lot.remaining}}
    if take.after == 0:
        return {"Delete": {"TableName": _table(), "Key": key, **cond, **OLD}}
    args = update_args(set_={"remaining": take.after}, condition="#rem = :seen",
                       names={"#rem": "remaining"}, values={":seen": take.lot.remaining})
    return {"Update": {"TableName": _table(), "Key": key, **args, **OLD}}


def lot_from_item(item: Item) -> Lot:
    return Lot(lot_id=item["lot_id"], points=int(item["points"]),
               remaining=int(item["remaining"]), expires_at=item["expires_at"],
               available_on=item["available_on"], source=item.get("source", ""))


def ledger_put(member_id: str, entry: Item) -> Item:
    """Append-only: an entry is written once and never changed."""
    item = {**keys.member_ledger(member_id, entry["created_at"], entry["entry_id"]),
            "entity": "ledger", "member_id": member_id, **entry}
    return put(item)


def order_update(order_id: str, read_version: int, sets: Item) -> Item:
    args = update_args(set_=sets, add={"version": 1}, condition="#ver = :ver",
                       names={"#ver": "version"}, values={":ver": read_version})
    return {"Update": {"TableName": _table(), "Key": keys.order(order_id), **args, **OLD}}


def reward_stock_take(reward_id: str, stock: int | None, shard: int) -> Item:
    """Count one redemption on a counter shard; with a stock, only while the shard counted
    fewer than its exact share of it (the shares add up to the stock: never oversold)."""
    if stock is None:
        args = update_args(add={"redeemed": 1})
    else:
        share = reward_share(stock, shard)
        # A shard with no share fails even before its counter exists.
        args = update_args(add={"redeemed": 1},
                           condition="attribute_not_exists(#red) OR #red < :stock" if share
                           else "#red < :stock",
                           names={"#red": "redeemed"}, values={":stock": share})
    return {"Update": {"TableName": _table(), "Key": keys.reward_stock_shard(reward_id, shard),
                       **args, **OLD}}


def reward_share(stock: int, shard: int) -> int:
    return split(stock, keys.REWARD_SHARDS)[shard]


def reward_shards() -> range:
    return range(keys.REWARD_SHARDS)

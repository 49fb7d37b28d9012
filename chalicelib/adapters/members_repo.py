"""Member profiles and devices in DynamoDB."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import (
    ConditionFailed,
    TableRepository,
    TransactionCancelled,
    plain,
    query_all,
    storable,
    translated,
    update_args,
)
from chalicelib.errors import AlreadyExists, Conflict, NotFound

SERVER_FIELDS = ("member_id", "created_at", "updated_at", "signup_at", "version", "erased")


class MemberRepository(TableRepository):
    """Profiles are one item each (PK=MEMBER#id, SK=PROFILE); devices sit beside them."""


    def create(self, profile: dict[str, Any], guard: dict[str, Any] | None = None) -> None:
        """Create-only put; with a request ``guard`` both commit in one transaction."""
        item = {**keys.member_profile(profile["member_id"]), **profile, "version": 1}
        item.update(self._index_attrs(profile))
        exists = AlreadyExists(f"member {profile['member_id']} already exists")
        if guard is None:
            try:
                with translated():
                    self.table.put_item(
                        Item=storable(item), ConditionExpression="attribute_not_exists(PK)"
                    )
            except ConditionFailed as e:
                raise exists from e
            return
        put = {"Put": {"TableName": self.table.name, "Item": storable(item),
                       "ConditionExpression": "attribute_not_exists(PK)"}}
        try:
            with translated():
                self.table.meta.client.transact_write_items(TransactItems=[put, guard])
        except TransactionCancelled as e:
            if e.failed(1):
                raise  # the guard: this keyed request already ran (the caller replays it)
            if e.failed(0):
                raise exists from e
            raise

    def get(self, member_id: str) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.member_profile(member_id)).get("Item")
        return _strip(plain(item)) if item else None

    def require(self, member_id: str) -> dict[str, Any]:
        item = self.get(member_id)
        if item is None or item.get("erased"):
            raise NotFound(f"member {member_id} not found")
        return item

    def replace_profile(self, before: dict[str, Any], after: dict[str, Any], now: str) -> None:
        """Write ``after`` if the item is still at ``before``'s version (optimistic lock)."""
        sets = {k: v for k, v in after.items() if k not in SERVER_FIELDS}
        sets.update(self._index_attrs(after))
        sets["updated_at"] = now
        removed = [k for k in before if k not in after and k not in SERVER_FIELDS]
        if not after.get("birthday"):
            removed += ["GSI1PK", "GSI1SK"]
        args = update_args(
            set_=sets,
            remove=removed,
            add={"version": 1},
            condition="#v = :v AND attribute_exists(PK) AND #e = :live",
            names={"#v": "version", "#e": "erased"},
            values={":v": before["version"], ":live": False},
        )
        try:
            with translated():
                self.table.update_item(Key=keys.member_profile(before["member_id"]), **args)
        except ConditionFailed as e:
            raise Conflict("the member was changed concurrently; retry") from e

    def put_device(self, member_id: str, device: dict[str, Any]) -> None:
        with translated():
            self.table.put_item(Item=storable({**keys.member_device(member_id, device["token"]),
                                               **device}))

    def delete_device(self, member_id: str, token: str) -> bool:
        with translated():
            old = self.table.delete_item(
                Key=keys.member_device(member_id, token), ReturnValues="ALL_OLD"
            ).get("Attributes")
        return old is not None

    def partition(self, member_id: str) -> list[dict[str, Any]]:
        """Every item held under the member's partition (export, erasure)."""
        from boto3.dynamodb.conditions import Key

        return query_all(self.table, KeyConditionExpression=Key("PK").eq(keys.member_pk(member_id)))

    def erase(self, member_id: str, pii_fields: tuple[str, ...], now: str) -> None:
        """Remove PII and targeting index entries; ledgers stay under the pseudonymous id."""
        items = self.partition(member_id)
        with translated(), self.table.batch_writer() as batch:
            for item in items:
                if item["SK"].startswith(keys.DEVICE):
                    batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
        for item in items:
            if item["SK"].startswith(keys.DEVICE):
                continue
            indexed = [a for a in keys.GSI_ATTRS if a in item]
            if item["SK"] == keys.PROFILE:
                args = update_args(
                    set_={"erased": True, "erased_at": now, "updated_at": now,
                          "consent": {"push": False, "sms": False, "email": False}},
                    remove=[*[f for f in pii_fields if f in item], *indexed],
                    add={"version": 1},
                )
            elif indexed and not item["SK"].startswith("LOT#"):
                # Lots keep their expiry index (points still expire); targeting indexes go.
                args = update_args(remove=indexed)
            else:
                continue
            with translated():
                self.table.update_item(Key={"PK": item["PK"], "SK": item["SK"]}, **args)

    @staticmethod
    def _index_attrs(profile: dict[str, Any]) -> dict[str, str]:
        from chalicelib.domain.members import month_day

        md = month_day(profile.get("birthday"))
        if md is None or profile.get("erased"):
            return {}
        return keys.birthday_index(md, profile["timezone"], profile["member_id"])


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("PK", "SK", *keys.GSI_ATTRS)}

"""Member profiles and devices in DynamoDB."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.audit_log import audit_item
from chalicelib.adapters.dynamo import (
    ConditionFailed,
    NamedItems,
    TableRepository,
    TransactionCancelled,
    plain,
    query_all,
    storable,
    translated,
    update_args,
    write_named,
)
from chalicelib.adapters.members.summary import summary_clear_args, summary_item
from chalicelib.domain.members.summary import summary_changed
from chalicelib.errors import AlreadyExists, Conflict, NotFound

SERVER_FIELDS = ("member_id", "created_at", "updated_at", "signup_at", "version", "erased")


class MemberRepository(TableRepository):
    """Profiles are one item each (PK=MEMBER#id, SK=PROFILE); devices sit beside them."""

    def create(self, profile: dict[str, Any], guard: dict[str, Any] | None = None) -> None:
        """Create-only put of the profile with its audience summary on LOYALTY (and the
        request ``guard``), in one transaction."""
        item = {**keys.member_profile(profile["member_id"]), **profile, "version": 1}
        item.update(self._index_attrs(profile))
        named: dict[str, dict[str, Any]] = {
            "profile": {"Put": {"TableName": self.table.name, "Item": storable(item),
                                "ConditionExpression": "attribute_not_exists(PK)"}},
            "summary": summary_item(self.table.name, profile),
        }
        if guard is not None:
            named["request"] = guard
        failed = self._transact(named)
        if "request" in failed:
            raise failed["request"]  # this keyed request already ran: the caller replays it
        if "profile" in failed:
            raise AlreadyExists(f"member {profile['member_id']} already exists") \
                from failed["profile"]
        if failed:
            raise next(iter(failed.values()))

    def get(self, member_id: str) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.member_profile(member_id)).get("Item")
        return _strip(plain(item)) if item else None

    def require(self, member_id: str) -> dict[str, Any]:
        item = self.get(member_id)
        if item is None or item.get("erased"):
            raise NotFound(f"member {member_id} not found")
        return item

    def profile_and_summary(self, member_id: str
                            ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The PROFILE and the LOYALTY summary (loyalty fields and facts), one BatchGetItem."""
        name = self.table.name
        want = [keys.member_profile(member_id), keys.member_loyalty(member_id)]
        got: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {name: {"Keys": want, "ConsistentRead": True}}
        while request:
            with translated():
                resp = self.table.meta.client.batch_get_item(RequestItems=request)
            for raw in resp.get("Responses", {}).get(name, []):
                item = plain(raw)
                got[item["SK"]] = _strip(item)
            request = resp.get("UnprocessedKeys") or {}
        return got.get(keys.PROFILE), got.get(keys.LOYALTY)

    def record_lookup(self, member_id: str, actor: str, at: str, purpose: str) -> None:
        """Audit one support lookup (who looked at whom, when): a create-only put, written
        before the profile is shown, so no lookup goes unrecorded."""
        entry = audit_item(at, actor, "member", member_id, "lookup", purpose=purpose)
        with translated():
            self.table.put_item(Item=storable(entry),
                                ConditionExpression="attribute_not_exists(PK)")

    def replace_profile(self, before: dict[str, Any], after: dict[str, Any], now: str) -> None:
        """Write ``after`` if the item is still at ``before``'s version (optimistic lock),
        with the audience summary in the same transaction when the change alters it."""
        update = self._profile_update(before, after, now)
        if summary_changed(before, after):
            failed = self._transact({
                "profile": {"Update": {"TableName": self.table.name,
                                       "Key": keys.member_profile(before["member_id"]),
                                       **update}},
                "summary": summary_item(self.table.name, after)})
            if failed:
                raise Conflict("the member was changed concurrently; retry") from failed.get(
                    "profile")
            return
        try:
            with translated():
                self.table.update_item(Key=keys.member_profile(before["member_id"]), **update)
        except ConditionFailed as e:
            raise Conflict("the member was changed concurrently; retry") from e

    def replace_segmentation(self, before: dict[str, Any], after: dict[str, Any], now: str,
                             audit: dict[str, Any], guard: dict[str, Any] | None = None) -> None:
        self.replace_audited(before, after, now, audit, guard)

    def replace_audited(self, before: dict[str, Any], after: dict[str, Any], now: str,
                        audit: dict[str, Any], guard: dict[str, Any] | None = None,
                        extra: NamedItems | None = None) -> None:
        """Profile at ``before``'s version → ``after``, with its audit entry (and the keyed
        request's guard, and ``extra`` named items another capability counts the change
        with: unconditional) in one transaction: no change without its record."""
        member_id = before["member_id"]
        entry = {**audit_item(now, str(audit.get("who")), "member", member_id,
                              str(audit.get("action"))), **audit}
        named: dict[str, dict[str, Any]] = {
            "profile": {"Update": {"TableName": self.table.name,
                                   "Key": keys.member_profile(member_id),
                                   **self._profile_update(before, after, now)}},
            "audit": {"Put": {"TableName": self.table.name, "Item": storable(entry),
                              "ConditionExpression": "attribute_not_exists(PK)"}},
        }
        if summary_changed(before, after):
            named["summary"] = summary_item(self.table.name, after)
        if guard is not None:
            named["request"] = guard
        for name, item in extra or []:
            if name in named:
                raise ValueError(f"transaction item {name} named twice")
            named[name] = item
        failed = self._transact(named)
        if "request" in failed:
            raise failed["request"]  # this keyed request already ran: the caller replays it
        if failed:
            raise Conflict("the member was changed concurrently; retry") from failed.get(
                "profile")

    def _profile_update(self, before: dict[str, Any], after: dict[str, Any], now: str
                        ) -> dict[str, Any]:
        sets = {k: v for k, v in after.items() if k not in SERVER_FIELDS}
        sets.update(self._index_attrs(after))
        sets["updated_at"] = now
        removed = [k for k in before if k not in after and k not in SERVER_FIELDS]
        removed += ["GSI3PK", "GSI3SK"]  # the member index is LOYALTY's (profiles of old)
        if not after.get("birthday"):
            removed += ["GSI1PK", "GSI1SK"]
        if not after.get("phone"):  # the phone index (inbound SMS replies)
            removed += ["GSI2PK", "GSI2SK"]
        return update_args(
            set_=sets,
            remove=removed,
            add={"version": 1},
            condition="#v = :v AND attribute_exists(PK) AND #e = :live",
            names={"#v": "version", "#e": "erased"},
            values={":v": before["version"], ":live": False},
        )

    def _transact(self, named: dict[str, dict[str, Any]]) -> dict[str, TransactionCancelled]:
        """Commit named items; the names of the items whose condition failed (none: done)."""
        try:
            write_named(self.table.meta.client, list(named.items()))
        except TransactionCancelled as e:
            if not e.failed_names:
                raise
            return dict.fromkeys(e.failed_names, e)
        return {}

    # --- devices: addressed by an opaque id (the token's hash); one member per token -------

    def device_holder(self, token: str) -> tuple[str, str | None]:
        """(the token's device id, the member holding it now or None)."""
        device_id = keys.device_hash(token)
        return device_id, self.device_owner(device_id)

    def device_owner(self, device_id: str) -> str | None:
        with translated():
            item = self.table.get_item(Key=keys.device_owner(device_id),
                                       ConsistentRead=True).get("Item")
        return str(item["member_id"]) if item else None

    def get_device(self, member_id: str, device_id: str) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.member_device_id(member_id, device_id),
                                       ConsistentRead=True).get("Item")
        return _device(plain(item)) if item else None

    def devices(self, member_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return [_device(i) for i in query_all(
            self.table, KeyConditionExpression=Key("PK").eq(keys.member_pk(member_id))
            & Key("SK").begins_with(keys.DEVICE))]

    def put_device(self, member_id: str, device: dict[str, Any],
                   previous_owner: str | None = None) -> str:
        """Register ``device`` for the member and make it the token's only holder: the
        previous owner's registration is removed in the same transaction. Conflict when the
        token changed hands since ``previous_owner`` was read (the caller re-reads)."""
        device_id = keys.device_hash(device["token"])
        me = {":me": member_id}
        if previous_owner and previous_owner != member_id:
            owner_cond = {"ConditionExpression": "member_id = :prev",
                          "ExpressionAttributeValues": {":prev": previous_owner}}
        else:
            owner_cond = {"ConditionExpression": "attribute_not_exists(PK) OR member_id = :me",
                          "ExpressionAttributeValues": me}
        named: dict[str, dict[str, Any]] = {
            "owner": {"Put": {"TableName": self.table.name, "Item": storable({
                **keys.device_owner(device_id), "member_id": member_id, "device_id": device_id}),
                **owner_cond}},
            "device": {"Put": {"TableName": self.table.name, "Item": storable({
                **keys.member_device_id(member_id, device_id), **device,
                "device_id": device_id})}},
        }
        if previous_owner and previous_owner != member_id:
            named["previous"] = {"Delete": {"TableName": self.table.name,
                                            "Key": keys.member_device_id(previous_owner,
                                                                         device_id)}}
        failed = self._transact(named)
        if failed:
            raise Conflict("the device was registered concurrently; retry") from failed["owner"]
        return device_id

    def delete_device(self, member_id: str, device_id: str) -> bool:
        """Forget the member's device and its ownership (when the member still holds it)."""
        failed = self._transact({
            "device": {"Delete": {"TableName": self.table.name,
                                  "Key": keys.member_device_id(member_id, device_id),
                                  "ConditionExpression": "attribute_exists(PK)"}},
            "owner": {"Delete": {"TableName": self.table.name,
                                 "Key": keys.device_owner(device_id),
                                 "ConditionExpression": "attribute_not_exists(PK) OR "
                                                        "member_id = :me",
                                 "ExpressionAttributeValues": {":me": member_id}}},
        })
        if "device" in failed:
            return False
        if failed:  # another member holds the token now: only our registration goes
            try:
                with translated():
                    self.table.delete_item(Key=keys.member_device_id(member_id, device_id),
                                           ConditionExpression="attribute_exists(PK)")
            except ConditionFailed:
                return False
        return True

    def partition(self, member_id: str) -> list[dict[str, Any]]:
        """Every item held under the member's partition (export, erasure)."""
        from boto3.dynamodb.conditions import Key

        return query_all(self.table, KeyConditionExpression=Key("PK").eq(keys.member_pk(member_id)))

    def erase(self, member_id: str, pii_fields: tuple[str, ...], now: str
              ) -> list[dict[str, str]]:
        """Remove PII and targeting index entries; ledgers stay under the pseudonymous id.
        Outbox entries lose their rendered message (it holds the name, a coupon code...);
        the pending ones are returned ({member_id, campaign_id, occurrence, channel}) for
        the caller to finish as failed, and keep their sweeper index until then, so one a
        crash leaves behind is still found (and stopped: the profile says erased)."""
        items = self.partition(member_id)
        pending: list[dict[str, str]] = []
        for item in items:
            if item["SK"].startswith(keys.DEVICE):
                self.delete_device(member_id, item["SK"].removeprefix(keys.DEVICE))
        for item in items:
            if item["SK"].startswith(keys.DEVICE):
                continue
            indexed = [a for a in keys.GSI_ATTRS if a in item]
            if item["SK"].startswith(keys.OUTBOX):
                if item.get("state") == "pending":
                    pending.append({k: str(item[k]) for k in ("member_id", "campaign_id",
                                                              "occurrence", "channel")})
                if "message" not in item:
                    continue
                args = update_args(remove=["message"])
            elif item["SK"] == keys.LOYALTY:
                args = summary_clear_args()
            elif item["SK"] == keys.PROFILE:
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
        return pending

    @staticmethod
    def _index_attrs(profile: dict[str, Any]) -> dict[str, str]:
        from chalicelib.domain.members.model import month_day

        out: dict[str, str] = {}
        if profile.get("erased"):
            return out
        # The member index (GSI3) holds LOYALTY, the audience summary, not the profile.
        md = month_day(profile.get("birthday"))
        if md is not None:
            out.update(keys.birthday_index(md, profile["timezone"], profile["member_id"]))
        if profile.get("phone"):
            out.update(keys.phone_index(str(profile["phone"]), profile["member_id"]))
        return out


def _device(item: dict[str, Any]) -> dict[str, Any]:
    """A device item with its id (items written before ids were stored carry it in SK)."""
    return {**_strip(item), "device_id": item.get("device_id") or item["SK"].removeprefix(
        keys.DEVICE)}


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("PK", "SK", *keys.GSI_ATTRS)}

"""Members by contact: the phone index an inbound SMS reply is matched with.

A PROFILE with a phone carries ``GSI2PK = PHONE#<hmac of the phone>``, ``GSI2SK = <member
id>`` (written with the profile by ``MemberRepository``, see keys.py): one key Query finds
every member holding a number, never a Scan and never the number in a key. The index is
eventually consistent, so every hit is checked against the profile itself (consistent read)
before it is used: a number changed a moment ago is not matched to its former holder.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import TableRepository, plain, translated, update_args

MAX_HOLDERS = 20  # members sharing one number; more is a data problem, not a family


class ContactIndex(TableRepository):
    def members_with_phone(self, phone: str) -> list[dict[str, Any]]:
        """Live profiles whose phone is ``phone`` now (at most MAX_HOLDERS)."""
        from boto3.dynamodb.conditions import Key

        with translated():
            page = self.table.query(IndexName=keys.GSI2, Limit=MAX_HOLDERS,
                                    KeyConditionExpression=Key("GSI2PK").eq(
                                        keys.phone_partition(phone)))
        out = []
        for hit in page.get("Items", []):
            member_id = str(hit.get("member_id") or hit.get("GSI2SK") or "")
            with translated():
                item = self.table.get_item(Key=keys.member_profile(member_id),
                                           ConsistentRead=True).get("Item")
            profile = plain(item) if item else None
            if profile and not profile.get("erased") and profile.get("phone") == phone:
                out.append({k: v for k, v in profile.items()
                            if k not in ("PK", "SK", *keys.GSI_ATTRS)})
        return out

    # --- the one-off backfill of profiles written before the index existed -----------------

    def backfill_phone_index(self, segments: int = 4) -> dict[str, int]:
        """Put every live PROFILE with a phone into the phone index: a segmented Scan (an
        operator's one-off, never a request or scheduled path); each write is conditional on
        the phone being unchanged, so a concurrent profile change wins. Idempotent."""
        counts = {"profiles": 0, "indexed": 0, "present": 0, "changed": 0}
        with ThreadPoolExecutor(max_workers=segments) as pool:
            for part in pool.map(self._backfill_segment, range(segments),
                                 [segments] * segments):
                for k, v in part.items():
                    counts[k] += v
        return counts

    def _backfill_segment(self, segment: int, total: int) -> dict[str, int]:
        from chalicelib.adapters.dynamo import ConditionFailed

        counts = {"profiles": 0, "indexed": 0, "present": 0, "changed": 0}
        for item in self._profiles_with_phone(segment, total):
            counts["profiles"] += 1
            want = keys.phone_index(str(item["phone"]), str(item["member_id"]))
            if item.get("GSI2PK") == want["GSI2PK"]:
                counts["present"] += 1
                continue
            try:
                with translated():
                    self.table.update_item(Key=keys.member_profile(str(item["member_id"])),
                                           **update_args(
                        set_=want, condition="#ph = :p AND #e = :live",
                        names={"#ph": "phone", "#e": "erased"},
                        values={":p": item["phone"], ":live": False}))
                counts["indexed"] += 1
            except ConditionFailed:
                counts["changed"] += 1
        return counts

    def _profiles_with_phone(self, segment: int, total: int) -> Iterator[dict[str, Any]]:
        from boto3.dynamodb.conditions import Attr

        args: dict[str, Any] = {
            "Segment": segment, "TotalSegments": total,
            "FilterExpression": Attr("SK").eq(keys.PROFILE) & Attr("phone").exists()
            & Attr("erased").eq(False),
            "ProjectionExpression": "member_id, phone, GSI2PK"}
        while True:
            with translated():
                page = self.table.scan(**args)
            yield from (plain(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

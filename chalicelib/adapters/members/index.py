"""The member index (GSI3): members by fixed hash bucket, one entry each, with what
audiences read.

Every live member's LOYALTY item, its audience summary, carries ``GSI3PK = MEMBERS#<bucket>``
(64 fixed buckets) and ``GSI3SK = <rank>#<member id>`` (see keys.py) and holds a copy of the
profile-level fields audiences read (``profile``), the loyalty fields and the behaviour
facts (adapters/members/summary.py). The index projects only those (infra/template.json),
never phone, email or device tokens. One index item per member: a broadcast reads one item
per member, whatever history the member has.

Reads, all key Queries (never a table Scan):

- ``sample_bucket``: a bounded slice of one bucket from a random rank, wrapping around, with
  the share of the bucket's rank space it covered (a uniform sample and its inclusion rate);
- ``members``: every member of some buckets (the exact count);
- ``members_page``: one resumable page of a bucket (the broadcast planner's segments).

Members are yielded as (profile copy, loyalty fields or None). Entries written before the
summary existed (a PROFILE in the index, a LOYALTY without a copy; ``perks members
backfill-summary`` moves them) are still read right: such a member is read whole with one
BatchGetItem, and an erased one is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import TableRepository, plain, storable, translated
from chalicelib.adapters.members.summary import BOOKKEEPING, split_summary, summary_item
from chalicelib.domain.members.summary import summary_of

Member = tuple[dict[str, Any], dict[str, Any] | None]
Group = tuple[str, int, dict[str, dict[str, Any]]]
BUCKETS = keys.MEMBER_BUCKETS  # fixed: changing it re-buckets every member
RANKS = keys.MEMBER_HASH_SPACE  # a bucket's rank space: sample_bucket starts anywhere in it
BACKFILL_BATCH = 50  # members per BatchGetItem (two items each)


@dataclass
class BucketSample:
    """Members read from one bucket and the share of its rank space they cover (0..1]."""

    bucket: int
    members: list[Member] = field(default_factory=list)
    covered: float = 0.0
    pages: int = 0


def _group(items: list[dict[str, Any]]) -> list[Group]:
    """Index items → [(member id, rank, {SK: item})] in index order."""
    out: list[Group] = []
    for raw in items:
        item = plain(raw)
        rank, member_id = keys.member_index_id(item["GSI3SK"])
        if not out or out[-1][0] != member_id:
            out.append((member_id, rank, {}))
        out[-1][2][item["SK"]] = item
    return out


def _whole(profile: dict[str, Any] | None, loyalty: dict[str, Any] | None) -> Member | None:
    """A member read from its PROFILE and LOYALTY items (entries of old)."""
    if profile is None or profile.get("erased"):
        return None
    strip = ("PK", "SK", *keys.GSI_ATTRS)
    rest = {k: v for k, v in (loyalty or {}).items() if k not in BOOKKEEPING}
    return {k: v for k, v in profile.items() if k not in strip}, rest or None


class MemberIndex(TableRepository):
    def _query(self, bucket: int, *, lower: str | None = None, upper: str | None = None,
               limit: int | None = None, start: dict[str, Any] | None = None
               ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        from boto3.dynamodb.conditions import Key

        cond = Key("GSI3PK").eq(keys.member_bucket_partition(bucket))
        if lower is not None:
            cond &= Key("GSI3SK").gte(lower)
        elif upper is not None:
            cond &= Key("GSI3SK").lt(upper)
        args: dict[str, Any] = {"IndexName": keys.GSI3, "KeyConditionExpression": cond}
        if limit is not None:
            args["Limit"] = limit
        if start:
            args["ExclusiveStartKey"] = start
        with translated():
            page = self.table.query(**args)
        return page.get("Items", []), page.get("LastEvaluatedKey")

    def _resolve(self, groups: list[Group]) -> list[Member]:
        """The members of index groups, in order: from the LOYALTY summary when it carries
        the profile copy, else read whole (one BatchGetItem for the page's entries of old)."""
        found: dict[str, Member | None] = {}
        old: list[str] = []
        for member_id, _, parts in groups:
            entry = parts.get(keys.LOYALTY)
            split = split_summary(entry) if entry else None
            found[member_id] = split
            if split is None:
                old.append(member_id)
        if old:
            items = self._get_many([k for m in old for k in (
                keys.member_profile(m), keys.member_loyalty(m))], consistent=False)
            for m in old:
                found[m] = _whole(items.get((keys.member_pk(m), keys.PROFILE)),
                                  items.get((keys.member_pk(m), keys.LOYALTY)))
        return [m for m in (found[g[0]] for g in groups) if m is not None]

    def _get_many(self, key_list: list[dict[str, str]], consistent: bool = True
                  ) -> dict[tuple[str, str], dict[str, Any]]:
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for i in range(0, len(key_list), 100):
            request: dict[str, Any] = {self.table.name: {"Keys": key_list[i:i + 100],
                                                         "ConsistentRead": consistent}}
            while request:
                with translated():
                    resp = self.table.meta.client.batch_get_item(RequestItems=request)
                for raw in resp.get("Responses", {}).get(self.table.name, []):
                    item = plain(raw)
                    out[(item["PK"], item["SK"])] = item
                request = resp.get("UnprocessedKeys") or {}
        return out

    def sample_bucket(self, bucket: int, start_rank: int, quota: int) -> BucketSample:
        """Up to ``quota`` members of ``bucket`` from ``start_rank`` on, wrapping around: one
        bounded page per side. ``covered`` is the share of the bucket's rank space whose
        members were all read (1.0: the whole bucket)."""
        out = BucketSample(bucket)
        space = keys.MEMBER_HASH_SPACE
        bound = keys.member_rank_key(start_rank)
        consumed = 0
        for side, base, width in (("after", start_rank, space - start_rank),
                                  ("before", 0, start_rank)):
            want = quota - consumed
            # One index item per member, plus one more so that the last member kept is
            # known to be complete (an entry of old may still hold two items).
            items, lek = self._query(bucket, lower=bound if side == "after" else None,
                                     upper=bound if side == "before" else None,
                                     limit=want + 1)
            out.pages += 1
            groups = _group(items)
            complete = groups[:-1] if lek else groups
            kept = complete[:want]
            consumed += len(kept)
            out.members.extend(self._resolve(kept))
            if not lek and len(complete) <= want:
                out.covered += width / space  # this side was read to its end
                continue
            if kept:
                out.covered += (kept[-1][1] - base + 1) / space
            return out
        out.covered = 1.0
        return out

    def members(self, buckets: Iterable[int]) -> Iterator[Member]:
        """Every live member of ``buckets`` (paginated key Queries of the index)."""
        for bucket in buckets:
            start: dict[str, Any] | None = None
            pending: list[Group] = []
            while True:
                items, start = self._query(bucket, start=start)
                groups = _group(items)
                # An entry of old (two items) may straddle a page boundary: join them.
                if pending and groups and groups[0][0] == pending[0][0]:
                    groups[0][2].update(pending[0][2])
                elif pending:
                    groups.insert(0, pending[0])
                pending = [groups.pop()] if start and groups else []
                yield from self._resolve(groups)
                if not start:
                    break

    def members_page(self, bucket: int, start: dict[str, Any] | None, limit: int
                     ) -> tuple[list[Member], dict[str, Any] | None]:
        """One page (about ``limit`` index items) of a bucket's live members and where the
        next page starts (None: the bucket is done). A member whose items might continue on
        the next page is left for it, so each member comes back whole exactly once: the
        next page starts after the last item of the last member kept."""
        items, lek = self._query(bucket, start=start, limit=max(limit, 4))
        if lek and items:
            last_id = keys.member_index_id(str(plain(items[-1])["GSI3SK"]))[1]
            cut = len(items)
            while cut and keys.member_index_id(str(plain(items[cut - 1])["GSI3SK"]))[1] \
                    == last_id:
                cut -= 1
            if cut:  # else one member filled the page: keep it, resume after it
                items = items[:cut]
                lek = {k: items[-1][k] for k in ("PK", "SK", "GSI3PK", "GSI3SK")}
        return self._resolve(_group(items)), lek

    # --- backfill ------------------------------------------------------------------------

    def backfill(self, member_ids: list[str]) -> dict[str, int]:
        """Move members to the summary layout (``perks members backfill-summary``): LOYALTY
        gets the profile copy and the index entry, PROFILE leaves the index, in one
        transaction conditional on the profile's version (a concurrent change is re-read
        and copied afresh). Members already moved are left alone (idempotent); erased ones
        only leave the index. Returns {"updated", "unchanged", "missing"}."""
        out = {"updated": 0, "unchanged": 0, "missing": 0}
        for i in range(0, len(member_ids), BACKFILL_BATCH):
            todo = member_ids[i:i + BACKFILL_BATCH]
            for _ in range(5):
                retry = self._backfill_batch(todo, out)
                if not retry:
                    break
                todo = retry
        return out

    def _backfill_batch(self, member_ids: list[str], out: dict[str, int]) -> list[str]:
        from chalicelib.adapters.dynamo import TransactionCancelled

        items = self._get_many([k for m in member_ids for k in (
            keys.member_profile(m), keys.member_loyalty(m))])
        retry: list[str] = []
        for m in member_ids:
            profile = items.get((keys.member_pk(m), keys.PROFILE))
            loyalty = items.get((keys.member_pk(m), keys.LOYALTY)) or {}
            named = self._moves(m, profile, loyalty) if profile else None
            if profile is None:
                out["missing"] += 1
            elif not named:
                out["unchanged"] += 1
            else:
                try:
                    with translated():
                        self.table.meta.client.transact_write_items(
                            TransactItems=list(named.values()))
                    out["updated"] += 1
                except TransactionCancelled as e:
                    if "ConditionalCheckFailed" not in e.reasons and not e.throttled:
                        raise
                    retry.append(m)  # changed meanwhile: read it again
        return retry

    def _moves(self, member_id: str, profile: dict[str, Any], loyalty: dict[str, Any]
               ) -> dict[str, dict[str, Any]]:
        """The named items that move one member to the summary layout ({}: nothing to do)."""
        pkey = keys.member_profile(member_id)
        named: dict[str, dict[str, Any]] = {}
        live = not profile.get("erased")
        in_index = "GSI3PK" in profile
        if in_index:
            named["profile"] = {"Update": {
                "TableName": self.table.name, "Key": pkey,
                "UpdateExpression": "REMOVE GSI3PK, GSI3SK",
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": profile["version"]}}}
        want = {**keys.member_index(member_id), "profile": summary_of(profile)}
        if live and any(loyalty.get(k) != v for k, v in want.items()):
            named.setdefault("profile", {"ConditionCheck": {
                "TableName": self.table.name, "Key": pkey,
                "ConditionExpression": "#v = :v AND #e = :live",
                "ExpressionAttributeNames": {"#v": "version", "#e": "erased"},
                "ExpressionAttributeValues": {":v": profile["version"], ":live": False}}})
            named["summary"] = summary_item(self.table.name, profile)
        return named

    def all_member_ids(self, segments: int = 4) -> Iterator[str]:
        """Every member id, by a parallel Scan for PROFILE items. The one-off backfill
        (``perks members backfill-summary``) only: never on a request or scheduled path."""
        from boto3.dynamodb.conditions import Attr

        def segment(n: int) -> list[str]:
            args: dict[str, Any] = {"Segment": n, "TotalSegments": segments,
                                    "FilterExpression": Attr("SK").eq(keys.PROFILE)
                                    & Attr("PK").begins_with(keys.MEMBER),
                                    "ProjectionExpression": "PK"}
            found: list[str] = []
            while True:
                with translated():
                    page = self.table.scan(**args)
                found += [str(i["PK"]).removeprefix(keys.MEMBER) for i in page.get("Items", [])]
                if not page.get("LastEvaluatedKey"):
                    return found
                args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=segments) as pool:
            for ids in pool.map(segment, range(segments)):
                yield from ids

    def put_members(self, profiles: list[dict[str, Any]],
                    loyalty: list[dict[str, Any]] | None = None) -> None:
        """Bulk-load members as registration and orders leave them: PROFILE, and LOYALTY
        with the audience summary, the index entry and the given loyalty fields (bench and
        tests only: no conditions, no events)."""
        extra = {lo["member_id"]: lo for lo in loyalty or []}
        with translated(), self.table.batch_writer() as batch:
            for p in profiles:
                mid = p["member_id"]
                batch.put_item(Item=storable({**p, **keys.member_profile(mid), "version": 1}))
                batch.put_item(Item=storable({
                    **extra.get(mid, {}), **keys.member_loyalty(mid), **keys.member_index(mid),
                    "member_id": mid, "entity": "loyalty", "profile": summary_of(p),
                    "version": 1}))

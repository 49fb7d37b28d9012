"""The member index (GSI3): members by fixed hash bucket, with what audiences read.

Every live member's PROFILE and LOYALTY items carry ``GSI3PK = MEMBERS#<bucket>`` (64 fixed
buckets) and ``GSI3SK = <rank>#<member id>`` (see keys.py): one key for both items, so they
come back adjacent. The index projects only the attributes audiences and preview samples
read (infra/template.json), never phone, email or device tokens.

Two reads, both key Queries (never a table Scan):

- ``sample_bucket``: a bounded slice of one bucket from a random rank, wrapping around, with
  the share of the bucket's rank space it covered (a uniform sample and its inclusion rate);
- ``members``: every member of some buckets (the exact count);
- ``members_page``: one resumable page of a bucket (the broadcast planner's segments).

Members are yielded as (PROFILE item, LOYALTY item or None); a LOYALTY without a live
PROFILE is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import TableRepository, plain, storable, translated

Member = tuple[dict[str, Any], dict[str, Any] | None]
BUCKETS = keys.MEMBER_BUCKETS  # fixed: changing it re-buckets every member
RANKS = keys.MEMBER_HASH_SPACE  # a bucket's rank space: sample_bucket starts anywhere in it
REINDEX_BATCH = 25


@dataclass
class BucketSample:
    """Members read from one bucket and the share of its rank space they cover (0..1]."""

    bucket: int
    members: list[Member] = field(default_factory=list)
    covered: float = 0.0
    pages: int = 0


def _group(items: list[dict[str, Any]]) -> list[tuple[str, int, dict[str, dict[str, Any]]]]:
    """Index items → [(member id, rank, {SK: item})] in index order."""
    out: list[tuple[str, int, dict[str, dict[str, Any]]]] = []
    for raw in items:
        item = plain(raw)
        rank, member_id = keys.member_index_id(item["GSI3SK"])
        if not out or out[-1][0] != member_id:
            out.append((member_id, rank, {}))
        out[-1][2][item["SK"]] = item
    return out


def _member(parts: dict[str, dict[str, Any]]) -> Member | None:
    profile = parts.get(keys.PROFILE)
    if profile is None or profile.get("erased"):
        return None
    return profile, parts.get(keys.LOYALTY)


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

    def sample_bucket(self, bucket: int, start_rank: int, quota: int) -> BucketSample:
        """Up to ``quota`` index entries of ``bucket`` from ``start_rank`` on, wrapping
        around: one bounded page per side. ``covered`` is the share of the bucket's rank
        space whose members were all read (1.0: the whole bucket)."""
        out = BucketSample(bucket)
        space = keys.MEMBER_HASH_SPACE
        bound = keys.member_rank_key(start_rank)
        consumed = 0
        for side, base, width in (("after", start_rank, space - start_rank),
                                  ("before", 0, start_rank)):
            want = quota - consumed
            # At most two items (PROFILE, LOYALTY) per member, plus room for one more member
            # so that the last one kept is known to be complete.
            items, lek = self._query(bucket, lower=bound if side == "after" else None,
                                     upper=bound if side == "before" else None,
                                     limit=2 * want + 2)
            out.pages += 1
            groups = _group(items)
            complete = groups[:-1] if lek else groups
            kept = complete[:want]
            consumed += len(kept)
            out.members.extend(m for m in (_member(p) for _, _, p in kept) if m is not None)
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
            pending: list[tuple[str, int, dict[str, dict[str, Any]]]] = []
            while True:
                items, start = self._query(bucket, start=start)
                groups = _group(items)
                # A member's two items may straddle a page boundary: join them.
                if pending and groups and groups[0][0] == pending[0][0]:
                    groups[0][2].update(pending[0][2])
                elif pending:
                    groups.insert(0, pending[0])
                pending = [groups.pop()] if start and groups else []
                for _, _, parts in groups:
                    m = _member(parts)
                    if m is not None:
                        yield m
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
        members = [m for m in (_member(p) for _, _, p in _group(items)) if m is not None]
        return members, lek

    # --- backfill ------------------------------------------------------------------------

    def reindex(self, member_ids: Iterable[str]) -> int:
        """Give existing members' PROFILE and LOYALTY items their index attributes (one-off
        backfill, ``perks members reindex``). Conditional on the item existing and not
        erased, so a concurrent erasure is never undone; returns items updated."""
        from chalicelib.adapters.dynamo import ConditionFailed

        done = 0
        for member_id in member_ids:
            attrs = keys.member_index(member_id)
            for sk in (keys.PROFILE, keys.LOYALTY):
                try:
                    with translated():
                        self.table.update_item(
                            Key={"PK": keys.member_pk(member_id), "SK": sk},
                            UpdateExpression="SET GSI3PK = :pk, GSI3SK = :sk",
                            ConditionExpression="attribute_exists(PK) AND "
                                                "(attribute_not_exists(erased) OR erased = :f)",
                            ExpressionAttributeValues={":pk": attrs["GSI3PK"],
                                                       ":sk": attrs["GSI3SK"], ":f": False})
                    done += 1
                except ConditionFailed:
                    continue
        return done

    def all_member_ids(self, segments: int = 4) -> Iterator[str]:
        """Every member id, by a parallel Scan for PROFILE items. The one-off backfill
        (``perks members reindex``) only: never on a request or scheduled path."""
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
        """Bulk-load PROFILE (and LOYALTY) items with their index keys (bench and tests
        only: no conditions, no events)."""
        with translated(), self.table.batch_writer() as batch:
            for p in profiles:
                mid = p["member_id"]
                batch.put_item(Item=storable({**p, **keys.member_profile(mid),
                                              **keys.member_index(mid), "version": 1}))
            for lo in loyalty or []:
                mid = lo["member_id"]
                batch.put_item(Item=storable({**lo, **keys.member_loyalty(mid),
                                              **keys.member_index(mid), "version": 1}))

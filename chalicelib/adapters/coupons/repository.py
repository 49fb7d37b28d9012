"""Reads and transactions for templates, wallets, codes and reservations.

The coupon services speak in template ids, member ids, coupon ids, codes and order ids;
this repository owns every key, index attribute and TransactItem behind them. Each
transaction names its items ("stock", "limit", "coupon", "audience", "code",
"reservation", "coupon:<id>", "code:<code>", "funnel:<template>" …), so a cancellation is
read by name (``TransactionCancelled.failed_item`` / ``failed_prefixed`` / ``old``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters import aws, keys
from chalicelib.adapters.coupons import items as ci
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    TransactionCancelled,
    hydrate,
    plain,
    query_all,
    translated,
    update_args,
)
from chalicelib.config import get_settings
from chalicelib.errors import Unavailable

Key = dict[str, str]
Item = dict[str, Any]
AMBIGUOUS_RETRIES = 3
# DynamoDB Local runs one transaction at a time: parallel transactions finish no sooner there,
# but each call waits behind all the others. Code generation's 10 concurrent 100-item
# transactions took ~10 s per call on a busy machine, past the client's read timeout, and
# `POST .../codes` answered 503 under `make run`. Against a local engine they run one by one.
LOCAL_TRANSACTION_WORKERS = 1


# --- plain values the services hand over ------------------------------------------------------

@dataclass(frozen=True)
class StockShard:
    """One stock shard of a template: its number, units left and units claimed from it."""

    no: int
    remaining: int
    claimed: int


@dataclass(frozen=True)
class StockPlan:
    """Shard writes taking a template's stock to its new figure (see templates.save)."""

    create: tuple[int, ...] = ()  # units per new shard 0..k-1 (each created only if absent)
    reset: tuple[int, ...] = ()  # units per shard 0..k-1, written over what is there
    delete: tuple[int, ...] = ()  # shard numbers removed
    adjust: tuple[tuple[int, int], ...] = ()  # (shard, change); taking needs units left


@dataclass(frozen=True)
class Grant:
    """A coupon issued by a claim or a code: the member's claim counter (below the limit),
    the new wallet coupon, the audience re-checked on LOYALTY and the funnel count."""

    member_id: str
    template_id: str
    coupon_id: str
    record: dict[str, Any]  # the wallet coupon
    per_member_claim: int | None  # None: unlimited
    at: str
    allowed_tiers: frozenset[str] | None  # None: any tier
    base_tier: str | None
    new_members_only: bool


@dataclass(frozen=True)
class Hold:
    """A checkout reservation written with its coupon holds in one transaction."""

    member_id: str
    order_id: str
    record: dict[str, Any]  # the reservation
    replaces: int | None  # version of the stored reservation it replaces; None: new
    hold: tuple[str, ...]  # coupons held for the order
    release: tuple[str, ...]  # coupons the order held before and no longer uses
    unused: tuple[str, ...]  # coupons that must still be unused (per-member use limits)
    reserved_templates: tuple[str, ...]  # template of each coupon newly held (funnel)
    until: int  # hold end, epoch seconds
    now: int  # epoch seconds

    def size(self) -> int:
        """TransactItems this takes (DynamoDB allows 100 in one transaction)."""
        return (1 + len(self.hold) + len(self.release) + len(self.unused)
                + len(set(self.reserved_templates)))


class Reads:
    """Items to read in one BatchGetItem, each under a name chosen by the caller."""

    def __init__(self) -> None:
        self.keys: dict[str, Key] = {}

    def profile(self, member_id: str, name: str = "profile") -> Reads:
        self.keys[name] = keys.member_profile(member_id)
        return self

    def loyalty(self, member_id: str, name: str = "loyalty") -> Reads:
        self.keys[name] = keys.member_loyalty(member_id)
        return self

    def program(self, name: str = "program") -> Reads:
        """The loyalty program's CURRENT item (tier order, timezone)."""
        self.keys[name] = keys.program_current()
        return self

    def template(self, template_id: str, name: str = "template") -> Reads:
        self.keys[name] = keys.template_current(template_id)
        return self

    def reservation(self, order_id: str, name: str = "reservation") -> Reads:
        self.keys[name] = keys.reservation(order_id)
        return self

    def code(self, code: str, name: str = "code") -> Reads:
        self.keys[name] = keys.coupon_code(code)
        return self

    def code_failures(self, member_id: str, hour: str, name: str = "fails") -> Reads:
        self.keys[name] = keys.code_failures(member_id, hour)
        return self

    def claims(self, member_id: str, template_id: str, name: str) -> Reads:
        """The member's claim counter of a template."""
        self.keys[name] = keys.member_claims(member_id, template_id)
        return self

    def stock_shard(self, template_id: str, shard: int, name: str) -> Reads:
        self.keys[name] = keys.template_stock(template_id, shard)
        return self

    def coupon(self, member_id: str, coupon_id: str, name: str) -> Reads:
        self.keys[name] = keys.member_coupon(member_id, coupon_id)
        return self


def _funnel(member_id: str, template_ids: list[str] | tuple[str, ...], stage: str
            ) -> NamedItems:
    """One counter update per template, named ``funnel:<template>`` (its shard is the
    member's, so never two updates of one item in a transaction); they never fail a
    condition, so they go last."""
    counts = Counter(template_ids)
    return [(f"funnel:{tid}", ci.funnel_add(tid, member_id, stage, n))
            for tid, n in sorted(counts.items())]


def _grant_items(g: Grant) -> NamedItems:
    named: NamedItems = [("limit", ci.claim_count(g.member_id, g.template_id,
                                                  g.per_member_claim, g.at)),
                         ("coupon", ci.coupon_create(g.member_id, g.coupon_id, g.record))]
    check = ci.member_check(g.member_id, g.allowed_tiers, g.base_tier, g.new_members_only)
    if check:
        named.append(("audience", check))
    return named + _funnel(g.member_id, [g.template_id], "claimed")


def _stock_items(template_id: str, plan: StockPlan) -> NamedItems:
    return [*((f"stock:{n}", ci.stock_create(template_id, n, r))
              for n, r in enumerate(plan.create)),
            *((f"stock:{n}", ci.stock_reset(template_id, n, r))
              for n, r in enumerate(plan.reset)),
            *((f"stock:{n}", ci.stock_delete(template_id, n)) for n in plan.delete),
            *((f"stock:{n}", ci.stock_adjust(template_id, n, c)) for n, c in plan.adjust)]


def _key_condition(pk: str, prefix: str | None = None, index: str | None = None
                   ) -> dict[str, Any]:
    """Query kwargs for one partition (optionally an SK prefix) as a plain expression:
    boto3's condition builder is shared by the threads of one resource, so concurrent
    claims built each other's placeholders ('Query condition missed key schema element')."""
    pk_attr, sk_attr = ("GSI1PK", "GSI1SK") if index else ("PK", "SK")
    args: dict[str, Any] = {"KeyConditionExpression": "#pk = :pk",
                            "ExpressionAttributeNames": {"#pk": pk_attr},
                            "ExpressionAttributeValues": {":pk": pk}}
    if prefix is not None:
        args["KeyConditionExpression"] += " AND begins_with(#sk, :sk)"
        args["ExpressionAttributeNames"]["#sk"] = sk_attr
        args["ExpressionAttributeValues"][":sk"] = prefix
    if index:
        args["IndexName"] = index
    return args


class CouponRepository(TableRepository):
    """Single-table access for coupons; the table is created lazily."""

    # --- reads ------------------------------------------------------------------------------
    def get(self, key: Key, consistent: bool = True) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=key, ConsistentRead=consistent).get("Item")
        return plain(item) if item else None

    def get_many(self, wanted: Mapping[str, Key], consistent: bool = True,
                 ) -> dict[str, dict[str, Any] | None]:
        """Several items by key in one BatchGetItem per 100 keys (unprocessed keys retried)."""
        out: dict[str, dict[str, Any] | None] = dict.fromkeys(wanted)
        by_key = {(k["PK"], k["SK"]): name for name, k in wanted.items()}
        pending = list({(k["PK"], k["SK"]) for k in wanted.values()})
        name = self.table.name
        resource = aws.dynamodb_resource()
        while pending:
            chunk, pending = pending[:100], pending[100:]
            request: dict[str, Any] = {name: {"Keys": [{"PK": pk, "SK": sk} for pk, sk in chunk],
                                              "ConsistentRead": consistent}}
            while request:
                with translated():
                    resp = resource.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(name, []):
                    out[by_key[(item["PK"], item["SK"])]] = plain(item)
                request = resp.get("UnprocessedKeys") or {}
        # several names may share a key
        for n, k in wanted.items():
            out[n] = out[by_key[(k["PK"], k["SK"])]]
        return out

    def fetch(self, reads: Reads, consistent: bool = True) -> dict[str, dict[str, Any] | None]:
        """The items of ``reads`` by their names (None where absent), one BatchGetItem."""
        return self.get_many(reads.keys, consistent)

    def template(self, template_id: str, consistent: bool = False) -> dict[str, Any] | None:
        """A template's CURRENT item."""
        return self.get(keys.template_current(template_id), consistent)

    def reservation(self, order_id: str) -> dict[str, Any] | None:
        return self.get(keys.reservation(order_id))

    def coupon(self, member_id: str, coupon_id: str) -> dict[str, Any] | None:
        """One wallet coupon (strongly consistent)."""
        return self.get(keys.member_coupon(member_id, coupon_id))

    def code_batch(self, template_id: str, batch_id: str) -> dict[str, Any] | None:
        return self.get(keys.template_batch(template_id, batch_id), consistent=False)

    def partition(self, pk: str, prefix: str, consistent: bool = True) -> list[dict[str, Any]]:
        return query_all(self.table, ConsistentRead=consistent, **_key_condition(pk, prefix))

    def wallet(self, member_id: str) -> list[dict[str, Any]]:
        """Every coupon the member holds (one Query, strongly consistent)."""
        return self.partition(keys.member_pk(member_id), keys.COUPON)

    def shards(self, template_id: str) -> list[dict[str, Any]]:
        """The template's stock shard items as stored (strongly consistent)."""
        return self.partition(keys.template_pk(template_id), keys.STOCK)

    def stock(self, template_id: str) -> list[StockShard]:
        """The template's stock shards in shard order (one key Query, strongly consistent)."""
        return sorted((StockShard(int(s["SK"].removeprefix(keys.STOCK)),
                                  int(s.get("remaining", 0)), int(s.get("claimed", 0)))
                       for s in self.shards(template_id)), key=lambda s: s.no)

    def funnel(self, template_id: str) -> dict[str, int]:
        """Coupons of the template claimed / reserved / redeemed, summed over the counter
        shards (one key Query, eventually consistent)."""
        sums = dict.fromkeys(ci.FUNNEL_STAGES, 0)
        for shard in self.partition(keys.template_pk(template_id), keys.FUNNEL,
                                    consistent=False):
            for stage in sums:
                sums[stage] += int(shard.get(stage, 0))
        return sums

    def batches(self, template_id: str) -> list[dict[str, Any]]:
        """The template's code batch records (one key Query, oldest first)."""
        return self.partition(keys.template_pk(template_id), keys.BATCH, consistent=False)

    def catalog(self) -> list[dict[str, Any]]:
        """Every template's CURRENT item (GSI1 keys, then the items: the index projects no
        template documents; eventually consistent)."""
        return hydrate(self.table, query_all(
            self.table, **_key_condition(keys.TEMPLATE_CATALOG, index=keys.GSI1)))

    def batch_codes(self, template_id: str, batch_id: str) -> list[dict[str, Any]]:
        return query_all(self.table, **_key_condition(
            keys.code_batch_partition(template_id, batch_id), index=keys.GSI1))

    # --- transactions -----------------------------------------------------------------------
    def transact(self, items: list[dict[str, Any]], token: str | None = None) -> None:
        """One TransactWriteItems; TransactionCancelled (with reasons) when a condition fails.

        When the answer is lost (timeout, dropped connection) the same request is sent again
        with the same ClientRequestToken: DynamoDB then reports the first commit as success
        instead of applying it twice. (An engine without token idempotency cancels the
        repeat on its create-only conditions; callers recognise their own items there.)
        """
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

        args: dict[str, Any] = {"TransactItems": items,
                                "ClientRequestToken": (token or uuid.uuid4().hex)[:36]}
        for attempt in range(AMBIGUOUS_RETRIES + 1):
            try:
                with translated():
                    self.table.meta.client.transact_write_items(**args)
                return
            except (ReadTimeoutError, ConnectionClosedError):
                if attempt == AMBIGUOUS_RETRIES:
                    raise Unavailable("the data store did not answer; retry") from None

    def transact_named(self, named: NamedItems, token: str | None = None) -> None:
        """``transact`` with every item named: a cancellation carries the names."""
        names = [n for n, _ in named]
        if len(set(names)) != len(names):
            raise ValueError(f"transaction item names must be unique: {names}")
        try:
            self.transact([item for _, item in named], token)
        except TransactionCancelled as e:
            e.named(names)
            raise

    def transact_many(self, batches: list[NamedItems], workers: int = 8,
                      ) -> list[Exception | None]:
        """Independent named transactions in parallel (code generation); one outcome each."""

        def run(batch: NamedItems) -> Exception | None:
            try:
                self.transact_named(batch)
            except Exception as e:  # the caller decides per batch
                return e
            return None

        if get_settings().dynamodb_endpoint:  # a local engine (see above)
            workers = LOCAL_TRANSACTION_WORKERS
        if len(batches) <= 1 or workers <= 1:
            return [run(b) for b in batches]
        with ThreadPoolExecutor(max_workers=min(workers, len(batches))) as pool:
            return list(pool.map(run, batches))

    # --- claims and codes -------------------------------------------------------------------
    def claim(self, grant: Grant, shard: int | None) -> None:
        """Issue ``grant``, taking one unit off stock ``shard`` ("stock") when stocked."""
        stock = [("stock", ci.stock_take(grant.template_id, shard))] if shard is not None else []
        self.transact_named(stock + _grant_items(grant))

    def bind_code(self, grant: Grant, code: str) -> None:
        """Issue ``grant`` for ``code``, binding the code ("code") to its coupon."""
        self.transact_named([("code", ci.code_bind(code, grant.member_id, grant.coupon_id,
                                                   grant.at)), *_grant_items(grant)])

    def create_codes(self, template_id: str, batch_id: str, now: str,
                     chunks: list[list[str]], workers: int = 16) -> list[Exception | None]:
        """One transaction per chunk creating its codes ("code:<code>"); one outcome each."""
        return self.transact_many([[(f"code:{c}", ci.code_create(template_id, batch_id, c, now))
                                    for c in chunk] for chunk in chunks], workers=workers)

    def create_batch(self, record: dict[str, Any]) -> None:
        """The code batch record (template_id, batch_id …); fails if it exists."""
        self.transact_named([("batch", ci.batch_create(record))])

    def count_code_failure(self, member_id: str, hour: str, expires: int) -> None:
        """One more failed code attempt in the member's clock-hour counter (TTL ``expires``)."""
        with translated():
            self.table.update_item(Key=keys.code_failures(member_id, hour),
                                   ReturnValues="ALL_NEW",
                                   ReturnValuesOnConditionCheckFailure="ALL_OLD",
                                   **update_args(add={"attempts": 1},
                                                 set_={keys.TTL_ATTR: expires}))

    def issue_items(self, member_id: str, coupon_id: str, record: dict[str, Any]) -> list[Item]:
        """The item issuing one coupon inside a caller's transaction (loyalty, campaigns)."""
        return [ci.coupon_create(member_id, coupon_id, record)]

    # --- templates --------------------------------------------------------------------------
    def save_template(self, record: dict[str, Any], replaces: int | None, stock: StockPlan,
                      changes: Any) -> None:
        """A template version: CURRENT ("current", replacing version ``replaces``; None:
        new), its history entry ("version"), stock shard moves ("stock:<n>") and the audit
        entry ("audit", ``changes`` stored as JSON text) in one transaction."""
        self.transact_named([("current", ci.template_current(record, replaces)),
                             ("version", ci.template_version(record)),
                             *_stock_items(record["template_id"], stock),
                             ("audit", ci.template_audit(record, replaces is None, changes))])

    # --- checkout ---------------------------------------------------------------------------
    def hold(self, h: Hold) -> None:
        """The reservation ("reservation"), a hold per coupon ("coupon:<id>"), releases
        ("release:<id>"), unused checks ("unused:<id>") and funnel counts, atomically."""
        self.transact_named([
            ("reservation", ci.reservation_put(h.order_id, h.record, h.replaces)),
            *((f"coupon:{c}", ci.coupon_hold(h.member_id, c, h.order_id, h.until, h.now))
              for c in h.hold),
            *((f"release:{c}", ci.coupon_release(h.member_id, c, h.order_id))
              for c in h.release),
            *((f"unused:{c}", ci.coupon_unused(h.member_id, c, h.order_id, h.now))
              for c in h.unused),
            *_funnel(h.member_id, h.reserved_templates, "reserved")])

    def confirm_items(self, res: dict[str, Any], now: str) -> NamedItems:
        """Items confirming a held reservation: "reservation" (still at its version), a use
        per coupon ("coupon:<id>") and the funnel's "redeemed" counts."""
        member, order = res["member_id"], res["order_id"]
        return [("reservation", ci.reservation_move(
                    order, int(res["version"]), {"status": "confirmed", "confirmed_at": now},
                    ["ttl_epoch"])),
                *((f"coupon:{c}", ci.coupon_use(member, c, order, now))
                  for c in res["coupon_ids"]),
                *_funnel(member, [c["template_id"] for c in res.get("coupons", [])
                                  if c.get("template_id")], "redeemed")]

    def confirm(self, res: dict[str, Any], now: str) -> None:
        self.transact_named(self.confirm_items(res, now))

    def release(self, res: dict[str, Any], coupon_ids: list[str], now: str) -> None:
        """The reservation ("reservation") released with ``coupon_ids`` ("coupon:<id>")."""
        member, order = res["member_id"], res["order_id"]
        self.transact_named([
            ("reservation", ci.reservation_move(order, int(res["version"]),
                                                {"status": "released", "released_at": now})),
            *((f"coupon:{c}", ci.coupon_release(member, c, order)) for c in coupon_ids)])

    def restore_items(self, member_id: str, order_id: str, coupon_ids: list[str], now: str
                      ) -> list[Item]:
        """Items making coupons used by ``order_id`` available again (one per coupon)."""
        return [ci.coupon_restore(member_id, c, order_id, now) for c in coupon_ids]

    def restore(self, member_id: str, order_id: str, coupon_ids: list[str], now: str) -> None:
        items = self.restore_items(member_id, order_id, coupon_ids, now)
        self.transact_named([(f"coupon:{c}", i) for c, i in zip(coupon_ids, items, strict=True)])

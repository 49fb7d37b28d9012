"""Coupon codes: generate a batch, export it as CSV, bind a code to a member once.

Generation writes codes 100 per TransactWriteItems (each a conditional create, so a code is
unique even in the astronomically unlikely event of a collision — it is drawn again), in
parallel. Binding a code is one BatchGetItem, one GetItem (the template) and one
TransactWriteItems. Failed attempts are counted per member per clock hour; after
``code_attempts_per_hour`` (10) the next attempt is 429 with Retry-After until the hour ends.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from chalicelib.adapters import keys
from chalicelib.adapters.coupons import items as ci
from chalicelib.adapters.dynamo import TransactionCancelled, update_args
from chalicelib.config import get_settings
from chalicelib.domain.coupons import codes as code_rules
from chalicelib.domain.coupons.validity import claim_closed_message, claim_detail
from chalicelib.domain.models import Out, Strict
from chalicelib.errors import (
    AlreadyExists,
    LimitReached,
    NotFound,
    TooManyRequests,
    Unavailable,
    Unprocessable,
)
from chalicelib.observability import metrics_add
from chalicelib.services import clock
from chalicelib.services.coupons.coupons import repo, require_audience, want_program
from chalicelib.services.coupons.records import (
    CouponView,
    coupon_record,
    coupon_view,
    new_coupon_id,
    template_of,
)

MAX_BATCH = 100_000
BIND_ATTEMPTS = 5


class CodeBatchRequest(Strict):
    """Body of POST /admin/coupon-templates/{id}/codes."""

    count: Annotated[int, Field(ge=1, le=MAX_BATCH)]
    prefix: Annotated[str, StringConstraints(pattern=r"^[0-9A-HJKMNP-TV-Z]{1,8}$")] | None = None


class CodeBatchView(Out):
    template_id: str
    batch_id: str
    count: int
    prefix: str | None = None
    created_at: str
    created_by: str
    csv_path: str


class BindRequest(Strict):
    """Body of POST /me/coupons/codes."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]


def generate(template_id: str, req: CodeBatchRequest, actor: str) -> CodeBatchView:
    """Create ``count`` unique codes for a template in a new batch."""
    if repo().get(keys.template_current(template_id), consistent=False) is None:
        raise NotFound(f"coupon template {template_id} not found")
    now = clock.iso()
    batch_id = f"{now[:10].replace('-', '')}-{secrets.token_hex(4)}"
    prefix = req.prefix or ""

    def item(code: str) -> dict[str, Any]:
        return ci.put_new(keys.coupon_code(code), {
            "entity": "coupon_code", "code": code, "template_id": template_id,
            "batch_id": batch_id, "status": "unbound", "created_at": now,
            **keys.code_batch_index(template_id, batch_id, code)})

    pending = {code_rules.generate(prefix) for _ in range(req.count)}
    while len(pending) < req.count:
        pending.add(code_rules.generate(prefix))
    todo = sorted(pending)
    while todo:
        chunks = [todo[i:i + 100] for i in range(0, len(todo), 100)]
        outcomes = repo().transact_many([[item(c) for c in chunk] for chunk in chunks],
                                        workers=16)
        todo = []
        for chunk, err in zip(chunks, outcomes, strict=True):
            if err is None:
                continue
            if not isinstance(err, TransactionCancelled):
                raise err
            taken = {c for n, c in enumerate(chunk) if err.failed(n)
                     and (err.items[n] or {}).get("batch_id") != batch_id}  # not ours
            done = {c for n, c in enumerate(chunk) if err.failed(n) and c not in taken}
            todo += [c for c in chunk if c not in taken and c not in done]  # the rest again
            todo += [code_rules.generate(prefix) for _ in taken]  # redraw collisions
    record = {"entity": "coupon_code_batch", "template_id": template_id, "batch_id": batch_id,
              "count": req.count, "prefix": req.prefix, "created_at": now, "created_by": actor}
    repo().transact([ci.put_new(keys.template_batch(template_id, batch_id), record)])
    metrics_add("CouponCodesGenerated", req.count)
    return CodeBatchView(**record, csv_path=csv_path(template_id, batch_id))


def batches(template_id: str) -> list[CodeBatchView]:
    """A template's code batches, newest first (one key Query), each with its CSV path."""
    if repo().get(keys.template_current(template_id), consistent=False) is None:
        raise NotFound(f"coupon template {template_id} not found")
    out = [CodeBatchView(**{k: b.get(k) for k in ("template_id", "batch_id", "count", "prefix",
                                                  "created_at", "created_by")},
                         csv_path=csv_path(template_id, b["batch_id"]))
           for b in repo().batches(template_id)]
    return sorted(out, key=lambda b: (b.created_at, b.batch_id), reverse=True)


def csv_path(template_id: str, batch_id: str) -> str:
    return f"/admin/coupon-templates/{template_id}/codes/{batch_id}.csv"


def export_csv(template_id: str, batch_id: str) -> str:
    """The batch as CSV: code,status,member_id,bound_at (one line per code)."""
    if repo().get(keys.template_batch(template_id, batch_id), consistent=False) is None:
        raise NotFound(f"code batch {batch_id} of {template_id} not found")
    rows = ["code,status,member_id,bound_at"]
    for c in sorted(repo().batch_codes(template_id, batch_id), key=lambda c: c["code"]):
        rows.append(f"{c['code']},{c.get('status', '')},{c.get('member_id') or ''},"
                    f"{c.get('bound_at') or ''}")
    return "\n".join(rows) + "\n"


def _hour_bucket() -> tuple[str, int]:
    """The current clock hour (UTC) and the seconds left in it."""
    now = clock.now()
    left = 3600 - (now.minute * 60 + now.second)
    return now.strftime("%Y%m%d%H"), max(1, left)


def _count_failure(member_id: str, hour: str, left: int) -> None:
    expires = int(clock.now().timestamp()) + left + 3600
    repo().update(keys.code_failures(member_id, hour),
                  update_args(add={"attempts": 1}, set_={keys.TTL_ATTR: expires}))


def bind(member_id: str, req: BindRequest) -> CouponView:
    """Turn a code into a coupon in the member's wallet, once per code."""
    now = clock.now()
    hour, left = _hour_bucket()
    code = code_rules.normalize(req.code)
    well_formed = code_rules.is_valid(code)
    wanted = {"fails": keys.code_failures(member_id, hour),
              "profile": keys.member_profile(member_id),
              "loyalty": keys.member_loyalty(member_id)}
    if well_formed:
        wanted["code"] = keys.coupon_code(code)
    hit = want_program(wanted)
    got = repo().get_many(wanted)
    if int((got["fails"] or {}).get("attempts", 0)) >= get_settings().code_attempts_per_hour:
        raise TooManyRequests("too many wrong codes; try again later", retry_after=left)
    profile = got["profile"]
    if profile is None or profile.get("erased"):
        raise NotFound(f"member {member_id} not found")
    found = got.get("code")
    if found is None:
        _count_failure(member_id, hour, left)
        raise NotFound("this code is not valid", details=[{"path": "/code",
                                                             "message": "unknown code"}])
    if found.get("status") == "bound":
        return _already(member_id, found, hour, left)
    template_id = found["template_id"]
    item = repo().get(keys.template_current(template_id), consistent=False)
    if item is None:
        raise NotFound(f"coupon template {template_id} not found")
    t = template_of(item)
    closed = {"path": "/code", "message": "NOT_ACTIVE", "reason": "NOT_ACTIVE"} \
        if t.status != "active" else \
        claim_detail(t.validity, now, "/code")
    if closed:
        raise Unprocessable(claim_closed_message(closed, "this code cannot be redeemed now"),
                            details=[closed])
    facts, rules = require_audience(t, hit, got, profile, "/code",
                                    "this code is for other members")
    coupon_id = new_coupon_id()
    record = coupon_record(member_id, coupon_id, t, item, now, "code",
                           code=code)
    tx = [ci.update(keys.coupon_code(code),
                    set_={"status": "bound", "member_id": member_id, "coupon_id": coupon_id,
                          "bound_at": clock.iso(now)},
                    condition="#st = :unbound", names={"#st": "status"},
                    values={":unbound": "unbound"}),
          ci.claim_count(member_id, template_id, t.limits.per_member_claim, clock.iso(now)),
          ci.put_new(keys.member_coupon(member_id, coupon_id), record)]
    check = ci.member_check(member_id, rules.allowed_tiers(facts.tier_order), facts.base_tier,
                            t.audience.new_members_only)
    if check:
        tx.append(check)
    tx.append(ci.funnel_add(template_id, member_id, "claimed"))  # last: never fails a check
    for attempt in range(BIND_ATTEMPTS):
        try:
            repo().transact(tx, uuid.uuid4().hex)
            break
        except TransactionCancelled as e:
            if e.failed(0):
                return _already(member_id, e.items[0] or found, hour, left)
            if e.failed(1):
                raise LimitReached("you already hold this coupon as often as allowed") from e
            if e.throttled and not any(e.failed(i) for i in range(len(tx))):
                # another member's bind on the same funnel shard: nothing committed, retry
                time.sleep(random.uniform(0, 0.005 * 2 ** attempt))
                continue
            raise Unprocessable("this code is for other members") from e
    else:
        raise Unavailable("too many concurrent code redemptions; retry")
    metrics_add("CouponCodeRedeemed")
    return coupon_view({**record, "coupon_id": coupon_id}, now)


def _already(member_id: str, code_item: dict[str, Any], hour: str, left: int) -> CouponView:
    """A bound code: the member's own coupon again (a replay), else a counted failure."""
    if code_item.get("member_id") == member_id and code_item.get("coupon_id"):
        coupon = repo().get(keys.member_coupon(member_id, code_item["coupon_id"]))
        if coupon is not None:
            return coupon_view(coupon, clock.now())
    _count_failure(member_id, hour, left)
    raise AlreadyExists("this code has already been redeemed", details=[
        {"path": "/code", "message": "already redeemed"}])

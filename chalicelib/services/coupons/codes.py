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
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from chalicelib.adapters.coupons.repository import Grant, Reads
from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.config import get_settings
from chalicelib.domain.coupons import codes as code_rules
from chalicelib.domain.coupons.template import CouponTemplate
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
from chalicelib.services.coupons.coupons import grant, repo, require_audience, want_program
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
    if repo().template(template_id) is None:
        raise NotFound(f"coupon template {template_id} not found")
    now = clock.iso()
    batch_id = f"{now[:10].replace('-', '')}-{secrets.token_hex(4)}"
    prefix = req.prefix or ""
    pending = {code_rules.generate(prefix) for _ in range(req.count)}
    while len(pending) < req.count:
        pending.add(code_rules.generate(prefix))
    todo = sorted(pending)
    while todo:
        todo = _create_codes(template_id, batch_id, now, prefix, todo)
    record = {"entity": "coupon_code_batch", "template_id": template_id, "batch_id": batch_id,
              "count": req.count, "prefix": req.prefix, "created_at": now, "created_by": actor}
    repo().create_batch(record)
    metrics_add("CouponCodesGenerated", req.count)
    return CodeBatchView(template_id=template_id, batch_id=batch_id, count=req.count,
                         prefix=req.prefix, created_at=now, created_by=actor,
                         csv_path=csv_path(template_id, batch_id))


def _create_codes(template_id: str, batch_id: str, now: str, prefix: str, todo: list[str]
                  ) -> list[str]:
    """Write ``todo`` 100 codes a transaction; the codes still to write come back: those of
    a cancelled transaction that did not fail, and a fresh draw for each collision."""
    chunks = [todo[i:i + 100] for i in range(0, len(todo), 100)]
    again: list[str] = []
    for chunk, err in zip(chunks, repo().create_codes(template_id, batch_id, now, chunks),
                          strict=True):
        if err is None:
            continue
        if not isinstance(err, TransactionCancelled):
            raise err
        failed = [c for c in chunk if err.failed_item(f"code:{c}")]
        taken = {c for c in failed  # not ours (ours: a repeat of a commit whose answer was lost)
                 if (err.old(f"code:{c}") or {}).get("batch_id") != batch_id}
        again += [c for c in chunk if c not in failed]  # the rest again
        again += [code_rules.generate(prefix) for _ in taken]  # redraw collisions
    return again


def batches(template_id: str) -> list[CodeBatchView]:
    """A template's code batches, newest first (one key Query), each with its CSV path."""
    if repo().template(template_id) is None:
        raise NotFound(f"coupon template {template_id} not found")
    out = [CodeBatchView.model_validate({
        **{k: b.get(k) for k in ("template_id", "batch_id", "count", "prefix", "created_at",
                                 "created_by")},
        "csv_path": csv_path(template_id, b["batch_id"])}) for b in repo().batches(template_id)]
    return sorted(out, key=lambda b: (b.created_at, b.batch_id), reverse=True)


def csv_path(template_id: str, batch_id: str) -> str:
    return f"/admin/coupon-templates/{template_id}/codes/{batch_id}.csv"


def export_csv(template_id: str, batch_id: str) -> str:
    """The batch as CSV: code,status,member_id,bound_at (one line per code)."""
    if repo().code_batch(template_id, batch_id) is None:
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
    repo().count_code_failure(member_id, hour, expires)


def bind(member_id: str, req: BindRequest) -> CouponView:
    """Turn a code into a coupon in the member's wallet, once per code."""
    now = clock.now()
    hour, left = _hour_bucket()
    code = code_rules.normalize(req.code)
    reads = Reads().code_failures(member_id, hour).profile(member_id).loyalty(member_id)
    if code_rules.is_valid(code):
        reads.code(code)
    hit = want_program(reads)
    got = repo().fetch(reads)
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
    item, t = _redeemable(template_id, now)
    facts, rules = require_audience(t, hit, got, profile, "/code",
                                    "this code is for other members")
    coupon_id = new_coupon_id()
    record = coupon_record(member_id, coupon_id, t, item, now, "code", code=code)
    g = grant(member_id, template_id, t, coupon_id, record, clock.iso(now), facts, rules)
    earlier = _bind_transaction(g, code)
    if earlier is not None:  # bound meanwhile: by this member (a replay) or another
        return _already(member_id, earlier or found, hour, left)
    metrics_add("CouponCodeRedeemed")
    return coupon_view({**record, "coupon_id": coupon_id}, now)


def _redeemable(template_id: str, now: datetime) -> tuple[dict[str, Any], CouponTemplate]:
    """The code's template (stored item and parsed), 422 when it cannot be redeemed now."""
    item = repo().template(template_id)
    if item is None:
        raise NotFound(f"coupon template {template_id} not found")
    t = template_of(item)
    closed = {"path": "/code", "message": "NOT_ACTIVE", "reason": "NOT_ACTIVE"} \
        if t.status != "active" else \
        claim_detail(t.validity, now, "/code")
    if closed:
        raise Unprocessable(claim_closed_message(closed, "this code cannot be redeemed now"),
                            details=[closed])
    return item, t


def _bind_transaction(g: Grant, code: str) -> dict[str, Any] | None:
    """Bind the code and issue the coupon; when the code was bound meanwhile, the stored
    code item ({} when the engine did not return it) for ``_already`` to judge."""
    for attempt in range(BIND_ATTEMPTS):
        try:
            repo().bind_code(g, code)
            return None
        except TransactionCancelled as e:
            if e.failed_item("code"):
                return e.old("code") or {}
            if e.failed_item("limit"):
                raise LimitReached("you already hold this coupon as often as allowed") from e
            if e.throttled and not e.failed_names:
                # another member's bind on the same funnel shard: nothing committed, retry
                time.sleep(random.uniform(0, 0.005 * 2 ** attempt))
                continue
            raise Unprocessable("this code is for other members") from e
    raise Unavailable("too many concurrent code redemptions; retry")


def _already(member_id: str, code_item: dict[str, Any], hour: str, left: int) -> CouponView:
    """A bound code: the member's own coupon again (a replay), else a counted failure."""
    if code_item.get("member_id") == member_id and code_item.get("coupon_id"):
        coupon = repo().coupon(member_id, code_item["coupon_id"])
        if coupon is not None:
            return coupon_view(coupon, clock.now())
    _count_failure(member_id, hour, left)
    raise AlreadyExists("this code has already been redeemed", details=[
        {"path": "/code", "message": "already redeemed"}])

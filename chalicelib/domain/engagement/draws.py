"""Lucky draws (抽奖) as marketers write them (campaigns/draws/*.json), and the fair,
verifiable outcome of an entry. Pure: no I/O, no clock.

Fairness is commit-reveal. Before a draw opens the server holds a secret ``seed`` (32
random bytes, hex) and publishes ``commitment = sha256(seed bytes)``. The outcome of an
entry is a deterministic function of ``HMAC-SHA256(key=seed bytes, msg="<entry_id>#<k>")``
(``k`` = 0, 1, …) mapped over the prize weights (``pick``). When the prize picked at step
``k`` has no stock (or budget) left, it is set aside and step ``k + 1`` picks again over the
prizes not yet set aside: a deterministic re-draw over the remaining weights. The entry log
records what was set aside; after the draw closes the seed is revealed and anyone can
recompute every outcome (``verify``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from chalicelib.domain.members.model import Timezone
from chalicelib.domain.models import OneLine, Strict, length
from chalicelib.errors import ValidationFailed

DrawId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
PrizeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_]{0,23}$")]
TemplateId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, length(1, 100), OneLine]
MAX_SHARDS = 8  # stock/budget pool items an entry spreads over (hot counters)
MAX_PRIZES = 20
TWO_64 = 1 << 64


class PrizeKind(StrEnum):
    points = "points"
    coupon = "coupon"
    gift = "gift"
    none = "none"  # 谢谢参与: thanks for playing


class Names(Strict):
    zh: Name
    en: Name | None = None


class Prize(Strict):
    id: PrizeId
    kind: PrizeKind
    name: Names | None = None
    amount: int | None = Field(None, ge=1, le=1_000_000, description="kind=points: points won")
    template_id: TemplateId | None = Field(None, description="kind=coupon: coupon template")
    face_value: int | None = Field(None, ge=0, le=100_000_000,
                                   description="kind=coupon: face value in fen (budget)")
    sku: Sku | None = Field(None, description="kind=gift: the item shipped")
    cost: int | None = Field(None, ge=0, le=100_000_000,
                             description="kind=gift: cost in fen (budget)")
    weight: int = Field(ge=0, le=1_000_000_000, description="relative chance; 0 = never")
    stock: int | None = Field(None, ge=0, le=10_000_000, description="null = unlimited")

    @model_validator(mode="after")
    def _kind_fields(self) -> Prize:
        need = {PrizeKind.points: ("amount",), PrizeKind.coupon: ("template_id", "face_value"),
                PrizeKind.gift: ("sku", "cost"), PrizeKind.none: ()}[self.kind]
        for f in need:
            if getattr(self, f) is None:
                raise ValueError(f"a {self.kind.value} prize needs {f}")
        other = {"amount", "template_id", "face_value", "sku", "cost"} - set(need)
        for f in sorted(other):
            if getattr(self, f) is not None:
                raise ValueError(f"{f} does not apply to a {self.kind.value} prize")
        return self

    @property
    def points(self) -> int:
        """Points this prize costs the points budget."""
        return self.amount or 0

    @property
    def fen(self) -> int:
        """Fen this prize costs the money budget (coupon face value, gift cost)."""
        return (self.face_value or 0) + (self.cost or 0)


class Window(Strict):
    opens_at: AwareDatetime
    closes_at: AwareDatetime

    @model_validator(mode="after")
    def _order(self) -> Window:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self


class EntryRule(Strict):
    cost_points: int | None = Field(None, ge=1, le=1_000_000, description=(
        "points one entry costs; null: only entries granted by a campaign action "
        "(draw_entries) can be used. Granted entries are used first."))


class Limits(Strict):
    per_day: int | None = Field(None, ge=1, le=1000, description="entries per member-local day")
    total: int | None = Field(None, ge=1, le=100_000, description="entries per member, ever")


class Budget(Strict):
    points: int | None = Field(None, ge=0, le=10**12, description="points prizes may award")
    fen: int | None = Field(None, ge=0, le=10**12,
                            description="coupon face value plus gift cost, in fen")


class Draw(Strict):
    """campaigns/draws/<id>.json."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True,
                              populate_by_name=True)

    schema_ref: str | None = Field(None, alias="$schema", description="editor hint; ignored")
    id: DrawId
    name: Names
    timezone: Timezone = Field("Asia/Shanghai", description="fallback member timezone for "
                               "per-day limits")
    window: Window
    entry: EntryRule = EntryRule()
    limits: Limits = Limits()
    budget: Budget = Budget()
    prizes: list[Prize] = Field(min_length=1, max_length=MAX_PRIZES)

    @model_validator(mode="after")
    def _prizes(self) -> Draw:
        ids = [p.id for p in self.prizes]
        if len(set(ids)) != len(ids):
            raise ValueError("prize ids must be unique")
        if not any(p.weight for p in self.prizes):
            raise ValueError("at least one prize needs a weight above 0")
        for p in self.prizes:
            if p.points and p.stock is None and self.budget.points is None:
                raise ValueError(f"prize {p.id}: a points prize needs a stock or budget.points")
            if p.fen and p.stock is None and self.budget.fen is None:
                raise ValueError(f"prize {p.id}: needs a stock or budget.fen")
        return self

    def prize(self, prize_id: str) -> Prize | None:
        return next((p for p in self.prizes if p.id == prize_id), None)

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude={"schema_ref"},
                               exclude_none=True)

    def open_at(self, at: datetime) -> bool:
        return self.window.opens_at <= at < self.window.closes_at

    def closed_at(self, at: datetime) -> bool:
        return at >= self.window.closes_at


def parse_draw(data: Any, draw_id: str | None = None) -> Draw:
    """A checked draw; ValidationFailed lists every problem with its JSON path."""
    if not isinstance(data, dict):
        raise ValidationFailed("a draw must be a JSON object",
                               details=[{"path": "/", "message": "expected an object"}])
    errors: list[dict[str, str]] = []
    draw: Draw | None = None
    try:
        draw = Draw.model_validate_json(json.dumps(data))
    except ValidationError as e:
        for err in e.errors(include_input=False, include_url=False):
            loc = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
            errors.append({"path": "/" + "/".join(loc),
                           "message": err["msg"].removeprefix("Value error, ")})
    if draw_id is not None and data.get("id") != draw_id:
        errors.append({"path": "/id", "message": f"must be '{draw_id}' (fixed by the URL or "
                       "the file name)"})
    if errors or draw is None:
        raise ValidationFailed("the draw is invalid", details=errors)
    return draw


def schema() -> dict[str, object]:
    """The JSON Schema committed as campaigns/draws/draw.schema.json."""
    out = Draw.model_json_schema(by_alias=True, mode="validation")
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["$id"] = "https://perks.example/schemas/draw.schema.json"
    return out


def frozen_changes(before: Draw, after: Draw) -> list[str]:
    """Paths a draw may no longer change once it has opened (the odds, stock, budget,
    entry cost and opening time are what entrants were promised)."""
    was, now = before.document(), after.document()
    out = [f"/{k}" for k in ("prizes", "budget", "entry") if was.get(k) != now.get(k)]
    if before.window.opens_at != after.window.opens_at:
        out.append("/window/opens_at")
    return out


# --- fairness: commitment, rolls, picks ------------------------------------------------

def commitment(seed: str) -> str:
    """sha256 of the seed's bytes (hex), published before the draw opens."""
    return hashlib.sha256(bytes.fromhex(seed)).hexdigest()


def roll(seed: str, entry_id: str, step: int = 0) -> int:
    """The 64-bit number of step ``step`` of an entry: the first 8 bytes (big-endian) of
    HMAC-SHA256(key = seed bytes, message = "<entry_id>#<step>")."""
    mac = hmac.new(bytes.fromhex(seed), f"{entry_id}#{step}".encode(), hashlib.sha256)
    return int.from_bytes(mac.digest()[:8], "big")


def pick(u: int, weighted: Sequence[tuple[str, int]]) -> str:
    """The prize whose cumulative weight range holds ``u * W >> 64`` (W = total weight):
    prizes in document order, each owning ``weight`` consecutive slots of 0..W-1."""
    total = sum(w for _, w in weighted)
    if total <= 0:
        raise ValueError("no weight to pick from")
    slot = (u * total) >> 64
    for prize_id, w in weighted:
        if slot < w:
            return prize_id
        slot -= w
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Outcome:
    prize_id: str | None  # None: nothing left to win (every weighted prize set aside)
    set_aside: tuple[str, ...] = ()  # prizes picked first but out of stock/budget, in order


def outcome(draw: Draw, seed: str, entry_id: str,
            available: Callable[[Prize], bool]) -> Outcome:
    """The entry's prize: pick over the weights; a prize ``available`` says is exhausted is
    set aside and the next step picks over what remains."""
    aside: list[str] = []
    for step in range(len(draw.prizes) + 1):
        left = [(p.id, p.weight) for p in draw.prizes if p.weight and p.id not in aside]
        if not left:
            break
        chosen = pick(roll(seed, entry_id, step), left)
        prize = draw.prize(chosen)
        assert prize is not None
        if available(prize):
            return Outcome(chosen, tuple(aside))
        aside.append(chosen)
    return Outcome(None, tuple(aside))


# --- stock and budget pools --------------------------------------------------------------

def split(total: int, shards: int) -> list[int]:
    base, extra = divmod(total, shards)
    return [base + (1 if k < extra else 0) for k in range(shards)]


def shard_count(draw: Draw) -> int:
    """Pools an entry spreads over: up to MAX_SHARDS, but few enough that each pool's share
    of a budget still pays the dearest prize (a share below it could never pay out)."""
    n = MAX_SHARDS
    dear_points = max((p.points for p in draw.prizes if p.weight), default=0)
    dear_fen = max((p.fen for p in draw.prizes if p.weight), default=0)
    if draw.budget.points is not None and dear_points:
        n = min(n, draw.budget.points // dear_points)
    if draw.budget.fen is not None and dear_fen:
        n = min(n, draw.budget.fen // dear_fen)
    return max(1, n)


@dataclass
class Pool:
    """One shard of a draw's stock and budget: units left per stocked prize, budget left
    (None: unlimited), and prizes won from this shard (every prize, stocked or not)."""

    shard: int
    stock: dict[str, int] = field(default_factory=dict)
    points: int | None = None
    fen: int | None = None
    won: dict[str, int] = field(default_factory=dict)

    def pays(self, prize: Prize) -> bool:
        return (self.stock.get(prize.id, 1) >= 1 if prize.stock is not None else True) and (
            not prize.points or self.points is None or self.points >= prize.points) and (
            not prize.fen or self.fen is None or self.fen >= prize.fen)


def initial_pools(draw: Draw) -> list[Pool]:
    n = shard_count(draw)
    pools = [Pool(k) for k in range(n)]
    for p in draw.prizes:
        if p.stock is not None:
            for pool, share in zip(pools, split(p.stock, n), strict=True):
                pool.stock[p.id] = share
    for attr in ("points", "fen"):
        total = getattr(draw.budget, attr)
        if total is not None:
            for pool, share in zip(pools, split(total, n), strict=True):
                setattr(pool, attr, share)
    return pools


def paying_pool(pools: Sequence[Pool], prize: Prize, home: int) -> Pool | None:
    """The pool to take ``prize`` from: the entry's home shard, else the next with room."""
    n = len(pools)
    for i in range(n):
        pool = pools[(home + i) % n]
        if pool.pays(prize):
            return pool
    return None


def home_shard(entry_id: str, shards: int) -> int:
    return int(hashlib.sha256(entry_id.encode()).hexdigest()[:8], 16) % shards


def stats(draw: Draw, pools: Iterable[Pool]) -> dict[str, Any]:
    """Entries, prizes won, stock left and budget spent, from the pools."""
    pools = list(pools)
    won = {p.id: sum(x.won.get(p.id, 0) for x in pools) for p in draw.prizes}
    prizes = []
    for p in draw.prizes:
        left = sum(x.stock.get(p.id, 0) for x in pools) if p.stock is not None else None
        prizes.append({"id": p.id, "kind": p.kind.value, "won": won[p.id],
                       "stock": p.stock, "stock_left": left})
    spent = {"points": sum(won[p.id] * p.points for p in draw.prizes),
             "fen": sum(won[p.id] * p.fen for p in draw.prizes)}
    return {"entries": sum(won.values()), "prizes": prizes, "budget": draw.budget.model_dump(
        mode="json"), "budget_spent": spent}


# --- verification ------------------------------------------------------------------------

def verify(draw: Draw, seed: str, published: str,
           entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Recompute every entry's outcome from the revealed seed and the entry log.

    Checks: the seed matches the published commitment; each entry's prize is what its
    rolls pick once its set-aside prizes are removed; only prizes that ran out were set
    aside (each set-aside prize was won exactly up to its stock, or cannot be paid from the
    budget left); no prize was won beyond its stock and the budget was not exceeded."""
    problems: list[str] = []
    if commitment(seed) != published:
        problems.append("the seed does not match the published commitment")
    log = list(entries)
    won: dict[str, int] = {}
    for e in log:
        aside = [str(a) for a in e.get("set_aside") or []]
        got = outcome(draw, seed, str(e["entry_id"]), _not_in(aside))
        if got.prize_id != e.get("prize_id") or list(got.set_aside) != aside:
            problems.append(f"entry {e['entry_id']}: recorded {e.get('prize_id')}, "
                            f"the seed gives {got.prize_id}")
        if e.get("prize_id"):
            won[str(e["prize_id"])] = won.get(str(e["prize_id"]), 0) + 1
    problems += _totals(draw, won, log)
    return {"draw_id": draw.id, "entries": len(log), "won": won, "ok": not problems,
            "problems": problems}


def _not_in(aside: Sequence[str]) -> Callable[[Prize], bool]:
    return lambda p: p.id not in aside


def _totals(draw: Draw, won: Mapping[str, int], log: Sequence[Mapping[str, Any]]
            ) -> list[str]:
    problems = []
    points = sum(won.get(p.id, 0) * p.points for p in draw.prizes)
    fen = sum(won.get(p.id, 0) * p.fen for p in draw.prizes)
    if draw.budget.points is not None and points > draw.budget.points:
        problems.append(f"points budget exceeded: {points} > {draw.budget.points}")
    if draw.budget.fen is not None and fen > draw.budget.fen:
        problems.append(f"fen budget exceeded: {fen} > {draw.budget.fen}")
    aside = {a for e in log for a in (e.get("set_aside") or [])}
    for p in draw.prizes:
        n = won.get(p.id, 0)
        if p.stock is not None and n > p.stock:
            problems.append(f"prize {p.id} won {n} times, stock {p.stock}")
        budget_short = (p.points and draw.budget.points is not None
                        and draw.budget.points - points < p.points * shard_count(draw)) or (
            p.fen and draw.budget.fen is not None
            and draw.budget.fen - fen < p.fen * shard_count(draw))
        if p.id in aside and not (p.stock is not None and n >= p.stock) and not budget_short:
            problems.append(f"prize {p.id} was set aside as exhausted but has stock and "
                            "budget left")
    return problems

"""Lucky draws (抽奖): admin definitions, stats and the reveal; the public view with its
commitment; members' entries (docs/draws.md)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api import documents as doc
from chalicelib.api.auth import Role
from chalicelib.api.http import Api, Ctx
from chalicelib.domain.engagement.draws import Draw, parse_draw
from chalicelib.domain.models import Out
from chalicelib.services.engagement import draws

bp = Blueprint(__name__)
api = Api(bp)
MARKETING = (Role.marketer, Role.admin)
EVERYONE = (Role.member, Role.service, Role.marketer, Role.admin)
QUERY = "/query/"  # draws' query errors name /query/<param>


class DrawBody(Draw):
    """A draw document; errors carry JSON paths."""

    @classmethod
    def model_validate_json(cls, json_data: Any, **_: Any) -> Draw:  # type: ignore[override]
        return doc.parse_json_body(json_data, parse_draw)


class DrawRecord(Out):
    draw_id: str
    version: int
    doc: dict[str, Any]
    commitment: str
    shards: int | None = None
    name_zh: str | None = None
    opens_at: str | None = None
    closes_at: str | None = None
    created_at: str | None = None
    created_by: str | None = None
    updated_at: str | None = None
    updated_by: str | None = None
    revealed_at: str | None = None
    result: str | None = None
    versions: list[dict[str, Any]] | None = None


class DrawPage(Out):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class PublicDraw(Out):
    draw_id: str
    version: int
    status: str
    name: dict[str, Any]
    window: dict[str, Any]
    entry: dict[str, Any]
    limits: dict[str, Any]
    prizes: list[dict[str, Any]]
    commitment: str
    commitment_algorithm: str
    seed: str | None = None
    revealed_at: str | None = None


class DrawStats(Out):
    draw_id: str
    entries: int
    prizes: list[dict[str, Any]]
    budget: dict[str, Any]
    budget_spent: dict[str, Any]


class DrawEntry(Out):
    entry_id: str
    draw_id: str
    prize_id: str
    kind: str
    cost_points: int
    paid_with: str
    set_aside: list[str] = []
    points_won: int | None = None
    coupon_id: str | None = None
    created_at: str


class MyEntries(Out):
    draw_id: str
    entries: list[DrawEntry]
    granted: int
    granted_left: int


@api.route("PUT", "/admin/draws/{draw_id}", roles=MARKETING, body=DrawBody,
           response=DrawRecord, errors=(400, 404, 409, 422))
def put_draw(ctx: Ctx, draw_id: str, body: Draw) -> dict[str, Any]:
    """Create or update a draw: a new version, audited. The first version commits to a
    secret seed; once open, prizes, odds, stock, budget and entry cost are fixed (409)."""
    return draws.put(draw_id, body, ctx.sub)


@api.route("GET", "/admin/draws", roles=MARKETING, response=DrawPage,
           query=doc.page_query(), errors=(400,))
def list_draws(ctx: Ctx) -> dict[str, Any]:
    """List draws by id."""
    return draws.page(*doc.page_args(ctx, QUERY))


@api.route("GET", "/admin/draws/{draw_id}", roles=MARKETING, response=DrawRecord,
           query=doc.version_query(),
           errors=(400, 404))
def get_draw(ctx: Ctx, draw_id: str) -> dict[str, Any]:
    """The live draw with its versions, or one past version."""
    return draws.get(draw_id, doc.version_arg(ctx, QUERY))


@api.route("GET", "/admin/draws/{draw_id}/stats", roles=MARKETING, response=DrawStats,
           errors=(404,))
def draw_stats(ctx: Ctx, draw_id: str) -> dict[str, Any]:
    """Entries, prizes won per prize, stock left and budget spent."""
    return draws.stats(draw_id)


@api.route("POST", "/admin/draws/{draw_id}/reveal", roles=MARKETING, response=PublicDraw,
           errors=(404, 409))
def reveal_draw(ctx: Ctx, draw_id: str) -> dict[str, Any]:
    """Reveal the seed of a closed draw (audited); 409 while it is open."""
    return draws.reveal(draw_id, ctx.sub)


@api.route("GET", "/draws/{draw_id}", roles=EVERYONE, response=PublicDraw, errors=(404,))
def public_draw(ctx: Ctx, draw_id: str) -> dict[str, Any]:
    """The draw, its odds and stock left, the seed commitment, and the seed once closed."""
    return draws.public(draw_id)


@api.route("POST", "/me/draws/{draw_id}/entries", roles=(Role.member,), response=DrawEntry,
           status=201, errors=(404, 409, 422))
def enter_draw(ctx: Ctx, draw_id: str) -> dict[str, Any]:
    """Enter the draw: a granted entry or points, the outcome and the prize in one step."""
    return draws.enter(ctx.sub, draw_id, ctx.request_key)


@api.route("GET", "/me/draws/{draw_id}/entries", roles=(Role.member,), response=MyEntries,
           errors=(404,))
def my_draw_entries(ctx: Ctx, draw_id: str) -> dict[str, Any]:
    """My entries of the draw, newest first, and the granted entries left."""
    return draws.my_entries(ctx.sub, draw_id)

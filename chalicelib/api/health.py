"""Liveness: no auth, no I/O (the latency baseline for load tests)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import Api, Ctx

bp = Blueprint(__name__)
api = Api(bp)


@api.route("GET", "/health", roles=None)
def health(ctx: Ctx) -> dict:
    """Liveness probe."""
    return {"status": "ok"}

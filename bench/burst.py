"""Many clients at once against a running local stack (used by bench/local_server.py and
tests/integration/test_local_server.py).

Every client opens its own TCP connection, waits until all of them are connected (so the
server really holds them at the same time), sends one request (GET /health, GET /me or
POST /orders with its own order id), reads the answer, and waits for the others before
closing. A connection refused, reset or cut short counts as dropped; afterwards every order
answered 201 is read back (GET /orders/{id}) so an acknowledged-but-lost write shows up.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse


@dataclass
class Call:
    kind: str  # health | me | order
    status: int | None = None  # None: the connection was dropped
    seconds: float = 0.0
    error: str = ""
    order_id: str = ""


@dataclass
class BurstReport:
    clients: int
    held: int  # connections open at the same time (all connected before any request)
    calls: list[Call] = field(default_factory=list)
    orders_lost: list[str] = field(default_factory=list)

    @property
    def dropped(self) -> int:
        return sum(1 for c in self.calls if c.status is None)

    @property
    def server_errors(self) -> int:
        return sum(1 for c in self.calls if c.status is not None and c.status >= 500)

    @property
    def unexpected(self) -> list[Call]:
        """Answers other than 200 (health, me) and 201 (order), drops excluded."""
        want = {"health": 200, "me": 200, "order": 201}
        return [c for c in self.calls if c.status is not None and c.status != want[c.kind]]

    @property
    def orders_created(self) -> int:
        return sum(1 for c in self.calls if c.kind == "order" and c.status == 201)

    def percentile(self, q: float) -> float:
        times = sorted(c.seconds for c in self.calls if c.status is not None)
        if not times:
            return 0.0
        if len(times) == 1:
            return times[0]
        return statistics.quantiles(times, n=100, method="inclusive")[int(q) - 1]

    def errors(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.calls:
            if c.error:
                out[c.error] = out.get(c.error, 0) + 1
        return out


def order_body(order_id: str, member_id: str) -> dict[str, Any]:
    return {"order_id": order_id, "member_id": member_id, "currency": "CNY",
            "items": [{"sku": "TEA-1", "category": "food", "quantity": 1, "unit_price": 1990}],
            "placed_at": "2026-03-10T12:00:00+08:00", "channel": "app"}


def plan(clients: int, order_every: int = 10, me_every: int = 3) -> list[str]:
    """The mix: every ``order_every``-th client posts an order, every ``me_every``-th of the
    others reads /me, the rest hit /health."""
    kinds = []
    for i in range(clients):
        if i % order_every == 0:
            kinds.append("order")
        elif i % me_every == 0:
            kinds.append("me")
        else:
            kinds.append("health")
    return kinds


def burst(base: str, kinds: list[str], service: str, members: dict[str, str],
          run_id: str, timeout: float = 60.0) -> BurstReport:
    """Run one client per entry of ``kinds`` at once; ``members`` maps member id → token."""
    url = urlparse(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    member_ids = sorted(members)
    connected = threading.Barrier(len(kinds), timeout=timeout)
    finished = threading.Barrier(len(kinds), timeout=timeout)
    report = BurstReport(clients=len(kinds), held=0)
    calls: list[Call] = [Call(kind=k) for k in kinds]
    held = [False] * len(kinds)

    def client(i: int) -> None:
        call = calls[i]
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()
            held[i] = True
        except OSError as e:
            call.error = type(e).__name__
        with contextlib.suppress(threading.BrokenBarrierError):
            connected.wait()
        if call.error:
            with contextlib.suppress(threading.BrokenBarrierError):
                finished.wait()
            return
        member = member_ids[i % len(member_ids)]
        method, path, token, body = "GET", "/health", "", None
        if call.kind == "me":
            path, token = "/me", members[member]
        elif call.kind == "order":
            call.order_id = f"o-{run_id}-{i}"
            method, path, token = "POST", "/orders", service
            body = json.dumps(order_body(call.order_id, member)).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            call.status = resp.status
        except (OSError, http.client.HTTPException) as e:
            call.error = type(e).__name__
        call.seconds = time.perf_counter() - started
        with contextlib.suppress(threading.BrokenBarrierError):
            finished.wait()  # keep the connection open until every client has its answer
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(kinds))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * 3)
    report.calls = calls
    report.held = sum(held)
    report.orders_lost = [c.order_id for c in calls if c.kind == "order" and c.status == 201
                          and get_status(base, f"/orders/{c.order_id}", service) != 200]
    return report


def get_status(base: str, path: str, token: str) -> int:
    return request(base, "GET", path, token)[0]


def request(base: str, method: str, path: str, token: str = "", body: Any = None
            ) -> tuple[int, Any]:
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=30)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                     headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def seed_members(base: str, service: str, member_ids: list[str]) -> None:
    """Create the members the burst reads and orders for (409: already there, fine)."""
    for m in member_ids:
        status, out = request(base, "POST", "/members", service,
                              {"member_id": m, "name": "Burst", "timezone": "Asia/Shanghai"})
        if status not in (201, 409):
            raise RuntimeError(f"cannot create member {m}: {status} {out}")

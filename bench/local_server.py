"""The local stack as a real server: hundreds of clients at once against `make run`.

    python bench/local_server.py [--clients 200 400] [--url http://127.0.0.1:8000]

Starts the local stack the way `make run` does (``python -m chalicelib.local.stack``, on
free ports with a throwaway data directory; or uses ``--url`` if a stack answers there),
then for each client count opens that many connections at once, holds them all, and sends a
mix of GET /health, GET /me and POST /orders (distinct order ids). Reports connections
held, dropped (refused/reset: goal 0), 5xx (goal 0), orders lost (a 201 whose order cannot
be read back: goal 0) and p50/p99 latency. chalice local's own server (backlog 5) dropped
94-181 of 200 connections and lost 4 of 20 orders.
"""

from __future__ import annotations

import argparse
import sys
import uuid

import common  # noqa: F401  (repo root on sys.path)

from bench import burst
from tests.fuzz.stack import member_tokens, running_stack, stage_tokens

MEMBERS = [f"m-burst-{i}" for i in range(10)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[200, 400])
    ap.add_argument("--url", default=None, help="use the stack already running here")
    args = ap.parse_args(argv)
    service = stage_tokens("dev")["service"]
    members = member_tokens("dev", MEMBERS)
    parts: list[str] = []
    ok = True
    with running_stack(args.url) as base:
        burst.seed_members(base, service, MEMBERS)
        for n in args.clients:
            r = burst.burst(base, burst.plan(n), service, members, uuid.uuid4().hex[:8])
            orders = sum(1 for c in r.calls if c.kind == "order")
            print(f"{n} clients: held {r.held} at once, dropped {r.dropped}, 5xx "
                  f"{r.server_errors}, other non-2xx {len(r.unexpected) - r.server_errors}, "
                  f"orders {r.orders_created}/{orders} created, lost {len(r.orders_lost)}, "
                  f"p50 {r.percentile(50) * 1000:.0f} ms, p99 {r.percentile(99) * 1000:.0f} ms"
                  + (f", errors {r.errors()}" if r.errors() else ""), flush=True)
            ok = ok and r.held == n and r.dropped == 0 and not r.unexpected \
                and not r.orders_lost
            parts += [f"clients held at once ({n})={r.held} (goal >={n})",
                      f"dropped/reset ({n})={r.dropped} (goal 0)",
                      f"5xx ({n})={r.server_errors} (goal 0)",
                      f"orders lost ({n})={len(r.orders_lost)} of {r.orders_created} (goal 0)",
                      f"p50 ms ({n})={r.percentile(50) * 1000:.0f} (goal report)",
                      f"p99 ms ({n})={r.percentile(99) * 1000:.0f} (goal report)"]
    print(f"SUMMARY local_server: {', '.join(parts)} {'PASS' if ok else 'FAIL'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

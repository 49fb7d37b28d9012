"""A client that retries like a well-behaved API consumer: same body, same Idempotency-Key,
on 429/5xx and on transient 409s, with (test-speed) backoff; it keeps a log of what it saw."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TRANSIENT_409 = {"IDEMPOTENCY_IN_PROGRESS", "CONFLICT"}


@dataclass
class Outcome:
    status: int
    body: Any
    attempts: int
    statuses: list[int] = field(default_factory=list)


@dataclass
class RetryingClient:
    api: Any
    attempts: int = 200
    backoff: float = 0.002
    patience: float = 12.0  # seconds a caller keeps retrying one request
    seen: Counter[int] = field(default_factory=Counter)
    gave_up: int = 0

    def call(self, method: str, path: str, *, key: str | None = "auto", **kw: Any) -> Outcome:
        headers = dict(kw.pop("headers", None) or {})
        if key == "auto" and method in ("POST", "PUT", "PATCH", "DELETE"):
            key = uuid.uuid4().hex
        if key and key != "auto":
            headers["Idempotency-Key"] = key
        statuses: list[int] = []
        resp = None
        deadline = time.monotonic() + self.patience
        for n in range(1, self.attempts + 1):
            resp = self.api.call(method, path, headers=headers, **kw)
            statuses.append(resp.status_code)
            self.seen[resp.status_code] += 1
            code = ((resp.json or {}).get("error") or {}).get("code") if isinstance(
                resp.json, dict) else None
            retry = resp.status_code == 429 or resp.status_code >= 500 or (
                resp.status_code == 409 and code in TRANSIENT_409)
            if not retry:
                return Outcome(resp.status_code, resp.json, n, statuses)
            if time.monotonic() > deadline:
                break
            retry_after = (resp.headers or {}).get("Retry-After") or (resp.headers or {}).get(
                "retry-after")
            pause = float(retry_after) if retry_after and code != "TOO_MANY_REQUESTS" else \
                min(0.25, self.backoff * 2 ** min(n, 8))
            time.sleep(min(pause, 1.0))
        self.gave_up += 1
        assert resp is not None
        return Outcome(resp.status_code, resp.json, self.attempts, statuses)

    def post(self, path: str, **kw: Any) -> Outcome:
        return self.call("POST", path, **kw)

    def get(self, path: str, **kw: Any) -> Outcome:
        return self.call("GET", path, key=None, **kw)

    def put(self, path: str, **kw: Any) -> Outcome:
        return self.call("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Outcome:
        return self.call("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Outcome:
        return self.call("DELETE", path, **kw)

    def report(self) -> str:
        return f"responses {dict(sorted(self.seen.items()))}, gave up {self.gave_up}"

"""The marketer console on the local stack: static files plus a same-origin API proxy.

    python -m chalicelib.local.console --port 8001 --api http://127.0.0.1:8000 [--dist DIR]

- ``/api/*`` is forwarded to the local Chalice API with ``/api`` stripped: the browser sees
  one origin, the shape production has (CloudFront serves the S3 console and forwards
  ``/api/*`` to API Gateway's ``api`` stage), so no CORS is needed anywhere.
- ``POST /dev/token {"role": "marketer"|"admin", "sub": ...}`` mints an HS256 token with the
  stage's secret. It exists only in this local server, never in the Lambda package or the
  API routes, so no deployed stage can offer it; members' tokens cannot be minted here.
  It needs ``Content-Type: application/json`` (415) and a same-origin ``Origin`` (403): a
  page elsewhere cannot post it without a CORS preflight this server never answers.
- Every request must name this server in ``Host`` (127.0.0.1, localhost, [::1] or the bound
  host, with its port; 403 otherwise): a DNS-rebound name pointing at 127.0.0.1 is refused.
- Request framing is strict (the proxy must not be smuggled through): ``Transfer-Encoding``
  and a missing-when-needed, negative, repeated or non-numeric ``Content-Length`` are 400;
  every error that could leave a body unread closes the connection.
- ``GET /config.json`` tells the console which sign-in to offer: ``{"signin": "dev"}`` here
  (a deploy uploads the stack's ``ConsoleConfig`` output instead: the Cognito hosted UI).
- Everything else is a file from ``console/dist`` (``make console``); unknown paths get
  index.html (the console routes by URL hash, so this only matters for typos).
"""

from __future__ import annotations

import argparse
import http.client
import json
import mimetypes
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "console" / "dist"
DEV_ROLES = ("marketer", "admin")
SUB_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MAX_BODY = 1 << 20
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# Request headers the API needs; hop-by-hop and cookie headers are not forwarded.
FORWARD = ("authorization", "content-type", "idempotency-key", "accept", "accept-language")
SECURITY_HEADERS = {
    # CodeMirror injects its styles at run time, hence 'unsafe-inline' for styles only.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' "
                               "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class ConsoleServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops connections when a page loads many assets

    def __init__(self, addr: tuple[str, int], api: str, dist: Path) -> None:
        super().__init__(addr, Handler)
        parsed = urlparse(api)
        self.api_host = parsed.hostname or "127.0.0.1"
        self.api_port = parsed.port or 80
        self.dist = dist.resolve()
        port = self.server_address[1]
        bound = str(addr[0])
        wildcard = ("", "0.0.0.0", "::")  # noqa: S104  (not a bind: names to refuse)
        names = {*LOOPBACK_NAMES, *([] if bound in wildcard else
                                    [f"[{bound}]" if ":" in bound else bound])}
        # Host values that name this server (DNS rebinding sends the attacker's name)
        self.hosts = {f"{n}:{port}".lower() for n in names} | (
            {n.lower() for n in names} if port == 80 else set())


class Handler(BaseHTTPRequestHandler):
    server: ConsoleServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        # Path only (never query strings or bodies), like the API's access log.
        sys.stderr.write(f"[console] {self.command} {self.path.split('?')[0]} {args[1:2]}\n")

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self._request_body = self._read_body()
        if self._request_body is None:
            return  # answered (400/413) and the connection is closing
        if (self.headers.get("Host") or "").strip().lower() not in self.server.hosts:
            return self._json(403, {"error": {"code": "FORBIDDEN", "message":
                                              "unknown Host: open the console at "
                                              "http://127.0.0.1:<port>"}})
        path = self.path.split("?", 1)[0]
        if path == "/api" or path.startswith("/api/"):
            self._proxy()
        elif path == "/dev/token":
            self._dev_token()
        elif path == "/config.json":
            self._config()
        elif self.command in ("GET", "HEAD"):
            self._static(path)
        else:
            self._send(405, b'{"error": {"code": "METHOD_NOT_ALLOWED"}}', "application/json")

    def _read_body(self) -> bytes | None:
        """The whole request body, read before anything is answered so a keep-alive
        connection never starts the next request inside this one's body; None when the
        framing is refused (answered, connection closing)."""
        if self.headers.get_all("Transfer-Encoding"):
            self._refuse(400, "VALIDATION_ERROR", "Transfer-Encoding is not supported; "
                                                  "send Content-Length")
            return None
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b""
        raw = lengths[0].strip()
        if len(lengths) > 1 or not raw.isdigit() or not raw.isascii():
            self._refuse(400, "VALIDATION_ERROR", "invalid Content-Length")
            return None
        length = int(raw)
        if length > MAX_BODY:
            self._refuse(413, "TOO_LARGE", f"at most {MAX_BODY} bytes")
            return None
        return self.rfile.read(length) if length else b""

    def _refuse(self, status: int, code: str, message: str) -> None:
        """An error after which the connection cannot be trusted: answer and close."""
        self.close_connection = True
        self._send(status, json.dumps({"error": {"code": code, "message": message}}).encode(),
                   "application/json", {"Connection": "close"})

    def _body(self) -> bytes:
        return self._request_body or b""

    def _proxy(self) -> None:
        body = self._body()
        target = self.path[len("/api"):] or "/"
        headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARD}
        conn = http.client.HTTPConnection(self.server.api_host, self.server.api_port, timeout=120)
        try:
            conn.request(self.command, target, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            ctype = resp.getheader("Content-Type", "application/json")
            extra = {k: v for k, v in resp.getheaders()
                     if k.lower() in ("retry-after", "location", "content-disposition")}
            self._send(resp.status, data, ctype, extra)
        except OSError:
            self._send(502, b'{"error": {"code": "BAD_GATEWAY", "message": "the local API '
                            b'does not answer"}}', "application/json")
        finally:
            conn.close()

    def _dev_token(self) -> None:
        from chalicelib.api.auth import mint
        from chalicelib.config import get_settings

        body = self._body()
        if self.command != "POST":
            return self._json(405, {"error": {"code": "METHOD_NOT_ALLOWED"}})
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":  # a form or text/plain post needs no preflight
            # 415; the code is the registered one for a bad header (README error table)
            return self._json(415, {"error": {"code": "VALIDATION_ERROR", "message":
                                              "Content-Type must be application/json"}})
        if self.headers.get("Origin") != f"http://{self.headers.get('Host')}":
            return self._json(403, {"error": {"code": "FORBIDDEN", "message":
                                              "sign in from the console's own page"}})
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            req = None
        if not isinstance(req, dict) or req.get("role") not in DEV_ROLES or \
                not SUB_RE.match(str(req.get("sub", ""))):
            return self._json(400, {"error": {"code": "VALIDATION_ERROR", "message":
                                              "role must be marketer or admin; sub 1-64 of "
                                              "A-Z a-z 0-9 . _ @ -"}})
        if get_settings().jwt_algorithm != "HS256":
            return self._json(404, {"error": {"code": "NOT_FOUND"}})
        token = mint(str(req["sub"]), [str(req["role"])], ttl_seconds=8 * 3600)
        self._json(200, {"token": token})

    def _config(self) -> None:
        """The console's runtime config: which sign-in to offer. Only this local server ever
        says "dev"; a deploy uploads the stack's ConsoleConfig output ("cognito") instead."""
        from chalicelib.config import get_settings

        dev = get_settings().jwt_algorithm == "HS256"
        self._json(200, {"signin": "dev" if dev else "token"})

    def _static(self, path: str) -> None:
        dist = self.server.dist
        index = dist / "index.html"
        if not index.exists():
            return self._send(503, b"console/dist is missing: run `make console`\n",
                              "text/plain; charset=utf-8")
        candidate = (dist / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(dist) or not candidate.is_file():
            candidate = index
        ctype = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/javascript", "text/javascript"):
            ctype += "; charset=utf-8"
        # Hashed assets never change; index.html must be revalidated to pick up a new build.
        cache = "public, max-age=31536000, immutable" if "/assets/" in path else "no-cache"
        self._send(200, candidate.read_bytes(), ctype, {"Cache-Control": cache})

    def _json(self, status: int, doc: dict[str, Any]) -> None:
        self._send(status, json.dumps(doc).encode(), "application/json",
                   {"Cache-Control": "no-store"})

    def _send(self, status: int, data: bytes, ctype: str,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _watch_parent(pid: int) -> None:
    while True:
        if os.getppid() != pid:
            os._exit(0)
        time.sleep(1.0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m chalicelib.local.console")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--api", default="http://127.0.0.1:8000", help="the local Chalice API")
    p.add_argument("--dist", default=str(DIST))
    p.add_argument("--parent-pid", type=int, default=None)
    args = p.parse_args(argv)
    mimetypes.add_type("text/javascript", ".js")
    server = ConsoleServer((args.host, args.port), args.api, Path(args.dist))
    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

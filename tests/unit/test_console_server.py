"""The local console server: dev sign-in only for marketer/admin, /api proxied with the prefix
stripped, files only from its dist folder."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api.auth import roles_of, verify
from chalicelib.local.console import ConsoleServer


class Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        out = json.dumps({"path": self.path, "auth": self.headers.get("Authorization"),
                          "cookie": self.headers.get("Cookie"), "body": body.decode()}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a: Any) -> None:
        pass


def _serve(server: Any) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<title>console</title>")
    (tmp_path / "secret.txt").write_text("outside dist")
    api = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    _serve(api)
    server = ConsoleServer(("127.0.0.1", 0), f"http://127.0.0.1:{api.server_port}",
                           tmp_path / "dist")
    _serve(server)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    api.shutdown()


def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _same_origin(console: str) -> dict[str, str]:
    return {"Origin": console}  # what a browser sends from the console's own page


def test_dev_sign_in_mints_marketer_and_admin_tokens_only(console: str) -> None:
    code, body = _post(f"{console}/dev/token", {"role": "marketer", "sub": "alice"},
                       _same_origin(console))
    assert code == 200
    claims = verify(body["token"])
    assert (claims["sub"], roles_of(claims)) == ("alice", ["marketer"])
    for bad in ({"role": "member", "sub": "m-1"}, {"role": "service", "sub": "x"},
                {"role": "admin", "sub": "a b/../c"}, {"role": "admin"}):
        assert _post(f"{console}/dev/token", bad, _same_origin(console))[0] == 400, bad


def _raw(console: str, request: bytes, *, read_all: bool = True) -> bytes:
    """Send raw bytes on one connection; what came back until the server closed it (or a
    short timeout)."""
    import socket
    from urllib.parse import urlparse

    u = urlparse(console)
    with socket.create_connection((u.hostname, u.port), timeout=3) as sock:
        sock.sendall(request)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except TimeoutError:
            pass
        return out


def _host(console: str) -> str:
    return console.removeprefix("http://")


def test_dev_token_refuses_other_hosts_origins_and_content_types(console: str) -> None:
    """DNS rebinding: an attacker's name resolving to 127.0.0.1 must not mint a token, and a
    cross-site form (no preflight) must not either."""
    admin = {"role": "admin", "sub": "eve"}
    port = console.rsplit(":", 1)[1]
    rebound = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    assert _post(f"{console}/dev/token", admin, rebound)[0] == 403
    assert _post(f"{console}/dev/token", admin,
                 {"Origin": "http://evil.example"})[0] == 403
    assert _post(f"{console}/dev/token", admin)[0] == 403  # no Origin at all
    req = urllib.request.Request(f"{console}/dev/token", data=json.dumps(admin).encode(),
                                 method="POST", headers={"Content-Type": "text/plain",
                                                         **_same_origin(console)})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 415
    # every path checks Host, the proxy too; localhost and [::1] names are fine
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(
            f"{console}/config.json", headers={"Host": f"evil.example:{port}"}), timeout=10)
    assert e.value.code == 403
    for name in ("localhost", "[::1]"):
        got = _raw(console, f"GET /config.json HTTP/1.1\r\nHost: {name}:{port}\r\n"
                            f"Connection: close\r\n\r\n".encode())
        assert got.startswith(b"HTTP/1.1 200"), got[:80]


@pytest.mark.parametrize("framing", [
    b"Transfer-Encoding: chunked\r\n",
    b"Content-Length: -5\r\n",
    b"Content-Length: 5x\r\n",
    b"Content-Length: 5\r\nContent-Length: 6\r\n",
])
def test_bad_framing_is_400_and_closes_so_nothing_is_smuggled(console: str,
                                                               framing: bytes) -> None:
    host = _host(console).encode()
    smuggled = (b"GET /api/admin/smuggled HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    body = b"5\r\nhello\r\n0\r\n\r\n" + smuggled
    got = _raw(console, b"POST /api/admin/x HTTP/1.1\r\nHost: " + host + b"\r\n" + framing
               + b"Content-Type: application/json\r\n\r\n" + body)
    assert got.startswith(b"HTTP/1.1 400"), got[:80]
    assert b"Connection: close" in got and got.count(b"HTTP/1.1 ") == 1, got


def test_a_refused_body_is_never_read_as_the_next_request(console: str) -> None:
    """405 and 413 on keep-alive: the unread body must not become a second request."""
    host = _host(console).encode()
    inner = b"POST /api/admin/smuggled HTTP/1.1\r\nHost: " + host + \
        b"\r\nContent-Length: 0\r\n\r\n"
    got = _raw(console, b"PUT /index.html HTTP/1.1\r\nHost: " + host +
               b"\r\nContent-Length: " + str(len(inner)).encode() + b"\r\n\r\n" + inner +
               b"GET /config.json HTTP/1.1\r\nHost: " + host +
               b"\r\nConnection: close\r\n\r\n")
    # the 405, then the real next request; the body was drained, not parsed
    assert got.startswith(b"HTTP/1.1 405") and b"smuggled" not in got
    assert got.count(b"HTTP/1.1 ") == 2 and b'"signin"' in got, got
    big = _raw(console, b"POST /api/admin/x HTTP/1.1\r\nHost: " + host +
               b"\r\nContent-Length: 99999999\r\n\r\n" + inner)
    assert big.startswith(b"HTTP/1.1 413") and b"Connection: close" in big
    assert big.count(b"HTTP/1.1 ") == 1


def test_api_is_proxied_with_the_prefix_stripped_and_no_cookies(console: str) -> None:
    code, body = _post(f"{console}/api/admin/campaigns/x/validate?a=1", {"id": "x"},
                       {"Authorization": "Bearer t", "Cookie": "session=1"})
    assert code == 201
    assert body == {"path": "/admin/campaigns/x/validate?a=1", "auth": "Bearer t",
                    "cookie": None, "body": '{"id": "x"}'}


def test_files_come_only_from_dist(console: str) -> None:
    with urllib.request.urlopen(f"{console}/../secret.txt", timeout=10) as r:
        assert b"outside dist" not in r.read()
    with urllib.request.urlopen(f"{console}/%2e%2e/secret.txt", timeout=10) as r:
        page = r.read()
        assert b"outside dist" not in page and b"<title>console</title>" in page
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]

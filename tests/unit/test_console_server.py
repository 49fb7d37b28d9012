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


def test_dev_sign_in_mints_marketer_and_admin_tokens_only(console: str) -> None:
    code, body = _post(f"{console}/dev/token", {"role": "marketer", "sub": "alice"})
    assert code == 200
    claims = verify(body["token"])
    assert (claims["sub"], roles_of(claims)) == ("alice", ["marketer"])
    for bad in ({"role": "member", "sub": "m-1"}, {"role": "service", "sub": "x"},
                {"role": "admin", "sub": "a b/../c"}, {"role": "admin"}):
        assert _post(f"{console}/dev/token", bad)[0] == 400, bad


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

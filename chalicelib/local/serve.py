"""``chalice local --stage dev --no-autoreload``, able to point the app at other local ports.

``chalice local`` layers the stage's environment variables over the process environment, so
a second stack (the integration test) cannot move it to other ports through the environment.
This module runs the same code path as the ``chalice local`` command (create_config_obj ->
chalice_app -> validate_routes -> create_local_server -> serve_forever) and hands the
overrides to Chalice as user-provided parameters, which Chalice merges over the stage's
``environment_variables``. The app still reads them only through ``chalicelib.config``.

The HTTP server is chalice's request handler on a real server (``PerksHTTPServer``): chalice
local's own listens with a backlog of 5, so a burst of clients (200 at once) had connections
reset before a thread ever saw them. Ours listens with a backlog of 2048 and runs each
connection on its own thread, at most ``MAX_CONNECTIONS`` at once (beyond that, new
connections wait in the kernel's backlog instead of being refused); idle keep-alive
connections are closed after ``IDLE_SECONDS`` so they do not hold threads forever.

``--parent-pid`` makes the server exit if the local stack that started it dies without
cleaning up (e.g. SIGKILL), so it never lingers on the port.
"""

from __future__ import annotations

import argparse
import logging
import os
import socketserver
import sys
import threading
import time
from http.server import HTTPServer
from pathlib import Path
from typing import Any

from chalice.local import ChaliceRequestHandler

ROOT = Path(__file__).resolve().parents[2]
REQUEST_QUEUE_SIZE = 2048  # listen backlog (the kernel caps it at net.core.somaxconn)
MAX_CONNECTIONS = 512  # connection threads at once; more wait in the backlog
IDLE_SECONDS = 30  # an idle keep-alive connection is closed after this long


class PerksRequestHandler(ChaliceRequestHandler):
    """Chalice's handler (same API Gateway emulation), with an idle timeout per connection."""

    timeout = IDLE_SECONDS


class PerksHTTPServer(socketserver.ThreadingMixIn, HTTPServer):
    """A thread per connection, a large listen backlog and a bound on live threads."""

    request_queue_size = REQUEST_QUEUE_SIZE
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Blocks the accept loop when full: later clients queue in the backlog, not reset.
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def build_server(app: Any, config: Any, host: str, port: int) -> Any:
    """What ``chalice.local.create_local_server`` builds, on ``PerksHTTPServer``."""
    from chalice import local

    local.CustomLocalChalice.__bases__ = (local.LocalChalice, app.__class__)
    app.__class__ = local.CustomLocalChalice  # thread-local current_request, as chalice does
    return local.LocalDevServer(app, config, host, port, handler_cls=PerksRequestHandler,
                                server_cls=PerksHTTPServer)


def _watch_parent(pid: int) -> None:
    while True:
        if os.getppid() != pid:
            os._exit(0)
        time.sleep(1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.local.serve")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="environment variable overriding the stage's value")
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.env)

    from chalice.cli.factory import CLIFactory
    from chalice.deploy.validate import validate_routes

    os.environ["AWS_CHALICE_CLI_MODE"] = "true"
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    os.chdir(ROOT)
    factory = CLIFactory(str(ROOT), environ=os.environ)
    config = factory.create_config_obj(
        chalice_stage_name=args.stage,
        user_provided_params={"environment_variables": overrides} if overrides else None)
    app = config.chalice_app
    validate_routes(app.routes)
    server = build_server(app, config, args.host, args.port)
    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""moto's HTTP server inside this process: SQS and SNS for the local stack (DynamoDB too
when Java is missing).

moto's own ``ThreadedMotoServer`` binds its socket in the background thread, so a busy port
leaves ``start()`` waiting forever. Here the socket is bound in the caller's thread, so a busy
port fails at once with ``OSError``.
"""

from __future__ import annotations

import threading
from typing import Any


class MotoServer:
    """One moto server (every AWS service moto knows) on ``host:port``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self._server: Any = make_server(host, port, DomainDispatcherApplication(create_backend_app),
                                        threaded=True, request_handler=MotoRequestHandler)
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"moto:{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()


def start(host: str = "127.0.0.1", port: int = 0) -> MotoServer:
    """Bind (raising ``OSError`` if the port is busy) and serve in a daemon thread."""
    return MotoServer(host, port).start()

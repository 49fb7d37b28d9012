"""``chalice local --stage dev --no-autoreload``, able to point the app at other local ports.

``chalice local`` layers the stage's environment variables over the process environment, so
a second stack (the integration test) cannot move it to other ports through the environment.
This module runs the same code path as the ``chalice local`` command (create_config_obj ->
chalice_app -> validate_routes -> create_local_server -> serve_forever) and hands the
overrides to Chalice as user-provided parameters, which Chalice merges over the stage's
``environment_variables``. The app still reads them only through ``chalicelib.config``.

``--parent-pid`` makes the server exit if the local stack that started it dies without
cleaning up (e.g. SIGKILL), so it never lingers on the port.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
    server = factory.create_local_server(app, config, args.host, args.port)
    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), daemon=True).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

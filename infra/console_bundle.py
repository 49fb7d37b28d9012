"""Stage the console for a deployed stack: console/dist plus that stack's config.json.

    aws cloudformation describe-stacks ... ConsoleConfig ... | \
        python infra/console_bundle.py console/dist build/console

The config (the stack's ``ConsoleConfig`` output) must name the Cognito hosted UI over
HTTPS: a deployed console never offers the dev sign-in, which exists only in the local
console server. Anything else stops the deploy here, before it reaches the bucket.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

FIELDS = ("authority", "client_id", "redirect_uri", "scope")


def checked(raw: str) -> dict[str, Any]:
    """The config as uploaded, or SystemExit naming what is wrong with it."""
    try:
        cfg = json.loads(raw)
    except ValueError:
        raise SystemExit(f"config is not JSON: {raw[:200]!r}") from None
    if not isinstance(cfg, dict) or cfg.get("signin") != "cognito":
        raise SystemExit("config.json for a deployed stack must say \"signin\": \"cognito\"")
    missing = [f for f in FIELDS if not isinstance(cfg.get(f), str) or not cfg[f]]
    if missing:
        raise SystemExit(f"config.json lacks {', '.join(missing)}")
    for f in ("authority", "redirect_uri"):
        if not cfg[f].startswith("https://"):
            raise SystemExit(f"config.json {f} must be https: {cfg[f]}")
    if set(cfg) - {"signin", *FIELDS}:
        raise SystemExit(f"config.json has unknown keys: {sorted(set(cfg) - {'signin', *FIELDS})}")
    return cfg


def bundle(dist: Path, out: Path, raw: str) -> None:
    cfg = checked(raw)
    if not (dist / "index.html").is_file():
        raise SystemExit(f"{dist}/index.html is missing: run make console")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(dist, out, ignore=shutil.ignore_patterns(".built", "config.json"))
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")


if __name__ == "__main__":
    bundle(Path(sys.argv[1]), Path(sys.argv[2]), sys.stdin.read())
    print(f"staged {sys.argv[2]} with the stack's config.json")

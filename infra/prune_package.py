"""Drop what never runs in Lambda from chalice's deployment.zip: the local stack and the CLI.

`chalice package` bundles all of chalicelib/; the local stack (DynamoDB Local, moto, the runner)
and the `perks` CLI are developer tools. Nothing deployed imports them (checked here: the run
fails if any module left in the package mentions them), so they only cost cold-start disk reads.
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

DEV_ONLY = ("chalicelib/local/", "chalicelib/cli/")
IMPORT = re.compile(rb"^\s*(from|import)\s+chalicelib\.(local|cli)\b", re.M)


def prune(zip_path: Path) -> int:
    src = zipfile.ZipFile(zip_path)
    tmp = zip_path.with_suffix(".tmp")
    dropped = 0
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename.startswith(DEV_ONLY):
                dropped += 1
                continue
            data = src.read(info)
            if info.filename.endswith(".py") and (info.filename == "app.py"
                                                  or info.filename.startswith("chalicelib/")):
                if IMPORT.search(data):
                    sys.exit(f"{info.filename} imports a dev-only module; it would fail in Lambda")
            out.writestr(info, data)
    src.close()
    tmp.replace(zip_path)
    return dropped


if __name__ == "__main__":
    path = Path(sys.argv[1])
    print(f"pruned {prune(path)} dev-only files from {path}")

"""Cold-import cost of app.py vs a bare Chalice app that imports boto3 (goal: ratio <= 1.5).

Median over 10 fresh interpreter processes each, with no cached bytecode anywhere: every
process gets an empty PYTHONPYCACHEPREFIX and -B, so nothing is read from or written to
.pyc caches (site-packages included, for both sides alike).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, summary

RUNS = 10
PROBE = ("import sys, time; sys.path.insert(0, {path!r}); t = time.perf_counter(); "
         "import app; print(time.perf_counter() - t)")
BARE = "from chalice import Chalice\nimport boto3\n\napp = Chalice(app_name='bare')\n"


def measure(path: Path) -> float:
    times = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as cache:
            out = subprocess.run(
                [sys.executable, "-B", "-c", PROBE.format(path=str(path))],
                cwd=path, capture_output=True, text=True, check=True,
                env={"PATH": "/usr/bin:/bin", "PYTHONPYCACHEPREFIX": cache,
                     "AWS_DEFAULT_REGION": "us-east-1", "PYTHONHASHSEED": "0"},
            )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> int:
    with tempfile.TemporaryDirectory() as bare:
        Path(bare, "app.py").write_text(BARE)
        baseline = measure(Path(bare))
    perks = measure(ROOT)
    ratio = perks / baseline
    print(f"bare chalice + boto3: median {baseline * 1000:.0f} ms over {RUNS} processes")
    print(f"perks app.py:         median {perks * 1000:.0f} ms over {RUNS} processes")
    summary(f"SUMMARY cold_import: ratio {ratio:.2f} (goal <= 1.5) "
            f"{'PASS' if ratio <= 1.5 else 'FAIL'}")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""`make fuzz`: Schemathesis against the running local stack (started here if none answers).

    python -m tests.fuzz.run [--url http://127.0.0.1:8000] [--examples 200]

Every operation of infra/openapi.json, with a valid token of every role it documents, on
valid and invalid inputs plus the boundary-value (coverage) phase; real HTTP to chalice local
on DynamoDB Local. Prints a table per operation and a SUMMARY line:
0 server errors, 0 responses off the documented schema, >= 200 cases per operation.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def inputs_of(spec: dict, path: str, method: str) -> bool:
    op = spec["paths"][path][method.lower()]
    params = op.get("parameters", []) + spec["paths"][path].get("parameters", [])
    return bool(params or op.get("requestBody"))


def per_operation(spec: dict, stats: dict, ops: set[str], examples: int
                  ) -> tuple[list[str], int, list[str], list[str]]:
    """(table lines, 5xx answers, operations failing a check, operations with inputs that
    got fewer than ``examples`` cases)."""
    table = [f"{'operation':48} {'cases':>6} {'requests':>8} {'5xx':>4} {'failed':>6}"]
    five, failing, low = 0, [], []
    for op in sorted(ops):
        s = stats.get(op, {})
        n5 = sum(v for k, v in s.items() if ":" in k and k.rsplit(":", 1)[1].startswith("5"))
        five += n5
        if s.get("failures"):
            failing.append(op)
        method, path = op.split(" ", 1)
        if s.get("cases", 0) < examples and inputs_of(spec, path, method):
            low.append(op)
        table.append(f"{op:48} {s.get('cases', 0):>6} {s.get('requests', 0):>8} {n5:>4} "
                     f"{s.get('failures', 0):>6}")
    return table, five, failing, low


def main(argv: list[str] | None = None) -> int:
    from tests.fuzz.stack import running_stack

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=os.environ.get("PERKS_URL", "http://127.0.0.1:8000"))
    ap.add_argument("--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", 200)))
    ap.add_argument("--stage", default="dev")
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args(argv)
    spec = json.loads((ROOT / "infra" / "openapi.json").read_text())
    started = time.perf_counter()
    stats_file = Path(tempfile.mkdtemp(prefix="perks-fuzz-")) / "stats.json"
    with running_stack(args.url, stage=args.stage) as base:
        env = {**os.environ, "FUZZ_BASE_URL": base, "FUZZ_EXAMPLES": str(args.examples),
               "FUZZ_COVERAGE": "1", "FUZZ_STATS": str(stats_file), "FUZZ_STAGE": args.stage,
               "FUZZ_STRICT": "1", "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([sys.executable, "-m", "pytest", "tests/fuzz/test_fuzz_api.py",
                               "-q", "-p", "no:cacheprovider", "-o", "log_cli=false",
                               "--no-header", "-rfE", *args.pytest_args], cwd=ROOT, env=env,
                              check=False)
    seconds = time.perf_counter() - started
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    ops = {f"{m.upper()} {p}" for p, item in spec["paths"].items() for m in item
           if m in ("get", "post", "put", "patch", "delete")}
    table, five, failing, low = per_operation(spec, stats, ops, args.examples)
    print("\n" + "\n".join(table))
    with_inputs = [stats.get(op, {}).get("cases", 0) for op in ops
                   if inputs_of(spec, *reversed(op.split(" ", 1)))]
    min_cases = min(with_inputs) if with_inputs else 0
    requests = sum(s.get("requests", 0) for s in stats.values())
    print(f"\n{len(ops)} operations, {requests} requests; operations without any input "
          f"(nothing to vary) are called as often as Hypothesis finds distinct cases")
    if low:
        print(f"operations below {args.examples} cases: {low}")
    if failing:
        print(f"operations failing a check: {failing} (details above)")
    ok = proc.returncode == 0 and five == 0 and not failing and not low
    fuzzed = sum(1 for op in ops if stats.get(op, {}).get("cases"))
    ok = ok and fuzzed == len(ops)
    summary = (f"SUMMARY fuzz: operations fuzzed={fuzzed} of {len(ops)} (goal all), "
               f"requests={requests} (goal report), "
               f"min cases per operation with inputs={min_cases} (goal >= {args.examples}), "
               f"server errors={five} (goal 0), operations off schema={len(failing)} (goal 0) "
               f"{'PASS' if ok else 'FAIL'}")
    print(summary)
    sys.path.insert(0, str(ROOT / "bench"))
    import run_all

    run_all.record_external("fuzz", summary, "\n".join(table), seconds)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""The adversarial suites as figures for bench/RESULTS.md: security matrices and fault flows.

Runs tests/security (role matrix, mass assignment, BOLA) and tests/faults (main flows under
20 % injected DynamoDB/SQS faults on moto and DynamoDB Local) plus the campaign-occurrence
fault test of the delivery suite, and reports: cases passed, open findings (strict xfails,
each naming its owner), and how many faults were injected into how many AWS calls.
"""

from __future__ import annotations

import re
import subprocess
import sys

from common import ROOT, summary

SUITES = {
    "security": ["tests/security"],
    "faults": ["tests/faults", "tests/integration/test_delivery_faults.py"],
}


def run(paths: list[str]) -> tuple[dict[str, int], int, int, str]:
    existing = [p for p in paths if (ROOT / p).exists()]
    proc = subprocess.run([sys.executable, "-m", "pytest", *existing, "-q", "-s", "-rxX",
                           "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    out = proc.stdout
    counts = {k: int(n) for n, k in re.findall(
        r"(\d+) (passed|failed|xfailed|xpassed|skipped|errors?)", out.splitlines()[-1]
        if out.strip() else "")}
    injected = sum(int(n) for n in re.findall(r"(\d+) faults injected in \d+ calls", out))
    calls = sum(int(n) for n in re.findall(r"\d+ faults injected in (\d+) calls", out))
    findings = "\n".join(ln for ln in out.splitlines() if ln.startswith("XFAIL"))
    return counts, injected, calls, findings


def main() -> int:
    sec, _, _, sec_findings = run(SUITES["security"])
    flt, injected, calls, flt_findings = run(SUITES["faults"])
    for name, c in (("security", sec), ("faults", flt)):
        print(f"{name}: {c}")
    print(f"faults injected into the flows: {injected} of {calls} AWS calls")
    if sec_findings or flt_findings:
        print("open findings (strict xfail):\n" + "\n".join(
            f for f in (sec_findings, flt_findings) if f))
    failed = sec.get("failed", 0) + flt.get("failed", 0) + sec.get("error", 0) + flt.get(
        "error", 0) + sec.get("errors", 0) + flt.get("errors", 0)
    open_findings = sec.get("xfailed", 0) + flt.get("xfailed", 0)
    ok = failed == 0 and sec.get("passed", 0) > 0 and flt.get("passed", 0) > 0
    summary(f"SUMMARY adversarial: security cases failed={sec.get('failed', 0)} of "
            f"{sec.get('passed', 0) + sec.get('failed', 0)} (goal 0), fault flows failed="
            f"{flt.get('failed', 0)} of {flt.get('passed', 0) + flt.get('failed', 0)} (goal 0), "
            f"faults injected={injected} in {calls} calls (goal report), "
            f"open findings={open_findings} (goal report) {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Run every bench script and write bench/RESULTS.md: figure, goal, measured, pass/fail.

    python bench/run_all.py [NAME ...] [--timeout SECONDS] [--list]

Each ``bench/*.py`` with a ``__main__`` guard (helpers such as common.py are skipped) runs
as its own process from the bench directory with PYTHONPATH=repo root, one after another
(the machines are small and shared: parallel benches would measure each other). A script
prints its figures; its LAST line is a one-line summary such as

    SUMMARY orders: POST /orders=2 requests (goal <=2), GET /me/points=1 read (goal <=2) PASS

Every ``<figure>[=| ]<measured> (goal <goal>)`` part becomes a row of the table (a goal of
"report" marks a figure reported without a goal). A FAIL is
reported in the table (and in the exit message), never hidden; only a script that crashes
(non-zero exit without a SUMMARY line, or a timeout) makes this runner exit non-zero.

Results are kept per script in bench/results.json, so running a subset (``run_all.py
orders``) refreshes those rows and keeps the others, each with its own date.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SKIP = {"common", "run_all", "__init__"}
RESULTS_MD = BENCH / "RESULTS.md"
RESULTS_JSON = BENCH / "results.json"
DEFAULT_TIMEOUT = 1800

GOAL = re.compile(r"\(\s*goal\s*([^()]*(?:\([^()]*\)[^()]*)*)\)", re.IGNORECASE)
NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*(?:\.\d+)?")
COMPARATOR = re.compile(r"^\s*(<=|>=|≤|≥|<|>|==|=)?\s*([-+]?\d+(?:\.\d+)?)\s*(%|x)?")


@dataclass
class Figure:
    figure: str
    measured: str
    goal: str
    verdict: str  # PASS | FAIL | ?


@dataclass
class Outcome:
    script: str
    status: str  # PASS | FAIL | CRASH | TIMEOUT
    summary: str
    seconds: float
    date: str
    figures: list[Figure] = field(default_factory=list)
    tail: str = ""
    external: bool = False  # written by `make fuzz` / `make load`, not by a bench script


def _is_script(path: Path) -> bool:
    """Helpers that bench scripts import (no ``__main__`` guard) are not benches."""
    return "__main__" in path.read_text(errors="replace")


def scripts(names: list[str] | None = None) -> list[Path]:
    found = sorted(p for p in BENCH.glob("*.py") if p.stem not in SKIP and _is_script(p))
    if names:
        wanted = {n.removesuffix(".py") for n in names}
        unknown = wanted - {p.stem for p in found}
        if unknown:
            raise SystemExit(f"no such bench script: {', '.join(sorted(unknown))}")
        found = [p for p in found if p.stem in wanted]
    return found


def _number(text: str) -> float | None:
    m = NUMBER.search(text.replace(",", ""))
    return float(m.group(0)) if m else None


def judge(measured: str, goal: str) -> str:
    """PASS/FAIL when the goal is a plain comparison with a number, '?' otherwise."""
    m = COMPARATOR.match(goal)
    value = _number(measured)
    if not m or value is None or not m.group(2):
        return "?"
    op, target = m.group(1) or "==", float(m.group(2))
    ok = {"<=": value <= target, "≤": value <= target, "<": value < target,
          ">=": value >= target, "≥": value >= target, ">": value > target,
          "==": value == target, "=": value == target}[op]
    return "PASS" if ok else "FAIL"


def parse_summary(line: str) -> tuple[str, list[Figure], str]:
    """``SUMMARY name: parts... PASS`` → (verdict, figures, body)."""
    body = line.split(":", 1)[1].strip() if ":" in line else line
    verdict = "?"
    tail = body.rsplit(None, 1)
    if tail and tail[-1].upper() in ("PASS", "FAIL"):
        verdict = tail[-1].upper()
        body = tail[0] if len(tail) > 1 else ""
    figures: list[Figure] = []
    start = 0
    for m in GOAL.finditer(body):
        segment = body[start:m.start()].strip().lstrip(",;").strip()
        start = m.end()
        goal = m.group(1).strip().rstrip(";,")
        goal = re.split(r"[;,]", goal, maxsplit=1)[0].strip()
        if "=" in segment and not segment.startswith("="):
            name, _, measured = segment.rpartition("=")
        else:
            nums = list(NUMBER.finditer(segment))
            num = nums[-1] if nums else None
            if num is not None:
                name, measured = segment[:num.start()], segment[num.start():]
            else:
                name, measured = segment, ""
        name, measured = name.strip(" :,"), measured.strip()
        info = goal.lower().startswith(("report", "n/a", "none", "info"))
        figures.append(Figure(name or "(figure)", measured, goal,
                              "info" if info else judge(measured, goal)))
    if not figures:
        figures.append(Figure("(summary)", body, "", verdict))
    elif verdict in ("PASS", "FAIL"):
        # The script's own verdict is authoritative for figures we could not judge, and a
        # script that says FAIL is never shown as all-PASS.
        overrule = verdict == "FAIL" and not any(f.verdict == "FAIL" for f in figures)
        for f in figures:
            if f.verdict != "info" and (f.verdict == "?" or overrule):
                f.verdict = verdict
    return verdict, figures, body


def run_one(path: Path, timeout: float) -> Outcome:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + (
        os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
        "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"== {path.stem}", flush=True)
    # Own process group: a timed-out script is stopped with everything it started (e.g. a
    # DynamoDB Local it launched), not just its own pid.
    child = subprocess.Popen([sys.executable, path.name], cwd=BENCH, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)
        try:
            stdout, _ = child.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            stdout, _ = child.communicate()
        print(stdout)
        return Outcome(path.stem, "TIMEOUT", f"timed out after {timeout:.0f} s",
                       time.perf_counter() - started, date, tail=(stdout or "")[-2000:])
    proc = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    seconds = time.perf_counter() - started
    print(proc.stdout, end="")
    if proc.stderr.strip():
        print(proc.stderr[-4000:], end="", file=sys.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    last = lines[-1].strip() if lines else ""
    if not last.startswith("SUMMARY"):
        return Outcome(path.stem, "CRASH", f"exit {proc.returncode}, no SUMMARY line", seconds,
                       date, tail=(proc.stdout + proc.stderr)[-2000:])
    verdict, figures, body = parse_summary(last)
    if verdict == "?":
        verdict = "PASS" if proc.returncode == 0 else "FAIL"
    if any(f.verdict == "FAIL" for f in figures):
        verdict = "FAIL"
    return Outcome(path.stem, verdict, body, seconds, date, figures,
                   tail="\n".join(lines[-60:])[-4000:])


def machine() -> dict[str, str]:
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True, check=False).stdout.strip()
    return {"cores (nproc)": str(usable), "memory": mem, "cpu": cpu,
            "python": platform.python_version(), "os": f"{platform.system()} "
            f"{platform.release()}", "commit": (commit or "?") + (" (+ local changes)"
                                                                 if dirty else "")}


def load_previous() -> dict[str, Outcome]:
    try:
        raw = json.loads(RESULTS_JSON.read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for name, o in raw.get("scripts", {}).items():
        figures = [Figure(**f) for f in o.pop("figures", [])]
        out[name] = Outcome(**o, figures=figures)
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(results: dict[str, Outcome], facts: dict[str, str], when: str) -> str:
    rows = []
    for name in sorted(results):
        o = results[name]
        if o.status in ("CRASH", "TIMEOUT"):
            rows.append(f"| {name} | — | — | {_cell(o.summary)} | **{o.status}** |")
            continue
        for f in o.figures:
            mark = f"**{f.verdict}**" if f.verdict == "FAIL" else f.verdict
            rows.append(f"| {name} | {_cell(f.figure)} | {_cell(f.goal)} | "
                        f"{_cell(f.measured)} | {mark} |")
    fails = sum(1 for o in results.values() if o.status != "PASS")
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/run_all.py`). Every figure is a count or a ratio "
        "measured within one run, so it holds on shared, noisy machines; absolute times are "
        "not compared. Each script's full output is in its own section below.",
        "",
        f"Run: {when}. Scripts not passing: {fails} of {len(results)}.",
        "",
        "| script | figure | goal | measured | result |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in facts.items()],
        "",
        "## Per script",
        "",
    ]
    for name in sorted(results):
        o = results[name]
        origin = f" (from `make {name}`)" if o.external else ""
        lines += [f"### {name}{origin}", "",
                  f"- status: {o.status}, {o.seconds:.1f} s, {o.date}",
                  f"- summary: {_cell(o.summary)}", ""]
        if o.tail:
            lines += ["```", o.tail.strip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def record_external(name: str, summary_line: str, output: str, seconds: float) -> Outcome:
    """Add a result produced outside `make bench` (`make fuzz`, `make load`) to RESULTS.md."""
    verdict, figures, body = parse_summary(summary_line)
    if any(f.verdict == "FAIL" for f in figures):
        verdict = "FAIL"
    o = Outcome(name, verdict if verdict != "?" else "FAIL", body, seconds,
                datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), figures,
                tail="\n".join(output.strip().splitlines()[-60:])[-4000:], external=True)
    results = load_previous()
    results[name] = o
    _write(results)
    return o


def _write(results: dict[str, Outcome]) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts = machine()
    RESULTS_MD.write_text(render(results, facts, when))
    RESULTS_JSON.write_text(json.dumps({"date": when, "machine": facts, "scripts": {
        k: asdict(v) for k, v in sorted(results.items())}}, indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="bench scripts to run (default: all)")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get(
        "BENCH_TIMEOUT", DEFAULT_TIMEOUT)), help="seconds per script")
    ap.add_argument("--list", action="store_true", help="list the scripts and exit")
    args = ap.parse_args(argv)
    todo = scripts(args.names)
    if args.list:
        print("\n".join(p.stem for p in todo))
        return 0
    previous = load_previous()
    known = {p.stem for p in scripts()}
    # `make fuzz` / `make load` results stay; a full run refreshes every bench script.
    results = {k: v for k, v in previous.items()
               if v.external or (args.names and k in known)}
    for path in todo:
        o = run_one(path, args.timeout)
        results[o.script] = o
        print(f"-> {o.script}: {o.status} ({o.seconds:.1f} s)\n", flush=True)
    _write(results)
    ran = [results[p.stem] for p in todo]
    crashed = [o.script for o in ran if o.status in ("CRASH", "TIMEOUT")]
    failed = [o.script for o in ran if o.status == "FAIL"]
    print(f"wrote {RESULTS_MD.relative_to(ROOT)}: {len(ran)} scripts run, "
          f"{len(ran) - len(crashed) - len(failed)} PASS, {len(failed)} FAIL "
          f"{failed or ''}, {len(crashed)} crashed {crashed or ''}")
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""bench/run_all.py turns each script's SUMMARY line into table rows without hiding a FAIL."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "bench_run_all", Path(__file__).resolve().parents[2] / "bench" / "run_all.py")
assert _spec is not None and _spec.loader is not None
run_all = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = run_all  # dataclasses look their module up while being built
_spec.loader.exec_module(run_all)


def test_each_goal_in_a_summary_becomes_a_judged_row():
    verdict, figures, _ = run_all.parse_summary(
        "SUMMARY coupons: confirm writes=1 (goal <=1), optimiser 30x50 / single=11.2 "
        "(goal <=30), busiest shard / mean=1.61 (goal <=1.5) PASS")
    assert verdict == "PASS"
    assert [(f.figure, f.measured, f.goal, f.verdict) for f in figures] == [
        ("confirm writes", "1", "<=1", "PASS"),
        ("optimiser 30x50 / single", "11.2", "<=30", "PASS"),
        ("busiest shard / mean", "1.61", "<=1.5", "FAIL")]


def test_a_figure_without_an_equals_sign_takes_its_last_number():
    _, figures, _ = run_all.parse_summary("SUMMARY cold_import: ratio 0.99 (goal <= 1.5) PASS")
    assert (figures[0].figure, figures[0].measured, figures[0].verdict) == (
        "ratio", "0.99", "PASS")


def test_a_script_that_says_fail_is_never_shown_as_all_pass():
    _, figures, _ = run_all.parse_summary("SUMMARY x: speedup=7.3x (goal >= 5) FAIL")
    assert figures[0].verdict == "FAIL"


def test_report_only_figures_are_marked_info_and_goal_words_inherit_the_verdict():
    _, figures, _ = run_all.parse_summary(
        "SUMMARY load: requests=1092 (goal report), error rate=0.00% (goal 0), "
        "operations fuzzed=47 of 47 (goal all) PASS")
    assert [f.verdict for f in figures] == ["info", "PASS", "PASS"]


def test_helpers_without_a_main_guard_are_not_run_as_benches():
    names = {p.stem for p in run_all.scripts()}
    assert "common" not in names and "run_all" not in names
    assert "members" in names

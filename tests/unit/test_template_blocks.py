"""Text captured by blocks ({% set %}…{% endset %}, macros, call and filter blocks) is bounded
like every other value a template builds, and such blocks are refused at save."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from chalicelib.domain.campaigns import templates as tpl


def _doubling_sets(levels: int, tail: str) -> str:
    """The review's repro: each level captures the previous one twice."""
    parts = ["{% set a0 %}{{ 'x'*9999 }}{% endset %}"]
    parts += [f"{{% set a{i} %}}{{{{ a{i - 1} }}}}{{{{ a{i - 1} }}}}{{% endset %}}"
              for i in range(1, levels + 1)]
    return "".join(parts) + tail.replace("LAST", f"a{levels}")


BLOCK_BLOW_UPS = {
    "set": _doubling_sets(13, "{{ LAST | length }}"),
    "set-deep": _doubling_sets(40, "{{ LAST | length }}"),
    "macro": "{% macro m() %}{% for i in range(1000) %}{{ 'x'*9999 }}{% endfor %}{% endmacro %}"
             "{{ m() | length }}",
    "call": "{% macro w() %}{{ caller() | length }}{% endmacro %}"
            "{% call w() %}{% for i in range(1000) %}{{ 'x'*9999 }}{% endfor %}{% endcall %}",
    "filter": "{% filter length %}{% for i in range(1000) %}{{ 'x'*9999 }}{% endfor %}"
              "{% endfilter %}",
    "self-block": "{% block b %}{{ 'x'*9999 }}{% endblock %}"
                  "{% for i in range(1000) %}{{ (self.b() ~ '') | length }}{% endfor %}",
}


@pytest.mark.parametrize("name", sorted(BLOCK_BLOW_UPS))
def test_captured_blocks_never_build_more_than_the_output_limit(name: str) -> None:
    ctx = tpl.context_for({"name": "x", "locale": "zh-CN"})
    tracemalloc.start()
    try:
        t0 = time.thread_time()
        out = tpl.render(BLOCK_BLOW_UPS[name], ctx)
        elapsed = time.thread_time() - t0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(out) <= tpl.MAX_OUTPUT
    assert elapsed < 1.0
    assert peak < 4_000_000, f"{name}: a render peaked at {peak:,} bytes"


@pytest.mark.parametrize("name", sorted(BLOCK_BLOW_UPS))
def test_block_blow_ups_are_refused_at_save(name: str) -> None:
    problem = tpl.template_problem(BLOCK_BLOW_UPS[name])
    assert problem is not None, name
    assert problem[0].startswith("template"), problem
    assert problem[1]


@pytest.mark.parametrize("text", [
    "{% set x %}hi{% endset %}{{ x }}",
    "{% macro m() %}hi{% endmacro %}{{ m() }}",
    "{% macro w() %}{{ caller() }}{% endmacro %}{% call w() %}hi{% endcall %}",
    "{% filter upper %}hi{% endfilter %}",
])
def test_set_blocks_macros_call_and_filter_blocks_are_not_available(text: str) -> None:
    problem = tpl.template_problem(text)
    assert problem is not None and "not available" in problem[0], problem
    assert "{% set x = " in problem[1]


def test_a_plain_set_statement_still_works() -> None:
    text = "{% set greeting = name or '会员' %}{{ greeting }} 您好"
    assert tpl.template_problem(text) is None
    assert tpl.render(text, tpl.context_for({"name": "王"})) == "王 您好"


@pytest.mark.parametrize("error", [MemoryError, RecursionError])
def test_running_out_of_memory_or_stack_at_save_is_too_costly_not_saved(
        error: type[BaseException], monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(_text: str, _context: object) -> str:
        raise error()

    monkeypatch.setattr(tpl, "_bounded_render", explode)
    problem = tpl.template_problem("{{ name }}")
    assert problem is not None and problem[0].startswith("template too costly"), problem

"""Layers that mean what they say, checked on the source (ast, nothing imported).

The import graph counts every import: module level, inside functions, and under
``TYPE_CHECKING`` (a type-only import still ties two modules together for a reader).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "chalicelib"
DEV_ONLY = ("chalicelib.local", "chalicelib.cli")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, ast.Module]:
    return {_name(p): ast.parse(p.read_text(encoding="utf-8"), str(p))
            for p in sorted(PKG.rglob("*.py"))}


def imports(tree: ast.Module) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every absolute import in ``tree``."""
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out += [(node.module, a.name, node.lineno) for a in node.names]
    return out


def graph(mods: dict[str, ast.Module]) -> dict[str, set[str]]:
    """Edges between chalicelib modules; ``from pkg import mod`` points at the module."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, tree in mods.items():
        for target, name, _ in imports(tree):
            if name and f"{target}.{name}" in mods:
                edges[m].add(f"{target}.{name}")
            elif target in mods:
                edges[m].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


# --- the checks themselves are checked on small made-up graphs -------------------------------

def test_the_cycle_finder_sees_function_level_and_long_cycles() -> None:
    mods = {
        "chalicelib.a": ast.parse("def f():\n    from chalicelib import b\n"),
        "chalicelib.b": ast.parse("from chalicelib.c import x\n"),
        "chalicelib.c": ast.parse("import chalicelib.a\n"),
        "chalicelib.d": ast.parse("from chalicelib import a\n"),
    }
    assert cycles(graph(mods)) == [["chalicelib.a", "chalicelib.b", "chalicelib.c"]]
    mods["chalicelib.c"] = ast.parse("x = 1\n")
    assert cycles(graph(mods)) == []


def test_no_import_cycles_inside_chalicelib() -> None:
    found = cycles(graph(modules()))
    assert found == [], f"import cycles (module or function level): {found}"


def test_no_private_name_is_imported_from_another_module() -> None:
    bad = [f"{m}:{line} imports {name} from {target}"
           for m, tree in modules().items()
           for target, name, line in imports(tree)
           if name and name.startswith("_") and not name.startswith("__")
           and target.startswith("chalicelib") and target != m]
    assert bad == []


def test_importlib_and_pkgutil_only_in_the_developer_tools() -> None:
    bad = [f"{m}:{line} uses {target}" for m, tree in modules().items()
           if not m.startswith(DEV_ONLY)
           for target, _, line in imports(tree)
           if target.split(".")[0] in ("importlib", "pkgutil")]
    bad += [f"app.py:{line} uses {target}"
            for target, _, line in imports(ast.parse((ROOT / "app.py").read_text()))
            if target.split(".")[0] in ("importlib", "pkgutil")]
    assert bad == []


PYDANTIC = {"pydantic", "pydantic_core", "annotated_types", "typing_extensions"}
# Pure computation libraries the rules are written in (no I/O, no clients): the sandboxed
# template engine marketers' messages render with, the public-holiday calendar, the lunar
# calendar (festivals, solar terms) and the official working-day (调休) calendar.
PURE_LIBRARIES = {"jinja2": "sandboxed message templates", "holidays": "holiday calendar",
                  "lunar_python": "lunar calendar", "chinese_calendar": "working-day calendar"}


def _outside(tree: ast.Module, allowed: tuple[str, ...]) -> list[tuple[str, int]]:
    import sys

    return [(target, line) for target, _, line in imports(tree)
            if not target.startswith(allowed)
            and target.split(".")[0] not in {*sys.stdlib_module_names, *PYDANTIC,
                                              *PURE_LIBRARIES}]


def test_the_domain_imports_only_the_domain_the_standard_library_and_pydantic() -> None:
    """chalicelib.errors is the domain's vocabulary of failures (plain classes with a code;
    checked below to import nothing but the standard library)."""
    bad = [f"{m}:{line} imports {target}" for m, tree in modules().items()
           if m.startswith("chalicelib.domain")
           for target, line in _outside(tree, ("chalicelib.domain", "chalicelib.errors"))]
    assert bad == []
    assert _outside(modules()["chalicelib.errors"], ()) == []


def service_adapter_internals() -> list[str]:
    """Services importing boto3/botocore or the key layout (repositories own every key)."""
    return sorted(
        f"{m}:{line} imports {target}{'.' + name if name else ''}"
        for m, tree in modules().items() if m.startswith("chalicelib.services")
        for target, name, line in imports(tree)
        if target.split(".")[0] in ("boto3", "botocore")
        or target == "chalicelib.adapters.keys"
        or (target == "chalicelib.adapters" and name == "keys"))


def test_no_service_imports_boto3_botocore_or_the_key_module() -> None:
    found = service_adapter_internals()
    assert found == [], "services still reaching into adapter internals:\n" + "\n".join(found)


def test_services_are_wired_in_bootstrap_not_by_setters_or_singletons() -> None:
    """No ``use()`` setters and no module-global repository singletons in services: the
    composition root (chalicelib/bootstrap.py) builds the graph, services read it."""
    bad = []
    for m, tree in modules().items():
        if not m.startswith("chalicelib.services"):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "use":
                bad.append(f"{m}: def use()")
            if isinstance(node, ast.AnnAssign | ast.Assign):
                targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if any(n in ("_repo", "_state") for n in names):
                    bad.append(f"{m}: module-global {names}")
        for sub in ast.walk(tree):
            if isinstance(sub, ast.Global):
                bad.append(f"{m}:{sub.lineno} global {sub.names}")
    # clock is the one shared, deliberately process-wide helper (tests freeze time)
    assert [b for b in bad if not b.startswith("chalicelib.services.clock")] == []


# --- function length -------------------------------------------------------------------------

MAX_FUNCTION_LINES = 60
# Functions over the limit in files other refactors own (issue 12); each of those branches
# splits its own, then the lead empties this list. Nothing may be added to it.
LONG_FUNCTIONS_BEING_SPLIT: frozenset[str] = frozenset()  # empty: every function is split


def long_functions(tree: ast.Module, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function or method longer than ``limit`` lines, nested ones
    included; a decorator's lines do not count, the docstring's do."""
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno is not None and node.end_lineno - node.lineno + 1 > limit]


def test_the_length_check_counts_every_line_of_a_function_and_its_nested_ones() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(59))
    short = ast.parse(f"@decorator\ndef f():\n{body}")
    assert long_functions(short) == []
    longer = ast.parse(f"def f():\n{body}    x = 1\n")
    assert long_functions(longer) == [("f", 61)]
    nested = ast.parse("class C:\n    def m(self):\n        def inner():\n"
                       + body.replace("    ", "            ") + "            y = 1\n"
                       + "            z = 2\n")
    assert long_functions(nested) == [("m", 63), ("inner", 62)]


def test_no_function_in_chalicelib_or_app_is_longer_than_60_lines() -> None:
    paths = [ROOT / "app.py", *sorted(PKG.rglob("*.py"))]
    found = {f"{p.relative_to(ROOT).as_posix()}:{name}": lines for p in paths
             for name, lines in long_functions(ast.parse(p.read_text(encoding="utf-8")))}
    too_long = {k: v for k, v in found.items() if k not in LONG_FUNCTIONS_BEING_SPLIT}
    assert too_long == {}, f"functions over {MAX_FUNCTION_LINES} lines (split them): {too_long}"
    split = sorted(LONG_FUNCTIONS_BEING_SPLIT - set(found))
    assert split == [], f"split already: remove from LONG_FUNCTIONS_BEING_SPLIT: {split}"

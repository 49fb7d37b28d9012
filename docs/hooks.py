"""mkdocs hooks: the pages that are generated from the code, at build time, so they cannot drift.

- ``<!-- generated: key-table -->`` becomes the key layout table of
  ``chalicelib/adapters/keys.py``'s module docstring (the one place every key is built);
- ``<!-- generated: openapi -->`` becomes a reference of every operation of
  ``infra/openapi.json`` (the contract ``make openapi`` writes and a test keeps fresh);
- ``<!-- generated: field-table -->`` becomes the README's "who may set which field" table (issue
  10 keeps it in the README's auth section; this page shows the same table, never a copy);
- ``<!-- include: PATH -->`` becomes that repository file (``bench/RESULTS.md``), headings one
  level down so they sit under the page's title.

Plain functions of text, no mkdocs import outside the hook, so tests/unit/test_docs.py checks
them without building the site.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEYS = ROOT / "chalicelib" / "adapters" / "keys.py"
OPENAPI = ROOT / "infra" / "openapi.json"
MARKER = re.compile(r"<!--\s*(generated|include):\s*(\S+)\s*-->")
METHODS = ("get", "post", "put", "patch", "delete")


def key_layout(source: str) -> list[str]:
    """The layout table of keys.py's docstring: its indented lines, header first."""
    doc = ast.get_docstring(ast.parse(source)) or ""
    rows = [line for line in doc.splitlines() if line.startswith("    ") and line.strip()]
    if not rows or not rows[0].split()[:2] == ["PK", "SK"]:
        raise ValueError("keys.py's docstring has no layout table headed 'PK  SK ...'")
    return rows


def _cells(line: str, starts: list[int]) -> list[str]:
    """A fixed-width row's cells: runs of text separated by two or more blanks, each in the
    column whose start it begins at (give or take two characters, as the table is typed by
    hand); a run that crosses a column start exactly at a blank, outside a parenthesised note,
    is two cells."""
    cells = [""] * len(starts)
    for m in re.finditer(r"\S+(?: \S+)*", line):
        cuts = [m.start()] + [s for s in starts if m.start() < s < m.end()
                              and line[s - 1] == " " and line[s] != " "
                              and line.count("(", m.start(), s) == line.count(")", m.start(), s)
                              ] + [m.end()]
        for a, b in itertools.pairwise(cuts):
            col = max(i for i, s in enumerate(starts) if s <= a + 2 or i == 0)
            cells[col] = f"{cells[col]} {line[a:b].strip()}".strip()
    return cells


def key_table(source: str) -> str:
    """keys.py's layout table as a markdown table (PK, SK, GSI1, GSI2)."""
    rows = key_layout(source)
    header = rows[0]
    starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", header)]
    names = [header[s:].split("  ")[0].strip() for s in starts]
    out = ["| " + " | ".join(names) + " |", "|" + " --- |" * len(names)]
    for row in rows[1:]:
        cells = [c.replace("|", "\\|") for c in _cells(row, starts)]
        out.append("| " + " | ".join(f"`{c}`" if c and c != "-" else c for c in cells) + " |")
    return "\n".join(out) + "\n"


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[1]}`"
    if schema.get("type") == "array":
        return f"array of {_schema_name(schema.get('items', {}))}"
    return f"`{schema.get('type', 'object')}`"


def _one_line(text: str) -> str:
    return " ".join(text.replace("``", "`").split()).replace("|", "\\|")


def openapi_reference(spec: dict[str, Any]) -> str:
    """Every operation: roles, parameters, body, responses; grouped by path."""
    out: list[str] = []
    for path in sorted(spec["paths"]):
        for method in METHODS:
            op = spec["paths"][path].get(method)
            if op is None:
                continue
            roles = ", ".join(f"`{r}`" for r in op.get("x-roles", [])) or "public"
            out += [f"## {method.upper()} {path}", "", _one_line(op.get("summary", "")), "",
                    f"Roles: {roles}.", ""]
            params = op.get("parameters", [])
            if params:
                out += ["| parameter | in | required | description |", "| --- | --- | --- | --- |"]
                out += [f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} "
                        f"| {_one_line(p.get('description', ''))} |" for p in params]
                out.append("")
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
            if body:
                out += [f"Body: {_schema_name(body['schema'])}.", ""]
            statuses = []
            for status, resp in op.get("responses", {}).items():
                content = (resp.get("content") or {}).get("application/json")
                statuses.append(f"{status} {_schema_name(content['schema'])}" if content
                                else status)
            out += ["Responses: " + ", ".join(statuses) + ".", ""]
    return "\n".join(out)


def field_table(readme: str) -> str:
    """The README's table of who may set each profile field."""
    start = readme.index("| field | who may set |")
    end = readme.find("\n\n", start)
    return readme[start:end if end >= 0 else None] + "\n"


def include(path: Path) -> str:
    """A repository markdown file, its headings one level down."""
    out, fence = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fence = not fence
        out.append("#" + line if not fence and re.match(r"^#{1,5} ", line) else line)
    return "\n".join(out) + "\n"


def expand(markdown: str, root: Path = ROOT) -> str:
    """``markdown`` with every generated/include marker replaced."""
    def one(m: re.Match[str]) -> str:
        kind, what = m.group(1), m.group(2)
        if kind == "include":
            return include(root / what)
        if what == "key-table":
            return key_table((root / "chalicelib" / "adapters" / "keys.py").read_text())
        if what == "field-table":
            return field_table((root / "README.md").read_text(encoding="utf-8"))
        if what == "openapi":
            return openapi_reference(json.loads((root / "infra" / "openapi.json").read_text()))
        raise ValueError(f"unknown generated block {what!r}")

    return MARKER.sub(one, markdown)


def on_page_markdown(markdown: str, **_: Any) -> str:  # mkdocs hook
    return expand(markdown)

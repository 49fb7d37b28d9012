"""The docs site's generated parts (docs/hooks.py) come from the code, so they cannot drift:
the key table from keys.py's docstring, the API reference from infra/openapi.json, the
README's field table on the auth page, bench/RESULTS.md on the evidence page. The strict
build itself (broken links and anchors) is `make docs`, a CI step."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _hooks():
    spec = importlib.util.spec_from_file_location("perks_docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


hooks = _hooks()
KEYS_SOURCE = (ROOT / "chalicelib" / "adapters" / "keys.py").read_text()


def test_the_key_table_has_a_row_for_every_row_of_the_keys_docstring():
    layout = hooks.key_layout(KEYS_SOURCE)
    table = hooks.key_table(KEYS_SOURCE).splitlines()
    assert table[0] == "| PK | SK | GSI1 (PK / SK) | GSI2 (PK / SK) |"
    assert len(table) == len(layout) + 1  # header, separator, one row per layout row
    for prefix in ("MEMBER#<id>", "TEMPLATE#<id>", "CAMPAIGN#<id>", "REQUEST#<scoped-key-hash>",
                   "CATALOG#CAMPAIGN / <id>", "OUTBOX#PENDING#<shard>", "LASTORDER#<date>"):
        assert prefix in "\n".join(table), prefix


def test_the_key_table_follows_a_change_to_the_docstring():
    changed = KEYS_SOURCE.replace(
        "    SCHEDULER                  CURSOR",
        "    SALE#<day>#<shard>" + " " * 9 + "ORDERS" + " " * 22 + "-" + " " * 35 + "-\n"
        "    SCHEDULER                  CURSOR", 1)
    assert "| `SALE#<day>#<shard>` | `ORDERS` | - | - |" in hooks.key_table(changed)


def test_every_prefix_keys_py_builds_appears_in_its_layout_table():
    """A key prefix constant added to keys.py without a row in the docstring table would be
    missing from the docs: the table and the code must move together."""
    layout = "\n".join(hooks.key_layout(KEYS_SOURCE))
    prefixes = re.findall(r'^[A-Z_]+ = "([A-Z]+#)"$', KEYS_SOURCE, re.M)
    assert prefixes
    assert not [p for p in prefixes if p not in layout]


def test_the_api_reference_lists_every_operation_with_its_roles():
    spec = json.loads((ROOT / "infra" / "openapi.json").read_text())
    page = hooks.openapi_reference(spec)
    for path, item in spec["paths"].items():
        for method in hooks.METHODS:
            if method in item:
                heading = f"## {method.upper()} {path}"
                assert heading in page
                roles = item[method].get("x-roles") or []
                section = page.split(heading, 1)[1].split("\n## ", 1)[0]
                assert all(f"`{r}`" in section for r in roles), heading


def test_the_markers_expand_on_the_pages_that_carry_them():
    for page, marker, expect in [
            ("data-model.md", "<!-- generated: key-table -->", "| PK | SK |"),
            ("api-reference.md", "<!-- generated: openapi -->", "## GET /me"),
            ("auth.md", "<!-- generated: field-table -->", "| field | who may set | why |"),
            ("evidence.md", "<!-- include: bench/RESULTS.md -->", "## Benchmark results")]:
        text = (ROOT / "docs" / page).read_text()
        assert marker in text, page
        out = hooks.expand(text)
        assert expect in out and marker not in out, page

"""Segments: named, versioned audience expressions that campaigns reference. Pure.

A segment file (``campaigns/segments/<slug>.json``)::

    {"$schema": "./schema.json", "slug": "lapsing-high-value",
     "title": {"zh": "高价值流失预警", "en": "Lapsing high-value members"},
     "description": "...", "owner": "crm-team", "audience": {...}}

A campaign (or another segment) writes ``{"segment": "lapsing-high-value"}`` anywhere a
condition may stand, combined with all/any/not like any condition.

Pinning: ``resolve`` replaces each reference by ``{"segment": slug, "version": n,
"audience": <the segment's expression at n, itself resolved>}``. The campaign service does
this when a campaign is saved (API or ``perks campaigns sync``), so the stored campaign
version carries the exact expression it was published with: editing a segment never changes
a live campaign behind the marketer's back; saving the campaign again (or syncing it) re-pins
the segment's current version, and that shows up as a new campaign version with a diff.
References form a graph; a cycle (a → b → a) or an unknown slug is an error with its path
(and a did-you-mean for a near slug).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import Field, ValidationError

from chalicelib.domain.campaigns.audience import SEGMENT_SLUG_MAX, check_audience, valid_slug
from chalicelib.domain.models import Strict
from chalicelib.errors import ValidationFailed

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class Title(Strict):
    zh: Annotated[str, Field(min_length=1, max_length=60)]
    en: Annotated[str, Field(min_length=1, max_length=80)] | None = None


class Segment(Strict):
    """A named audience. ``version`` is assigned by the store (absent in files)."""

    schema_: str | None = Field(default=None, alias="$schema")
    slug: Annotated[str, Field(pattern=SLUG_PATTERN, max_length=SEGMENT_SLUG_MAX)]
    title: Title
    description: Annotated[str, Field(max_length=1000)] = ""
    owner: Annotated[str, Field(min_length=1, max_length=80)]
    audience: dict[str, Any]
    version: Annotated[int, Field(ge=1)] | None = None

    def document(self) -> dict[str, Any]:
        """The canonical stored form (no ``$schema``, no ``version``)."""
        return self.model_dump(mode="json", by_alias=True, exclude={"schema_", "version"},
                               exclude_none=True)


Lookup = Callable[[str], Segment | None]


def parse_segment(data: Any, slug: str | None = None) -> Segment:
    """A checked segment; ValidationFailed lists every problem with its JSON path."""
    if not isinstance(data, dict):
        raise ValidationFailed("a segment must be a JSON object",
                               details=[{"path": "/", "message": "expected an object"}])
    errors: list[dict[str, str]] = []
    try:
        seg = Segment.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            path = "/" + "/".join(str(p) for p in err["loc"])
            errors.append({"path": path, "message": err["msg"], "hint": ""})
        seg = None
    if isinstance(data.get("audience"), dict):
        errors.extend(check_audience(data["audience"]))
    elif "audience" in data:
        errors.append({"path": "/audience", "message": "a segment's audience is an object",
                       "hint": 'e.g. {"all": [...]}'})
    if slug is not None and data.get("slug") != slug:
        errors.append({"path": "/slug", "message": f"must be '{slug}'",
                       "hint": "the slug is fixed by the URL (or the file name)"})
    if errors or seg is None:
        raise ValidationFailed("the segment is invalid", details=errors)
    return seg


def references(tree: Any) -> set[str]:
    """Slugs referenced directly by an audience tree (not those inside pinned snapshots)."""
    out: set[str] = set()
    if isinstance(tree, dict):
        if "segment" in tree:
            out.add(str(tree["segment"]))
        for key in ("all", "any"):
            children = tree.get(key)
            for child in children if isinstance(children, list) else []:
                out |= references(child)
        if "not" in tree:
            out |= references(tree["not"])
    return out


def resolve(tree: Any, lookup: Lookup, known: Callable[[], Iterable[str]],
            path: str = "/audience", within: str | None = None) -> Any:
    """``tree`` with every segment reference pinned to its current version and expression
    (recursively); ValidationFailed on an unknown slug (did-you-mean) or a cycle.
    ``within``: the slug of the segment ``tree`` defines (a reference back to it is a cycle)."""
    if tree is None:
        return None
    out = _resolve(tree, lookup, known, path, (within,) if within else ())
    problems = check_audience(out, path)
    if problems:
        raise ValidationFailed("the audience with its segments is invalid", details=problems)
    return out


def _resolve(node: Any, lookup: Lookup, known: Callable[[], Iterable[str]], path: str,
             stack: tuple[str, ...]) -> Any:
    if not isinstance(node, dict):
        return node
    for key in ("all", "any"):
        if key in node and isinstance(node[key], list):
            return {key: [_resolve(c, lookup, known, f"{path}/{key}/{i}", stack)
                          for i, c in enumerate(node[key])]}
    if "not" in node:
        return {"not": _resolve(node["not"], lookup, known, f"{path}/not", stack)}
    if "segment" not in node or not valid_slug(node["segment"]):
        return node
    slug = node["segment"]
    if slug in stack:
        cycle = " → ".join((*stack[stack.index(slug):], slug))
        raise ValidationFailed("segments reference each other in a cycle", details=[
            {"path": f"{path}/segment", "message": f"cycle: {cycle}",
             "hint": "a segment cannot include itself, directly or through others"}])
    seg = lookup(slug)
    if seg is None:
        raise ValidationFailed(f"unknown segment '{slug}'", details=[
            {"path": f"{path}/segment", "message": f"no segment '{slug}'",
             "hint": suggest(slug, known())}])
    inner = _resolve(seg.audience, lookup, known, f"{path}/audience", (*stack, slug))
    return {"segment": slug, "version": seg.version or 1, "audience": inner}


def suggest(slug: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(slug, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return ("known: " + ", ".join(names[:20])) if names else "no segments are defined yet"


def unpinned(tree: Any) -> Any:
    """``tree`` as written by hand: pinned references back to ``{"segment": slug}``."""
    if not isinstance(tree, dict):
        return tree
    for key in ("all", "any"):
        if key in tree and isinstance(tree[key], list):
            return {key: [unpinned(c) for c in tree[key]]}
    if "not" in tree:
        return {"not": unpinned(tree["not"])}
    if "segment" in tree:
        return {"segment": tree["segment"]}
    return tree


def pins(tree: Any) -> dict[str, int]:
    """slug → pinned version for every reference in a resolved tree (nested ones too)."""
    out: dict[str, int] = {}
    if isinstance(tree, dict):
        for key in ("all", "any"):
            children = tree.get(key)
            for child in children if isinstance(children, list) else []:
                out.update(pins(child))
        if "not" in tree:
            out.update(pins(tree["not"]))
        if "segment" in tree and isinstance(tree.get("version"), int):
            out[str(tree["segment"])] = tree["version"]
            out.update(pins(tree.get("audience")))
    return out

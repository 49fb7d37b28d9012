"""Message placeholders: ``{{ name }}``, ``{{ points.available }}``, ``{{ coupon.title }}``.

Rendered by jinja2's SandboxedEnvironment (no attribute access to Python internals, no
file system), compiled once per distinct text. A placeholder the member has no value for
renders as an empty string, so a send never fails on a missing field; the linter warns
about placeholders that are not in ``PLACEHOLDERS`` so typos are caught before launch.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import nodes, pass_context
from jinja2.runtime import Context
from jinja2.visitor import NodeTransformer

from chalicelib.domain.campaigns.model import Content, Message

if TYPE_CHECKING:  # the sandbox is imported with the first render
    from jinja2 import Template
    from jinja2.sandbox import ImmutableSandboxedEnvironment

PLACEHOLDERS: dict[str, str] = {
    "name": "the member's name (empty when unknown; try {{ name or '会员' }})",
    "member_id": "the member id",
    "tier": "loyalty tier id, e.g. gold",
    "points.available": "spendable points",
    "points.expiring": "points that expire next",
    "points.expiring_at": "the last day before they expire (e.g. 31 Dec 2026)",
    "coupon.title": "title of the coupon this campaign issued",
    "coupon.expires_at": "the last day that coupon can be used (e.g. 2026年12月31日)",
    "coupon.code": "the coupon's code, for code-based templates",
    "coupon.value": "face value in fen (try {{ coupon.value | money }})",
    "order.total": "order total in fen (order events; try {{ order.total | money }})",
    "order.points": "points the order earned (order events)",
    "campaign.name": "the campaign's name",
}
COUPON_PLACEHOLDERS = frozenset(p for p in PLACEHOLDERS if p.startswith("coupon."))
ORDER_PLACEHOLDERS = frozenset(p for p in PLACEHOLDERS if p.startswith("order."))


def _money(value: object, symbol: str = "¥") -> str:
    """12345 (fen) → '¥123.45'; whole yuan drop the decimals: 500 → '¥5'."""
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    sign = "-" if value < 0 else ""
    yuan, fen = divmod(abs(value), 100)
    return f"{sign}{symbol}{yuan}" + (f".{fen:02d}" if fen else "")


DEFAULT_TZ = "Asia/Shanghai"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Expiry instants shown as dates in the member's timezone and the message's locale.
DATE_PLACEHOLDERS = (("coupon", "expires_at"), ("points", "expiring_at"))


def display_date(value: object, tz: str | None, locale: str | None) -> str:
    """An expiry instant as the last day it still holds, in ``tz``: zh/ja '2026年12月31日',
    en '31 Dec 2026', others '2026-12-31'. Expiries are exclusive ends (a coupon valid until
    2027-01-01T00:00+08:00 can be used all of 31 December), hence the microsecond back.
    A date without a time is shown as that day; text that is no ISO date is kept as is."""
    if not value:
        return ""
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if dt.tzinfo is None:
        day = dt.date()
    else:
        try:
            zone = ZoneInfo(tz or DEFAULT_TZ)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(DEFAULT_TZ)
        day = (dt - timedelta(microseconds=1)).astimezone(zone).date()
    lang = (locale or "").split("-")[0].lower()
    if lang in ("zh", "ja"):
        return f"{day.year}年{day.month}月{day.day}日"
    if lang == "en":
        return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
    return day.isoformat()


@pass_context
def _date(ctx: Context, value: object) -> str:
    """``{{ x | date }}``: ``display_date`` in the member's timezone and message locale."""
    return display_date(value, ctx.get("_tz"), ctx.get("_locale"))


def _localized(context: Mapping[str, object]) -> dict[str, object]:
    """The context with its expiry instants as dates the member reads: the same text with
    or without ``| date``."""
    out = dict(context)
    tz, locale = context.get("_tz"), context.get("_locale")
    for group, key in DATE_PLACEHOLDERS:
        values = context.get(group)
        if isinstance(values, Mapping) and values.get(key):
            out[group] = {**values, key: display_date(
                values[key], tz if isinstance(tz, str) else None,
                locale if isinstance(locale, str) else None)}
    return out


# --- resource limits ---------------------------------------------------------------------
# A marketer's template runs once per member, so it is bounded in size and time wherever it
# runs (delivery, preview, the save-time check): every value a template builds (repetition,
# '+', '~') and the output are at most MAX_OUTPUT characters; loops, calls and operators are
# at most MAX_STEPS, range() at most MAX_RANGE items, and a render stops after TIME_LIMIT.
# Only filters and str methods that cannot amplify their input are available.
# Text captured by a block ({% set x %}…{% endset %}, macros, {% call %}, {% filter %},
# self.block()) is joined by the environment's concat, which is bounded the same way; those
# blocks are refused at save anyway (no sample campaign needs them, and each is a way to
# double text per level: 13 nested set blocks built 163 MB from a 9,999-character start).
MAX_OUTPUT = 10_000
MAX_STEPS = 10_000
MAX_RANGE = 1_000
MAX_POWER = 64
TIME_LIMIT = 0.1  # seconds of this thread's CPU per render (a busy neighbour does not count)
# Every piece of text a render emits, wherever it goes: the output, or a buffer a block or
# macro joins later. Twice the output limit, as a block's text is emitted again where it is
# used; a template within MAX_OUTPUT never comes near it.
MAX_EMITTED = 2 * MAX_OUTPUT
LIMITS_HINT = (f"keep messages short: at most {MAX_OUTPUT:,} characters, range() of at most "
               f"{MAX_RANGE:,}, loops and calls of at most {MAX_STEPS:,} steps in all")
FILTERS = ("abs", "capitalize", "count", "d", "default", "e", "escape", "first", "int",
           "last", "length", "lower", "round", "string", "title", "trim", "truncate", "upper")
METHODS = frozenset({"upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize",
                     "startswith", "endswith", "get"})


class RenderLimit(Exception):
    """A template went over its size, step or time budget."""


@dataclass
class _Budget:
    deadline: float
    steps: int = 0
    emitted: int = 0


_BUDGET: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


def _tick() -> None:
    b = _BUDGET.get()
    if b is None:
        return
    b.steps += 1
    if b.steps > MAX_STEPS:
        raise RenderLimit(f"more than {MAX_STEPS:,} steps")
    if time.thread_time() > b.deadline:
        raise RenderLimit(f"longer than {TIME_LIMIT * 1000:.0f} ms")


def _sized[T](value: T) -> T:
    """Raise when a value a template built is larger than any message may be."""
    _tick()
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_OUTPUT:
        raise RenderLimit(f"a value of more than {MAX_OUTPUT:,} characters")
    if isinstance(value, int) and value.bit_length() > 256:
        raise RenderLimit("a number too large")
    return value


def _emit[T](value: T) -> T:
    """Count text on its way out (to the output or into a block's buffer)."""
    b = _BUDGET.get()
    if b is not None:
        b.emitted += len(value) if isinstance(value, str) else len(str(value))
        if b.emitted > MAX_EMITTED:
            raise RenderLimit(f"more than {MAX_EMITTED:,} characters of text emitted")
    return value


def _bounded_concat(chunks: Iterable[str]) -> str:
    """``environment.concat`` for captured blocks: stops once they pass MAX_OUTPUT."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        _tick()
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise RenderLimit(f"a block of more than {MAX_OUTPUT:,} characters")
        out.append(chunk)
    return "".join(out)


# Block statements that capture text; refused at save (see the resource limits above).
BLOCKS: dict[type[nodes.Node], str] = {nodes.AssignBlock: "{% set %}…{% endset %} blocks are",
                           nodes.Macro: "{% macro %} is", nodes.CallBlock: "{% call %} is",
                           nodes.FilterBlock: "{% filter %} blocks are"}
BLOCKS_HINT = ("use placeholders, {% if %}, {% for %} and {% set x = … %}; "
               "set blocks, macros, call and filter blocks are not available")


def _forbidden_block(tree: nodes.Node) -> str | None:
    for node in tree.find_all(tuple(BLOCKS)):
        return f"{BLOCKS[type(node)]} not available"
    return None


def _loop[T](iterable: Iterable[T]) -> Iterator[T]:
    """Every loop iteration spends a step (nested loops multiply: 1,000 x 1,000 stops)."""
    for item in iterable:
        _tick()
        yield item


def _range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise RenderLimit(f"range() of more than {MAX_RANGE:,} items")
    return r


def _length(value: object) -> int | None:
    return len(value) if isinstance(value, (str, list, tuple)) else None


class _Guard(NodeTransformer):
    """Route every loop, every '~' concatenation and all emitted text through the budget."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_loop", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        # Blocks buffer their text before joining it, so it is counted as it is emitted.
        self.generic_visit(node)
        node.nodes = [nodes.Filter(nodes.Const(n.data) if isinstance(n, nodes.TemplateData)
                                   else n, "_emit", [], [], None, None, lineno=n.lineno)
                      for n in node.nodes]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(node, "_sized", [], [], None, None, lineno=node.lineno)


@lru_cache(maxsize=1)
def _env() -> ImmutableSandboxedEnvironment:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Bounded(ImmutableSandboxedEnvironment):
        # Intercepted operators are also never constant-folded at compile time, so
        # ('x'*10000000)*20 is refused when it runs instead of being built while compiling.
        intercepted_binops = frozenset({"*", "**", "+", "%", "//"})
        concat = staticmethod(_bounded_concat)

        def call_binop(self, context: Context, operator: str, left: object, right: object
                       ) -> object:
            _tick()
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    size = _length(seq)
                    if size is not None and isinstance(n, int) and size * n > MAX_OUTPUT:
                        raise RenderLimit(f"repeats text to more than {MAX_OUTPUT:,} "
                                          "characters")
            if operator == "**" and isinstance(right, (int, float)) and right > MAX_POWER:
                raise RenderLimit(f"a power above {MAX_POWER}")
            if operator == "%" and isinstance(left, str):
                raise RenderLimit("'%' formatting of text is not available")
            return _sized(super().call_binop(context, operator, left, right))

        def call(__self, __context: Context, __obj: object, *args: object,
                 **kwargs: object) -> object:
            _tick()
            for a in (*args, *kwargs.values()):
                _sized(a)
            return _sized(super().call(__context, __obj, *args, **kwargs))

        def is_safe_attribute(self, obj: object, attr: str, value: object) -> bool:
            if callable(value) and attr not in METHODS:
                return False  # str.ljust(10**9), str.replace, .format...: amplifiers
            return bool(super().is_safe_attribute(obj, attr, value))

    env = Bounded(autoescape=False, keep_trailing_newline=True)
    env.filters = {k: v for k, v in env.filters.items() if k in FILTERS}
    env.filters["money"] = _money
    env.filters["date"] = _date
    env.filters["_loop"] = _loop
    env.filters["_sized"] = _sized
    env.filters["_emit"] = _emit
    env.globals = {"range": _range}
    return env


@lru_cache(maxsize=512)
def _compiled(text: str) -> Template:
    env = _env()
    return env.from_string(_Guard().visit(env.parse(text)))


SAMPLE_CONTEXT: dict[str, object] = {
    "name": "王小明", "member_id": "m-1", "tier": "gold",
    "points": {"available": 1200, "expiring": 300, "expiring_at": "2026-12-31T16:00:00Z"},
    "coupon": {"title": "满100减20", "expires_at": "2026-12-31T16:00:00Z", "code": "ABCD2345",
               "value": 2000},
    "order": {"total": 12345, "points": 123}, "campaign": {"name": "生日礼"},
    "_tz": DEFAULT_TZ, "_locale": "zh-CN",
}


def template_problem(text: str) -> tuple[str, str] | None:
    """(message, hint) when a template cannot be saved: bad syntax, an unknown filter, or a
    render of a sample member over the limits (also constant blow-ups in any branch)."""
    from jinja2 import TemplateError, TemplateSyntaxError
    from jinja2.exceptions import SecurityError

    syntax_hint = "placeholders look like {{ name }}; the list: docs/campaigns.md, Placeholders"
    try:
        tree = _env().parse(text)
    except TemplateSyntaxError as e:
        return f"template error: {e.message}", syntax_hint
    except (RecursionError, MemoryError):
        return "template error: nested too deeply", syntax_hint
    block = _forbidden_block(tree)
    if block:
        return f"template error: {block}", BLOCKS_HINT
    static = _static_limit(tree)
    if static:
        return f"template too costly: {static}", LIMITS_HINT
    try:
        _compiled(text)
    except TemplateError as e:
        return f"template error: {e.message}", "filters: " + ", ".join(
            ("money", "date", *FILTERS))
    except (RecursionError, MemoryError):
        return "template too costly: too large to compile", LIMITS_HINT
    try:
        _bounded_render(text, SAMPLE_CONTEXT)
    except RenderLimit as e:
        return f"template too costly: {e}", LIMITS_HINT
    except MemoryError:  # never a sample member's missing field: the template is too big
        return "template too costly: out of memory", LIMITS_HINT
    except RecursionError:
        return "template too costly: recursion too deep", LIMITS_HINT
    except SecurityError as e:
        return f"template error: {e}", "methods: " + ", ".join(sorted(METHODS))
    except Exception:  # a sample member may lack what a branch needs: not a limit
        return None
    return None


def _static_limit(tree: nodes.Node) -> str | None:
    """Constant blow-ups a sample render may not reach (they may sit in an unused branch)."""
    for node in tree.find_all((nodes.Mul, nodes.Pow, nodes.Call)):
        consts = [n.value for n in node.find_all(nodes.Const)
                  if isinstance(n.value, int) and not isinstance(n.value, bool)]
        if isinstance(node, nodes.Mul) and any(v > MAX_OUTPUT for v in consts):
            return f"repeats text more than {MAX_OUTPUT:,} times"
        if isinstance(node, nodes.Pow) and isinstance(node.right, nodes.Const) \
                and isinstance(node.right.value, (int, float)) and node.right.value > MAX_POWER:
            return f"a power above {MAX_POWER}"
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) \
                and node.node.name == "range" and any(v > MAX_RANGE for v in consts):
            return f"range() of more than {MAX_RANGE:,} items"
    depth = _loop_depth(tree)
    if depth > 2:
        return f"{depth} nested loops (at most 2)"
    return None


def _loop_depth(node: nodes.Node) -> int:
    inner = max((_loop_depth(child) for child in node.iter_child_nodes()), default=0)
    return inner + 1 if isinstance(node, nodes.For) else inner


def syntax_error(text: str) -> str | None:
    """What is wrong with a template, or None (see ``template_problem``)."""
    found = template_problem(text)
    return found[0] if found else None


def _bounded_render(text: str, context: Mapping[str, object]) -> str:
    """Render within the budget; the output is collected chunk by chunk and stops at
    MAX_OUTPUT characters, so nothing larger is ever built."""
    token = _BUDGET.set(_Budget(deadline=time.thread_time() + TIME_LIMIT))
    try:
        out: list[str] = []
        size = 0
        for chunk in _compiled(text).generate(**_localized(context)):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise RenderLimit(f"more than {MAX_OUTPUT:,} characters of output")
            _tick()
            out.append(chunk)
        return "".join(out)
    finally:
        _BUDGET.reset(token)


def placeholders(text: str) -> set[str]:
    """Dotted names a template reads, e.g. {'name', 'points.available'}."""
    from jinja2 import nodes

    try:
        tree = _env().parse(text)
    except Exception:  # syntax errors are reported by syntax_error
        return set()
    out: set[str] = set()
    inner: set[int] = set()
    for attr in tree.find_all(nodes.Getattr):
        if isinstance(attr.node, nodes.Getattr):
            inner.add(id(attr.node))
    for node in tree.find_all((nodes.Getattr, nodes.Name)):
        if id(node) in inner:
            continue
        parts: list[str] = []
        cur: nodes.Node = node
        while isinstance(cur, nodes.Getattr):
            parts.append(cur.attr)
            cur = cur.node
        if isinstance(cur, nodes.Name) and cur.ctx == "load":
            parts.append(cur.name)
            out.add(".".join(reversed(parts)))
    # Names that are only the root of a dotted path are not placeholders on their own.
    roots = {p.split(".")[0] for p in out if "." in p}
    return {p for p in out if "." in p or p not in roots}


def render(text: str, context: Mapping[str, object]) -> str:
    """Render one template in the sandbox; errors render the text without placeholders."""
    from jinja2 import TemplateError

    try:
        return _bounded_render(text, context)
    except (TemplateError, TypeError, ValueError, ArithmeticError, RecursionError,
            RenderLimit, MemoryError):
        return text.split("{{")[0].split("{%")[0].strip()[:MAX_OUTPUT]


def pick_content(message: Message, locale: str | None) -> tuple[str, Content]:
    """The member's locale, else the same language ('zh-TW' → 'zh-CN'), else the fallback,
    else the first content given."""
    contents = message.content
    if locale in contents:
        return locale, contents[locale]
    if locale:
        lang = locale.split("-")[0].lower()
        for key, content in contents.items():
            if key.split("-")[0].lower() == lang:
                return key, content
    if message.fallback in contents:
        return message.fallback, contents[message.fallback]
    key = next(iter(contents))
    return key, contents[key]


def render_message(message: Message, locale: str | None, context: Mapping[str, object]
                   ) -> dict[str, Any]:
    """{locale, title, body, deep_link} for one member."""
    used, content = pick_content(message, locale)
    context = {**context, "_locale": used}  # dates follow the language of the text
    out: dict[str, Any] = {"locale": used, "title": render(content.title, context),
                           "body": render(content.body, context)}
    if content.deep_link:
        out["deep_link"] = render(content.deep_link, context)
    if "email" in message.channels:
        out["email"] = render_email(content, context)
    return out


# --- email: a subject and two bodies ------------------------------------------------------

MAX_SUBJECT = 200


def html_escaped(value: Any) -> Any:
    """``value`` with every string in it HTML-escaped (the context of an html template: a
    member's name ``<b>`` shows as text). Keys starting with ``_`` (how dates are shown) are
    kept as they are."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, Mapping):
        return {k: v if str(k).startswith("_") else html_escaped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [html_escaped(v) for v in value]
    return value


def text_as_html(text: str) -> str:
    """Plain text as an HTML fragment: escaped, one ``<br>`` per line break."""
    return "<br>\n".join(html.escape(line, quote=True) for line in text.split("\n"))


def render_email(content: Content, context: Mapping[str, Any]) -> dict[str, str]:
    """{subject, text, html} for one member: the content's ``email`` texts, else its title
    (subject) and body (text, and html made from it). The html template renders with an
    HTML-escaped context; the subject is one line of at most MAX_SUBJECT characters."""
    e = content.email
    subject = " ".join(render(e.subject if e else content.title, context).split())
    text = render(e.text if e and e.text else content.body, context)
    body = render(e.html, html_escaped(context)) if e and e.html else text_as_html(text)
    return {"subject": subject[:MAX_SUBJECT], "text": text, "html": body}


def context_for(profile: Mapping[str, object], loyalty: Mapping[str, object] | None = None,
                *, coupon: Mapping[str, object] | None = None,
                order: Mapping[str, object] | None = None,
                expiring: Mapping[str, object] | None = None, campaign_name: str = "",
                tz: str | None = None) -> dict[str, object]:
    """The placeholder values for a member: PROFILE and LOYALTY items (``points`` is the
    available balance there), the coupon just issued, the order of an order event, and
    ``expiring`` = {"points", "at"} for points_expiring events."""
    loyalty = loyalty or {}
    raw = loyalty.get("points")
    available = raw if isinstance(raw, int) and not isinstance(raw, bool) else (
        raw.get("available") if isinstance(raw, Mapping) else loyalty.get("points_available"))
    expiring = expiring or {}
    return {
        "name": profile.get("name") or "",
        "member_id": profile.get("member_id", ""),
        "tier": loyalty.get("tier") or "",
        "points": {"available": available if available is not None else 0,
                   "expiring": expiring.get("points"), "expiring_at": expiring.get("at")},
        "coupon": dict(coupon or {}),
        "order": dict(order or {}),
        "campaign": {"name": campaign_name},
        # how dates are shown (not placeholders): the member's timezone, and their locale
        # until render_message picks the content's
        "_tz": tz or profile.get("timezone") or DEFAULT_TZ, "_locale": profile.get("locale"),
    }

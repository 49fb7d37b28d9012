"""Message placeholders: ``{{ name }}``, ``{{ points.available }}``, ``{{ coupon.title }}``.

Rendered by jinja2's SandboxedEnvironment (no attribute access to Python internals, no
file system), compiled once per distinct text. A placeholder the member has no value for
renders as an empty string, so a send never fails on a missing field; the linter warns
about placeholders that are not in ``PLACEHOLDERS`` so typos are caught before launch.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import pass_context

from chalicelib.domain.campaigns.model import Content, Message

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


def _money(value: Any, symbol: str = "¥") -> str:
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


def display_date(value: Any, tz: str | None, locale: str | None) -> str:
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
def _date(ctx: Any, value: Any) -> str:
    """``{{ x | date }}``: ``display_date`` in the member's timezone and message locale."""
    return display_date(value, ctx.get("_tz"), ctx.get("_locale"))


def _localized(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context with its expiry instants as dates the member reads: the same text with
    or without ``| date``."""
    out = dict(context)
    for group, key in DATE_PLACEHOLDERS:
        values = context.get(group)
        if isinstance(values, Mapping) and values.get(key):
            out[group] = {**values, key: display_date(values[key], context.get("_tz"),
                                                      context.get("_locale"))}
    return out


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
    env.filters["money"] = _money
    env.filters["date"] = _date
    return env


@lru_cache(maxsize=512)
def _compiled(text: str) -> Any:
    return _env().from_string(text)


def syntax_error(text: str) -> str | None:
    """What is wrong with a template's syntax, or None."""
    from jinja2 import TemplateSyntaxError

    try:
        _env().parse(text)
    except TemplateSyntaxError as e:
        return f"template error: {e.message}"
    except (RecursionError, MemoryError):
        return "template error: nested too deeply"
    return None


def placeholders(text: str) -> set[str]:
    """Dotted names a template reads, e.g. {'name', 'points.available'}."""
    from jinja2 import nodes

    try:
        tree = _env().parse(text)
    except Exception:  # syntax errors are reported by syntax_error
        return set()
    out: set[str] = set()
    inner: set[int] = set()
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Getattr):
            inner.add(id(node.node))
    for node in tree.find_all((nodes.Getattr, nodes.Name)):
        if id(node) in inner:
            continue
        parts: list[str] = []
        cur: Any = node
        while isinstance(cur, nodes.Getattr):
            parts.append(cur.attr)
            cur = cur.node
        if isinstance(cur, nodes.Name) and cur.ctx == "load":
            parts.append(cur.name)
            out.add(".".join(reversed(parts)))
    # Names that are only the root of a dotted path are not placeholders on their own.
    roots = {p.split(".")[0] for p in out if "." in p}
    return {p for p in out if "." in p or p not in roots}


def render(text: str, context: Mapping[str, Any]) -> str:
    """Render one template in the sandbox; errors render the text without placeholders."""
    from jinja2 import TemplateError

    try:
        return str(_compiled(text).render(**_localized(context)))
    except (TemplateError, TypeError, ValueError, ArithmeticError, RecursionError):
        return text.split("{{")[0].strip()


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


def render_message(message: Message, locale: str | None, context: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """{locale, title, body, deep_link} for one member."""
    used, content = pick_content(message, locale)
    context = {**context, "_locale": used}  # dates follow the language of the text
    out: dict[str, Any] = {"locale": used, "title": render(content.title, context),
                           "body": render(content.body, context)}
    if content.deep_link:
        out["deep_link"] = render(content.deep_link, context)
    return out


def context_for(profile: Mapping[str, Any], loyalty: Mapping[str, Any] | None = None, *,
                coupon: Mapping[str, Any] | None = None, order: Mapping[str, Any] | None = None,
                expiring: Mapping[str, Any] | None = None, campaign_name: str = "",
                tz: str | None = None) -> dict[str, Any]:
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

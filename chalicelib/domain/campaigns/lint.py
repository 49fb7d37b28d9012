"""Warnings about costly or silent mistakes in a valid campaign. Pure.

``lint(campaign, templates, draws)`` returns ``[{code, path, message, hint}]``; ``templates``
looks a coupon template up by id (from ``campaigns/coupons/*.json`` offline, from the table
online) and returns its JSON as a dict, or None when there is no such template; ``draws``
looks a lucky draw up by id the same way and returns its ``DrawFacts`` (or None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time

from chalicelib.domain.campaigns import templates as tpl
from chalicelib.domain.campaigns.audience_sat import matches_nobody
from chalicelib.domain.campaigns.cron import CronError, parse_cron
from chalicelib.domain.campaigns.model import (
    Birthday,
    Campaign,
    DrawEntries,
    Event,
    EventType,
    Holiday,
    IssueCoupon,
    Message,
    Once,
    Recurring,
)
from chalicelib.domain.coupons.validity import use_until

Warning_ = dict[str, str]
TemplateLookup = Callable[[str], Mapping[str, object] | None]


@dataclass(frozen=True)
class DrawFacts:
    """What lint needs of a lucky draw: when it closes, and whether it had closed when the
    caller looked (the caller reads the clock; lint stays pure)."""

    id: str
    closes_at: datetime
    closed: bool


DrawLookup = Callable[[str], DrawFacts | None]


@dataclass(frozen=True)
class CouponFacts:
    """What lint and preview need from a coupon template, whatever its exact layout."""

    id: str
    title: str
    kind: str                  # the benefit type: fixed | percent | threshold | stepped | ...
    value_minor: int | None    # face value in fen (amount/threshold coupons)
    percent: float | None
    max_discount_minor: int | None
    stack_group: str | None
    exclusive: bool
    expires_at: str | None = None  # end of the template's validity (ISO)
    days_after_claim: int | None = None

    def valid_until(self, issued_at: datetime) -> str | None:
        """A coupon issued at ``issued_at`` is valid until this instant (ISO): what a
        preview shows for ``{{ coupon.expires_at }}``, as delivery would."""
        if not self.expires_at:
            return None
        try:
            ends = datetime.fromisoformat(self.expires_at.replace("Z", "+00:00"))
        except ValueError:
            return self.expires_at
        if ends.tzinfo is None:
            return self.expires_at
        return use_until(ends, self.days_after_claim, issued_at).isoformat()

    @property
    def worst_case_minor(self) -> int | None:
        """The most one coupon can cost (None when unbounded: a percent coupon without cap)."""
        if self.kind == "percent":
            return self.max_discount_minor
        return self.value_minor


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def coupon_facts(template_id: str, t: Mapping[str, object]) -> CouponFacts:
    """Normalise a coupon template document (domain/coupons/template.py: ``benefit`` and
    ``stacking``) into what lint and preview need."""
    b = _mapping(t.get("benefit"))
    kind = str(b.get("type") or "other")
    amount = _int(b.get("amount"))
    value: int | None
    if kind in ("fixed", "no_threshold", "threshold"):
        value = amount
    elif kind == "stepped":
        steps = _int(b.get("max_steps"))
        value = amount * steps if amount is not None and steps is not None else None
    elif kind == "free_shipping":
        value = _int(b.get("max_amount"))
    elif kind == "gift":
        value = _int(b.get("value"))
    else:
        value = None
    percent = b.get("percent_off")
    s = _mapping(t.get("stacking"))
    group = s.get("group")
    validity = _mapping(t.get("validity"))
    return CouponFacts(
        id=template_id, title=str(t.get("name") or template_id), kind=kind, value_minor=value,
        percent=float(percent) if isinstance(percent, (int, float)) else None,
        max_discount_minor=_int(b.get("max_discount")),
        stack_group=str(group) if group else None, exclusive=bool(s.get("exclusive")),
        expires_at=str(validity.get("ends_at")) if validity.get("ends_at") else None,
        days_after_claim=_int(validity.get("days_after_claim")))


def _int(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _w(code: str, path: str, message: str, hint: str) -> Warning_:
    return {"code": code, "path": path, "message": message, "hint": hint}


def lint(c: Campaign, templates: TemplateLookup | None = None,
         draws: DrawLookup | None = None) -> list[Warning_]:
    """Warnings for a valid campaign (an empty list means lint clean)."""
    out: list[Warning_] = []
    if c.budget is None or c.budget.is_empty():
        out.append(_w("no-budget", "/budget", "the campaign has no budget",
                      "cap coupons, points, messages or money_minor so a mistake cannot "
                      "run away"))
    if c.window.end is None:
        out.append(_w("no-end", "/window/end", "the campaign never ends",
                      "set window.end; extend it later if it works"))
    out.extend(_quiet_hours(c))
    out.extend(_unpublished(c))
    if c.audience is not None and matches_nobody(c.audience):
        out.append(_w("audience-empty", "/audience", "the audience provably matches nobody",
                      "conditions under one 'all' contradict each other, or an 'any' is "
                      "empty"))
    out.extend(_placeholders(c))
    if templates is not None:
        out.extend(_coupons(c, templates))
    if draws is not None:
        out.extend(_draws(c, draws))
    return out


def _draws(c: Campaign, draws: DrawLookup) -> list[Warning_]:
    """Each draw_entries action names a draw that exists, is still open for entries, and
    does not close before the campaign stops granting them."""
    out: list[Warning_] = []
    for prefix, i, a in c.all_actions():
        if not isinstance(a, DrawEntries):
            continue
        path = f"{prefix}/{i}/draw"
        d = draws(a.draw)
        if d is None:
            out.append(_w("unknown-draw", path, f"no lucky draw '{a.draw}'",
                          "create it in campaigns/draws/ (and sync), or fix the id"))
        elif d.closed:
            out.append(_w("draw-closed", path, f"the draw '{a.draw}' has closed "
                          f"({d.closes_at.isoformat()})", "granted entries could not be "
                          "used: grant entries of an open draw, or remove the action"))
        elif c.ends_at is None or c.ends_at > d.closes_at:
            out.append(_w("draw-closes-first", path, f"the draw '{a.draw}' closes at "
                          f"{d.closes_at.isoformat()}, before the campaign window ends",
                          "deliveries after the close fail (effect unavailable): end the "
                          "campaign by then, or extend the draw"))
    return out


def _fire_time(c: Campaign) -> tuple[str, list[time]] | None:
    t = c.trigger
    if isinstance(t, (Birthday, Holiday)):
        return "/trigger/at", [t.at]
    if isinstance(t, Once):
        local = t.at if t.local_time or t.at.tzinfo is None else t.at.astimezone(c.zone)
        return "/trigger/at", [local.time().replace(second=0, microsecond=0)]
    if isinstance(t, Recurring):
        try:
            return "/trigger/cron", parse_cron(t.cron).times()
        except CronError:
            return None
    return None


def _unpublished(c: Campaign) -> list[Warning_]:
    """Working-day rules that skip a holiday in the window: its year's official calendar
    (调休) is not published yet, so nothing is sent for it until the package carries it."""
    from chalicelib.domain.campaigns import occurrences as occ

    t = c.trigger
    if not isinstance(t, Holiday):
        return []
    out = []
    first, last = occ.window_dates(c)
    for i, ref in enumerate(t.holidays):
        if isinstance(ref, str):
            continue
        stuck = [r for r in occ.resolve_window(t.calendar, ref, first, last) if r.problem]
        if stuck:
            out.append(_w("calendar-unpublished", f"/trigger/holidays/{i}",
                          f"'{stuck[0].ref}' skips a date in the window: {stuck[0].problem}",
                          stuck[0].hint))
    return out


def _quiet_hours(c: Campaign) -> list[Warning_]:
    qh = c.delivery.quiet_hours
    fire = _fire_time(c)
    if qh is None or fire is None:
        return []
    path, times = fire
    inside = [t for t in times if qh.contains(t)]
    if not inside:
        return []
    where = "each member's local time" if c.local_time else f"{c.timezone} time"
    return [_w("quiet-hours", path,
               f"fires at {inside[0].strftime('%H:%M')} ({where}), inside quiet hours "
               f"{qh.start.strftime('%H:%M')}-{qh.end.strftime('%H:%M')}",
               "delivery would hold every message until quiet hours end; move the time")]


def _placeholders(c: Campaign) -> list[Warning_]:
    out: list[Warning_] = []
    coupon_arms = {p for p, _, a in c.all_actions() if isinstance(a, IssueCoupon)}
    order_event = isinstance(c.trigger, Event) and c.trigger.event in (EventType.order,
                                                                         EventType.first_order)
    for prefix, i, a in c.all_actions():
        if not isinstance(a, Message):
            continue
        if a.fallback not in a.content:
            out.append(_w("locale-without-fallback", f"{prefix}/{i}/fallback",
                          f"no content for the fallback locale '{a.fallback}'",
                          f"members whose locale has no content get the first one given; add "
                          f"\"{a.fallback}\" content or set fallback to one of "
                          f"{', '.join(a.content)}"))
        has_coupon = prefix in coupon_arms
        for loc, content in a.content.items():
            for field, text in content.texts():
                path = f"{prefix}/{i}/content/{loc}/{field}"
                for name in sorted(tpl.placeholders(text)):
                    if name not in tpl.PLACEHOLDERS:
                        out.append(_w("unknown-placeholder", path,
                                      f"unknown placeholder {{{{ {name} }}}}",
                                      "known: " + ", ".join(tpl.PLACEHOLDERS)))
                    elif name in tpl.COUPON_PLACEHOLDERS and not has_coupon:
                        out.append(_w("unknown-placeholder", path,
                                      f"{{{{ {name} }}}} is empty: this campaign issues no "
                                      "coupon", "add an issue_coupon action or remove it"))
                    elif name in tpl.ORDER_PLACEHOLDERS and not order_event:
                        out.append(_w("unknown-placeholder", path,
                                      f"{{{{ {name} }}}} is empty: only order events have an "
                                      "order", "trigger on order/first_order or remove it"))
    return out


def coupon_paths(prefix: str, i: int, a: IssueCoupon) -> list[tuple[str, str]]:
    """(JSON path, template id) of every template an issue_coupon action may issue."""
    if a.coupon is not None:
        return [(f"{prefix}/{i}/coupon/best_of/{j}", tid)
                for j, tid in enumerate(a.coupon.best_of)]
    return [(f"{prefix}/{i}/template", a.template)] if a.template else []


def _coupons(c: Campaign, templates: TemplateLookup) -> list[Warning_]:
    out: list[Warning_] = []
    arms: dict[str, list[tuple[str, int, CouponFacts]]] = {}
    for prefix, i, a in c.all_actions():
        if not isinstance(a, IssueCoupon):
            continue
        for path, tid in coupon_paths(prefix, i, a):
            doc = templates(tid)
            if doc is None:
                out.append(_w("unknown-template", path, f"no coupon template '{tid}'",
                              "create it in campaigns/coupons/ (and sync), or fix the id"))
                continue
            facts = coupon_facts(tid, doc)
            if facts.kind == "percent" and facts.max_discount_minor is None:
                out.append(_w("percent-without-max", path,
                              f"'{tid}' takes a percentage off with no maximum discount",
                              "set a maximum discount on the template so a large basket "
                              "cannot cost without limit"))
            arms.setdefault(prefix, []).append((path, i, facts))
    # Variant actions replace the base actions, so overlaps are checked per arm: coupons of
    # one stack group cannot be used together, and an exclusive coupon stands alone.
    # A best_of action issues one of its templates, never two: those never overlap.
    for found in arms.values():
        for j, (path, i, f) in enumerate(found):
            for _, k, g in found[:j]:
                if f.id == g.id or i == k:
                    continue
                if f.stack_group and f.stack_group == g.stack_group:
                    why = f"both are in stack group '{f.stack_group}'"
                elif f.exclusive or g.exclusive:
                    why = f"'{f.id if f.exclusive else g.id}' is exclusive"
                else:
                    continue
                out.append(_w("exclusive-overlap", path,
                              f"'{f.id}' and '{g.id}' cannot be used in the same order: {why}",
                              "members can use only one of them per order; issue one, or "
                              "change the templates' stacking"))
                break
    return out

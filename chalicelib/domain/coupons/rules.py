"""A template compiled once into plain values: what eligibility and arithmetic read.

A claimed coupon carries a *snapshot* of its template's rules (``snapshot(template)``), so
the terms a member claimed are the terms they use, and a quote reads no template items.
``Rules.load(snapshot)`` rebuilds the compiled form without re-validating JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Required, TypedDict

from chalicelib.domain.coupons.template import CouponTemplate

# --- the snapshot a claimed coupon stores (the template's JSON, the parts rules read) --------

class BenefitJson(TypedDict, total=False):
    type: Required[str]
    amount: int
    percent_off: int
    max_discount: int | None
    max_amount: int | None
    threshold: int
    step: int
    max_steps: int
    sku: str | None
    name: str | None
    quantity: int
    value: int


class ScopeJson(TypedDict, total=False):
    include_skus: list[str]
    exclude_skus: list[str]
    include_categories: list[str]
    exclude_categories: list[str]
    min_spend: int
    channels: list[str]
    store_ids: list[str]
    payment_methods: list[str]


class AudienceJson(TypedDict, total=False):
    tiers: list[str]
    min_tier: str | None


class WindowJson(TypedDict, total=False):
    weekdays: list[int]
    start: str
    end: str


class StackingJson(TypedDict, total=False):
    group: str | None
    exclusive: bool


class FundingJson(TypedDict, total=False):
    source: str
    id: str | None


class Snapshot(TypedDict, total=False):
    template_id: Required[str | None]  # None only for a template never saved (tests)
    name: str
    benefit: Required[BenefitJson]
    scope: ScopeJson | None
    audience: AudienceJson | None
    windows: list[WindowJson] | None
    stacking: StackingJson | None
    per_member_use: int | None
    restore_on_refund: bool
    funding: FundingJson | None

# Evaluation phases (see stacking.py): amount off, then percent, then shipping, then gifts.
AMOUNT, PERCENT, SHIPPING, GIFT = 0, 1, 2, 3
PHASE = {"fixed": AMOUNT, "no_threshold": AMOUNT, "threshold": AMOUNT, "stepped": AMOUNT,
         "percent": PERCENT, "free_shipping": SHIPPING, "gift": GIFT}


@dataclass(frozen=True, slots=True)
class Window:
    weekdays: frozenset[int]
    start: int  # minutes after local midnight, inclusive
    end: int  # exclusive

    def describe(self) -> dict[str, list[int] | str]:
        return {"weekdays": sorted(self.weekdays), "start": _hhmm(self.start),
                "end": _hhmm(self.end)}


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything about a template that decides whether and how much it discounts."""

    template_id: str | None  # None only for a template never saved (tests)
    name: str
    kind: str
    amount: int = 0
    percent_off: int = 0
    max_discount: int | None = None
    threshold: int = 0
    step: int = 0
    max_steps: int = 0
    gift_sku: str | None = None
    gift_name: str | None = None
    gift_quantity: int = 0
    gift_value: int = 0
    include_skus: frozenset[str] = frozenset()
    exclude_skus: frozenset[str] = frozenset()
    include_categories: frozenset[str] = frozenset()
    exclude_categories: frozenset[str] = frozenset()
    min_spend: int = 0
    channels: frozenset[str] = frozenset()
    store_ids: frozenset[str] = frozenset()
    payment_methods: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    min_tier: str | None = None
    windows: tuple[Window, ...] = ()
    group: str | None = None
    exclusive: bool = False
    per_member_use: int | None = None
    restore_on_refund: bool = True
    funding_source: str = "platform"
    funding_id: str | None = None

    @property
    def phase(self) -> int:
        return PHASE[self.kind]

    def tier_allowed(self, tier: str | None, order: tuple[str, ...]) -> bool:
        """Does a member of ``tier`` (None = the base tier) meet the tier restriction?

        ``order`` is the loyalty program's tier ids, base first."""
        if not self.tiers and not self.min_tier:
            return True
        tier = tier or (order[0] if order else None)
        if self.tiers:
            return tier in self.tiers
        if self.min_tier not in order or tier not in order:
            return False
        return order.index(tier) >= order.index(self.min_tier)

    def allowed_tiers(self, order: tuple[str, ...]) -> frozenset[str] | None:
        """Every tier id that qualifies (None: no restriction)."""
        if not self.tiers and not self.min_tier:
            return None
        return frozenset(t for t in (*order, *self.tiers) if self.tier_allowed(t, order))

    @property
    def required_spend(self) -> int:
        """Eligible pre-discount subtotal needed before the coupon applies at all."""
        extra = self.threshold if self.kind == "threshold" else (
            self.step if self.kind == "stepped" else 0)
        return max(self.min_spend, extra)

    @property
    def scoped(self) -> bool:
        return bool(self.include_skus or self.include_categories or self.exclude_skus
                    or self.exclude_categories)

    def covers(self, sku: str, category: str) -> bool:
        """Is a cart line with this sku and category one of the eligible items?"""
        if sku in self.exclude_skus or category in self.exclude_categories:
            return False
        if not (self.include_skus or self.include_categories):
            return True
        return sku in self.include_skus or category in self.include_categories

    def nominal(self, eligible: int) -> int:
        """Amount-off coupons: the discount before capping, given the eligible subtotal."""
        if self.kind == "stepped":
            return min(eligible // self.step, self.max_steps) * self.amount
        return self.amount

    @classmethod
    def load(cls, snap: Snapshot) -> Rules:
        """Rebuild from a stored snapshot (already validated when the template was saved)."""
        b = snap["benefit"]
        sc: ScopeJson = snap.get("scope") or {}
        au: AudienceJson = snap.get("audience") or {}
        st: StackingJson = snap.get("stacking") or {}
        fu: FundingJson = snap.get("funding") or {}
        return cls(
            template_id=snap["template_id"], name=snap.get("name", ""), kind=b["type"],
            amount=int(b.get("amount") or 0), percent_off=int(b.get("percent_off") or 0),
            max_discount=_opt_int(b.get("max_discount") if b["type"] == "percent"
                                  else b.get("max_amount")),
            threshold=int(b.get("threshold") or 0), step=int(b.get("step") or 0),
            max_steps=int(b.get("max_steps") or 0), gift_sku=b.get("sku"),
            gift_name=b.get("name"), gift_quantity=int(b.get("quantity") or 0),
            gift_value=int(b.get("value") or 0),
            include_skus=frozenset(sc.get("include_skus") or ()),
            exclude_skus=frozenset(sc.get("exclude_skus") or ()),
            include_categories=frozenset(sc.get("include_categories") or ()),
            exclude_categories=frozenset(sc.get("exclude_categories") or ()),
            min_spend=int(sc.get("min_spend") or 0),
            channels=frozenset(sc.get("channels") or ()),
            store_ids=frozenset(sc.get("store_ids") or ()),
            payment_methods=frozenset(sc.get("payment_methods") or ()),
            tiers=frozenset(au.get("tiers") or ()), min_tier=au.get("min_tier"),
            windows=tuple(Window(frozenset(int(d) for d in w.get("weekdays") or range(1, 8)),
                                 _minutes(w.get("start", "00:00")),
                                 _minutes(w.get("end", "24:00")))
                          for w in snap.get("windows") or ()),
            group=st.get("group"), exclusive=bool(st.get("exclusive")),
            per_member_use=_opt_int(snap.get("per_member_use")),
            restore_on_refund=bool(snap.get("restore_on_refund", True)),
            funding_source=fu.get("source", "platform"), funding_id=fu.get("id"),
        )


def snapshot(t: CouponTemplate) -> Snapshot:
    """The part of a template a claimed coupon keeps (JSON-ready)."""
    d = t.model_dump(mode="json", exclude={"schema_ref"})  # t.definition(), as pydantic types it
    return {
        "template_id": t.template_id, "name": t.name, "benefit": d["benefit"],
        "scope": d["scope"],
        "audience": {"tiers": d["audience"]["tiers"], "min_tier": d["audience"]["min_tier"]},
        "windows": d["validity"]["windows"], "stacking": d["stacking"],
        "per_member_use": t.limits.per_member_use, "restore_on_refund": t.restore_on_refund,
        "funding": d["funding"],
    }


def compile_template(t: CouponTemplate) -> Rules:
    """Rules of a template (as a coupon claimed now would carry them)."""
    return Rules.load(snapshot(t))


def _opt_int(v: int | None) -> int | None:
    return None if v is None else int(v)


def _minutes(hhmm: str) -> int:
    h, m = str(hhmm).split(":")
    return int(h) * 60 + int(m)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"

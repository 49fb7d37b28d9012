"""The delivery worker: decide and deliver each (campaign, occurrence, member) exactly once.

For each member of an entry, tasks run highest priority first (``policy.by_priority``, so a
frequency cap is spent on the campaign that matters most). Per task: campaign still active →
member not erased → audience → holdout → consent → quiet hours (defer to the window's end) →
one transaction with the send record, counters, cap/limit/budget guards, the effects
(coupons, points, inbox) and one outbox entry per external channel → external channels
(push, sms, webhook) sent with a stable message id and marked sent or failed once; what a
crash leaves pending the outbox sweeper sends again (at least once, see ``outbox.py``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.adapters.delivery.channels import Channel, Rendered
from chalicelib.adapters.delivery.outbox import OutboxEntry
from chalicelib.adapters.delivery.reads import Member
from chalicelib.adapters.delivery.repository import Commit, DeliveryRepository, Guard, Outcome
from chalicelib.adapters.dynamo import NamedItems
from chalicelib.adapters.retries import with_retries
from chalicelib.domain.campaigns.model import AwardPoints, Birthday, Campaign, Message
from chalicelib.domain.delivery import policy, results
from chalicelib.domain.delivery.windows import floor_quarter
from chalicelib.domain.delivery.work import Task
from chalicelib.domain.loyalty.earning import scale_points
from chalicelib.domain.members.model import birthday_counts
from chalicelib.observability import logger, metrics_add
from chalicelib.services import clock
from chalicelib.services.delivery.campaigns import (
    CampaignSource,
    coupon_actions,
    draw_actions,
    message_action,
    needs_loyalty,
)
from chalicelib.services.delivery.effects import Effect, Effects, EffectUnavailable
from chalicelib.services.delivery.journeys import Move, held, is_step
from chalicelib.services.delivery.outbox import Outbox, message_id, rendered_fields, retry_at

MAX_DEFERRALS = 3
BUDGET_DIMENSIONS = ("coupons", "points", "messages", "money_minor")


def iso(dt: datetime) -> str:
    return clock.iso(dt)


def parse_iso(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def by_priority(pairs: list[tuple[Task, Campaign]]) -> list[tuple[Task, Campaign]]:
    """One member's tasks in the order caps are spent: campaigns by ``policy.by_priority``
    (higher priority first, then campaign id), then each campaign's occurrences."""
    rank = {cid: i for i, (_, cid) in enumerate(policy.by_priority(
        list({(c.priority, c.id) for _, c in pairs})))}
    return sorted(pairs, key=lambda tc: (rank[tc[1].id], tc[0].occurrence))


@dataclass
class Decision:
    """One task being decided: who, what, when, and what was chosen so far."""

    task: Task
    campaign: Campaign
    profile: dict[str, Any]
    loyalty: dict[str, Any] | None
    now: datetime
    attempt: str = field(default_factory=lambda: secrets.token_hex(8))
    arm: str | None = None
    actions: list[Any] = field(default_factory=list)
    msg: Message | None = None
    channels: list[str] = field(default_factory=list)
    move: Move | None = None  # a journey's step (domain walk, state guard, due item)

    @property
    def tz(self) -> str:
        return str(self.profile.get("timezone") or self.campaign.timezone)

    @property
    def day(self) -> str:
        """The results day of the decision: its calendar day in the campaign's timezone."""
        return results.local_day(self.now, self.campaign.timezone)

    @property
    def external(self) -> list[str]:
        return [ch for ch in self.channels if ch != "inbox"]


@dataclass
class Bundle:
    """What the effects and the message add to the decision transaction."""

    items: NamedItems = field(default_factory=list)
    fresh: list[Callable[[], NamedItems]] = field(default_factory=list)
    stale: frozenset[str] = frozenset()
    facts: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=lambda: {
        "targeted": 1, "delivered": 1, "assigned": 1})
    spend: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, int] = field(default_factory=dict)
    choices: list[dict[str, Any]] = field(default_factory=list)  # best_of picks
    draws: dict[str, int] = field(default_factory=dict)  # draw id -> entries granted

    def add(self, e: Effect) -> None:
        self.items += e.items
        if e.fresh is not None:
            self.fresh.append(e.fresh)
        self.stale |= e.stale
        self.facts.update(e.facts)
        for target, more in ((self.counters, e.counters), (self.spend, e.spend),
                             (self.metrics, e.metrics)):
            for k, v in more.items():
                target[k] = target.get(k, 0) + v


@dataclass
class Worker:
    repo: DeliveryRepository
    campaigns: CampaignSource
    channels: dict[str, Channel]
    effects: Effects
    caps: Mapping[str, policy.Cap] = field(default_factory=lambda: dict(policy.DEFAULT_CAPS))

    # --- an entry of member tasks ------------------------------------------------------------

    def run_tasks(self, tasks: list[Task], sim: str | None = None) -> dict[str, int]:
        """Process every task; raises after trying them all if any failed (SQS retries)."""
        outcomes: dict[str, int] = {}
        wanted = self._profiles_needed(tasks)
        fetched = with_retries(lambda: self.repo.members(wanted)) if wanted else {}
        by_member: dict[str, list[tuple[Task, Campaign]]] = {}
        for t in tasks:
            c = self.campaigns.get(t.campaign)
            if c is None or not (c.status == "active" or held(c, t)):
                outcomes["inactive"] = outcomes.get("inactive", 0) + 1
                continue
            by_member.setdefault(t.member, []).append((t, c))
        errors: list[Exception] = []
        for member_id, pairs in by_member.items():
            for t, c in by_priority(pairs):
                result = self._try(t, c, fetched.get(member_id), sim, errors)
                if result is not None:
                    outcomes[result] = outcomes.get(result, 0) + 1
        if errors:
            raise errors[0]
        return outcomes

    def _try(self, t: Task, c: Campaign, got: Member | None, sim: str | None,
             errors: list[Exception]) -> str | None:
        """One task with what the task carries, completed by what was read; a failure is
        logged and kept (the entry is retried as a whole), the others still run."""
        profile = t.profile if t.profile is not None or got is None else got[0]
        loyalty = t.loyalty if t.loyalty is not None or got is None else got[1]
        try:
            return self.process(t, c, profile, loyalty, sim)
        except Exception as e:
            logger().warning("delivery task failed", extra={
                "campaign": t.campaign, "occurrence": t.occurrence,
                "error": type(e).__name__})
            errors.append(e)
            metrics_add("DeliveryTaskFailed")
            return None

    def _profiles_needed(self, tasks: list[Task]) -> dict[str, bool]:
        """member → whether LOYALTY is needed too, for members whose profile must be read."""
        out: dict[str, bool] = {}
        for t in tasks:
            c = self.campaigns.get(t.campaign)
            if c is None:
                continue
            loyal = needs_loyalty(c)
            if t.profile is None or (loyal and t.loyalty is None):
                out[t.member] = out.get(t.member, False) or loyal
        return out

    # --- one task ------------------------------------------------------------------------

    def process(self, t: Task, c: Campaign, profile: dict[str, Any] | None,
                loyalty: dict[str, Any] | None, sim: str | None = None) -> str:
        """Decide one task and deliver it (or record why not): its outcome's name."""
        if profile is None:
            return "no_member"
        d = Decision(t, c, profile, loyalty, parse_iso(sim) if sim else clock.now())
        if held(c, t):
            return self._held(d)
        return (self._screen(d) or self._journey(d) or self._choose(d) or self._quiet(d)
                or self._deliver(d))

    def _held(self, d: Decision) -> str:
        """A journey step of a paused campaign is kept for the resume; of an ended one, the
        member exits. Nothing is delivered either way."""
        from chalicelib.services.delivery import journeys

        if d.campaign.status == "paused":
            return with_retries(lambda: journeys.hold(self.repo, d.campaign, d.task, d.now,
                                                      d.tz))
        return with_retries(lambda: journeys.leave(self.repo, d.campaign, d.task, d.now))

    def _screen(self, d: Decision) -> str | None:
        """Erased, a birthday set too recently, outside the audience, or held out."""
        from chalicelib.domain.campaigns.profile import audience_profile

        t, c = d.task, d.campaign
        if d.profile.get("erased"):
            return self._final(d, "suppressed", "erased", treated=False)
        if is_step(t):
            return None  # a journey step after a wait: audience and holdout decided at entry
        if isinstance(c.trigger, Birthday) and not birthday_counts(d.profile, t.occurrence):
            return "birthday_too_recent"  # a member-set birthday on file < 30 days: not yet
        local_today = d.now.astimezone(policy.zone(d.tz)).date()
        if not c.matcher(audience_profile(d.profile, d.loyalty, today=local_today)):
            return "not_in_audience"
        # Intent to treat: the holdout is drawn from the audience alone, before consent,
        # quiet hours, caps, limits and budget, and every member assigned to treatment
        # counts in the treated group ("assigned") whatever happens next (delivered,
        # suppressed or failed); orders are credited to both groups the same way. Comparing
        # delivered members (reachable, consenting: the most engaged) with an unfiltered
        # holdout reported lift where the campaign did nothing.
        exp = c.experiment
        if exp and policy.held_out(c.id, t.member, exp.holdout_percent):
            return self._final(d, "held_out", None)
        return None

    def _journey(self, d: Decision) -> str | None:
        """A journey campaign: the member's move (None: go on), or why there is none."""
        from chalicelib.services.delivery import journeys

        if d.campaign.journey is None:
            return None
        found = journeys.move(self.repo, d.campaign, d.task, d.profile, d.loyalty, d.now, d.tz)
        if isinstance(found, str):
            return found
        d.move = found
        return None

    def _choose(self, d: Decision) -> str | None:
        """The experiment arm, its actions and the consented channels (None: go on)."""
        c, exp = d.campaign, d.campaign.experiment
        d.actions = list(c.actions) if d.move is None else list(d.move.walk.actions)
        if d.move is not None and not d.actions:
            return None  # a journey walk with nothing to do: only the move commits
        if exp and exp.variants:
            d.arm = policy.variant(c.id, d.task.member,
                                   [(v.id, v.weight) for v in exp.variants])
            chosen = next((v for v in exp.variants if v.id == d.arm), None)
            if chosen and chosen.actions:
                d.actions = list(chosen.actions)
        d.msg = message_action(d.actions)
        allowed = policy.consent_outcome(
            [str(ch) for ch in d.msg.channels] if d.msg else [], d.profile.get("consent"),
            require_consent=c.delivery.require_consent,
            other_effects=any(not isinstance(a, Message) for a in d.actions))
        if allowed is None:
            return self._final(d, "suppressed", "consent")
        d.channels = allowed
        return None

    def _quiet(self, d: Decision) -> str | None:
        """In the member's quiet hours with a noisy channel: defer to the window's end (or
        give up after MAX_DEFERRALS rather than wake them)."""
        quiet = d.campaign.delivery.quiet_hours
        if not quiet or not d.external:
            return None
        until = policy.quiet_until(d.now, d.tz, quiet.start, quiet.end)
        if until is None:
            return None
        if d.task.deferred >= MAX_DEFERRALS:
            return self._final(d, "suppressed", "quiet")
        return self._defer(d.task, until, count=d.task.deferred == 0, day=d.day)

    def _final(self, d: Decision, state: str, reason: str | None,
               treated: bool = True) -> str:
        """Held out, suppressed or failed: a send record and counters, nothing else.

        A member decided after the holdout draw (``treated``; erased members are decided
        before it) is in the treated group with its arm: ``assigned`` and the variant's
        counters include it, and its orders are credited like a delivered member's."""
        t, c = d.task, d.campaign
        counter = {"held_out": "held_out", "failed": "failed"}.get(state, f"suppressed_{reason}")
        counters = {"targeted": 1, counter: 1}
        if d.move is not None and not d.move.first:
            counters = {counter: 1}  # a step after a wait: the member was targeted at entry
        group = None
        if state == "held_out":
            group = "holdout"
        elif treated:
            group = "treated"
            counters["assigned"] = 1
        record = self._record(d, state, reason=reason, group=group, variant=d.arm)
        # A journey moves on past a step it could not deliver (consent, cap, budget …).
        move = [d.move.guard] if d.move else []
        commit = Commit(record, counters, move, d.move.effects if d.move else [], day=d.day)
        out = with_retries(lambda: self.repo.commit(c.id, t.occurrence, t.member, commit))
        return state if out.status == "committed" else "duplicate"

    def _defer(self, t: Task, until: datetime, count: bool, day: str | None = None) -> str:
        task = Task(t.campaign, t.occurrence, t.member, iso(until), None, t.event,
                    t.deferred + 1).to_json()
        due = iso(until)
        with_retries(lambda: self.repo.defer(t.campaign, t.occurrence, t.member,
                                             t.deferred + 1, due, iso(floor_quarter(until)),
                                             task, count, day=day))
        return "deferred"

    def _record(self, d: Decision, state: str, **extra: Any) -> dict[str, Any]:
        rec = {"state": state, "attempt": d.attempt, "decided_at": iso(d.now),
               "due_at": d.task.at, **{k: v for k, v in extra.items() if v is not None}}
        if d.task.event:
            rec["event_type"] = d.task.event.get("type")
        return rec

    # --- delivering -------------------------------------------------------------------------

    def _deliver(self, d: Decision) -> str:
        """The effects, the message, the guards and the outbox in one transaction; then the
        external channels."""
        try:
            bundle = self._bundle(d)
        except EffectUnavailable as e:
            return self._unavailable(d, e)
        rendered = self._message(d, bundle)
        guards = self._guards(d, bundle.spend)
        if guards is None:
            return self._final(d, "suppressed", "budget")
        # The outbox entries ride in the commit: a crash after it cannot lose the sends.
        mid = message_id(d.campaign.id, d.task.occurrence, d.task.member)
        outbox = [OutboxEntry(ch, mid, rendered_fields(rendered), retry_at(1))
                  for ch in d.external] if rendered else []
        record = self._record(d, "delivered", group="treated", variant=d.arm,
                              channels=d.channels,
                              **{f"ch_{ch}": "pending" for ch in d.external},
                              coupon_ids=(bundle.facts.get("coupon") or {}).get("ids"),
                              coupon_choices=bundle.choices or None,
                              draw_entries=bundle.draws or None)
        commit = Commit(record, bundle.counters, guards, bundle.items, bundle.fresh,
                        bundle.stale, outbox, day=d.day)
        try:
            out: Outcome = with_retries(lambda: self.repo.commit(
                d.campaign.id, d.task.occurrence, d.task.member, commit))
        except EffectUnavailable as e:
            return self._unavailable(d, e)
        return self._committed(d, out, outbox, bundle.metrics)

    def _committed(self, d: Decision, out: Outcome, outbox: list[OutboxEntry],
                   metrics: dict[str, int]) -> str:
        if out.status == "duplicate":
            return "duplicate"
        if out.status == "suppressed" and out.reason == "journey":
            return "journey_moved"  # another worker moved the member first: nothing happened
        if out.status == "suppressed":
            return self._final(d, "suppressed", out.reason)
        if out.status == "effect_failed":
            return self._final(d, "failed", "effect")
        metrics_add("CampaignDelivered")
        for name, value in metrics.items():
            metrics_add(name, value)
        if outbox:
            self._send_external(d, outbox)
        return "delivered"

    def _unavailable(self, d: Decision, e: EffectUnavailable) -> str:
        logger().warning("campaign effect unavailable", extra={"campaign": d.campaign.id,
                                                               "error": str(e)})
        return self._final(d, "failed", "effect_unavailable")

    def _bundle(self, d: Decision) -> Bundle:
        """The coupons, points and draw entries of the chosen actions (raises
        EffectUnavailable)."""
        t, c, stamp = d.task, d.campaign, iso(d.now)
        bundle = Bundle()
        chooser = self.effects.chooser(d.profile, d.loyalty, d.now, d.tz)  # ranked per member
        for template, qty in coupon_actions(d.actions, chooser).items():
            bundle.add(with_retries(partial(self.effects.coupons, t.member, template, qty,
                                            c.id, t.occurrence, stamp)))
        bundle.choices = chooser.made
        if d.move is not None:
            bundle.items += d.move.effects
            if not d.move.first:
                bundle.counters = {k: v for k, v in bundle.counters.items()
                                   if k not in ("targeted", "assigned")}
        awards = [a for a in d.actions if isinstance(a, AwardPoints)]
        # Several awards become one (one balance write); multipliers: the earning rule's
        # exact floor.
        pts = sum(a.points or scale_points(int((t.event or {}).get("points", 0)),
                                           a.multiplier or 0) for a in awards)
        if pts > 0:
            reason = next((a.reason for a in awards if a.reason), None) or c.name
            bundle.add(self.effects.points(t.member, pts, reason, c.id, t.occurrence, stamp))
        draws = draw_actions(d.actions)
        for draw_id, count in draws.items():
            bundle.add(self.effects.draw_entries(t.member, draw_id, count, c.id, t.occurrence,
                                                 stamp))
        bundle.draws = draws
        return bundle

    def _message(self, d: Decision, bundle: Bundle) -> Rendered | None:
        """The rendered message (None without a message or a consented channel: the coupon
        and points go without it); the inbox copy joins the transaction."""
        if not d.msg or not d.channels:
            return None
        rendered = self._render(d, d.msg, bundle.facts)
        bundle.spend["messages"] = 1
        if "inbox" in d.channels:
            bundle.items += [(f"inbox:{name}", item) for name, item in
                             self.channels["inbox"].items(d.profile, rendered, d.now)]
            bundle.counters["sent_inbox"] = 1
        return rendered

    def _guards(self, d: Decision, spend: dict[str, int]) -> list[Guard] | None:
        """Frequency cap, per-member limit and budget guards; None when the spend alone is
        over the budget."""
        t, c, now = d.task, d.campaign, d.now
        guards = [d.move.guard] if d.move else []
        cap = self.caps.get(str(c.delivery.cap_class))
        if cap and (d.move is None or d.msg is not None):
            day, week = policy.cap_periods(now, d.tz)
            for ceiling, period, keep in ((cap.per_day, day, 3), (cap.per_week, week, 15)):
                if ceiling is not None:
                    guards.append(self.repo.cap_guard(t.member, str(c.delivery.cap_class),
                                                      period, ceiling,
                                                      now + timedelta(days=keep)))
        period = str(c.limits.period)
        if d.move is None or d.move.first:  # a journey's limits count entries, not steps
            guards.append(self.repo.limit_guard(
                t.member, c.id, policy.limit_period(now, d.tz, period), c.limits.per_member,
                None if period == "campaign" else now + timedelta(days=400)))
        if not c.budget or c.budget.is_empty():
            return guards
        limits = {k: getattr(c.budget, k) for k in BUDGET_DIMENSIONS}
        budgeted = {k: (v, int(limits[k])) for k, v in spend.items()
                    if limits.get(k) is not None}
        if any(v > limit for v, limit in budgeted.values()):
            return None
        budgeted = {k: vl for k, vl in budgeted.items() if vl[0]}
        if budgeted:
            guards.append(self.repo.budget_guard(c.id, budgeted, t.member))
        return guards

    def _render(self, d: Decision, msg: Message, facts: dict[str, Any]) -> Rendered:
        from chalicelib.domain.campaigns.templates import context_for, render_message

        c, t = d.campaign, d.task
        order = (t.event or {}).get("order")
        ctx = context_for(d.profile, d.loyalty, coupon=facts.get("coupon"), order=order,
                          campaign_name=c.name, tz=d.tz)
        out = render_message(msg, d.profile.get("locale"), ctx)
        return Rendered(out["title"], out["body"], out.get("deep_link"), c.id, t.occurrence,
                        out["locale"], out.get("email"))

    def _send_external(self, d: Decision, outbox: list[OutboxEntry]) -> None:
        """After the commit: one try per channel through the outbox (its entry is pending;
        whatever this try leaves pending the sweeper sends again with the same id)."""
        day = d.day
        sender = Outbox(self.repo, self.channels, day_of=lambda _cid: day)
        for o in outbox:
            sender.send({"member_id": d.task.member, "campaign_id": d.campaign.id,
                         "occurrence": d.task.occurrence, "channel": o.channel,
                         "message_id": o.message_id, "message": o.message, "tries": 1},
                        d.profile)

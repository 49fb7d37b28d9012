"""The delivery worker: decide and deliver each (campaign, occurrence, member) exactly once.

For each member of an entry, tasks run highest priority first (so a frequency cap is spent
on the campaign that matters most). Per task: campaign still active → member not erased →
audience → holdout → consent → quiet hours (defer to the window's end) → one transaction
with the send record, counters, cap/limit/budget guards, the effects (coupons, points,
inbox) and one outbox entry per external channel → external channels (push, sms, webhook)
sent with a stable message id and marked sent or failed once; what a crash leaves pending
the outbox sweeper sends again (at least once, see ``delivery_outbox.py``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.delivery.channels import Channel, Rendered
from chalicelib.adapters.delivery.repository import Commit, DeliveryRepository, OutboxEntry, Outcome
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
    message_action,
    needs_loyalty,
)
from chalicelib.services.delivery.effects import Effect, Effects, EffectUnavailable
from chalicelib.services.delivery.outbox import Outbox, message_id, rendered_fields, retry_at

MAX_DEFERRALS = 3


def iso(dt: datetime) -> str:
    return clock.iso(dt)


def parse_iso(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def _day(now: datetime, c: Campaign) -> str:
    """The results day of a decision: its calendar day in the campaign's timezone."""
    return results.local_day(now, c.timezone)


@dataclass
class Worker:
    repo: DeliveryRepository
    campaigns: CampaignSource
    channels: dict[str, Channel]
    effects: Effects
    caps: dict[str, policy.Cap] = field(default_factory=lambda: dict(policy.DEFAULT_CAPS))

    # --- an entry of member tasks ------------------------------------------------------------

    def run_tasks(self, tasks: list[Task], sim: str | None = None) -> dict[str, int]:
        """Process every task; raises after trying them all if any failed (SQS retries)."""
        outcomes: dict[str, int] = {}
        wanted = self._profiles_needed(tasks)
        fetched = with_retries(lambda: self._read(wanted)) if wanted else {}
        by_member: dict[str, list[tuple[Task, Campaign]]] = {}
        for t in tasks:
            c = self.campaigns.get(t.campaign)
            if c is None or c.status != "active":
                outcomes["inactive"] = outcomes.get("inactive", 0) + 1
                continue
            by_member.setdefault(t.member, []).append((t, c))
        errors: list[Exception] = []
        for member_id, pairs in by_member.items():
            pairs.sort(key=lambda tc: (-tc[1].priority, tc[1].id, tc[0].occurrence))
            for t, c in pairs:
                profile, loyalty = t.profile, t.loyalty
                got = fetched.get(member_id)
                if got is not None:
                    profile = got[0] if profile is None else profile
                    loyalty = got[1] if loyalty is None else loyalty
                try:
                    result = self.process(t, c, profile, loyalty, sim)
                except Exception as e:  # keep going; the entry is retried as a whole
                    logger().warning("delivery task failed", extra={
                        "campaign": t.campaign, "occurrence": t.occurrence,
                        "error": type(e).__name__})
                    errors.append(e)
                    metrics_add("DeliveryTaskFailed")
                    continue
                outcomes[result] = outcomes.get(result, 0) + 1
        if errors:
            raise errors[0]
        return outcomes

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

    def _read(self, wanted: dict[str, bool]) -> dict[str, tuple[dict[str, Any] | None,
                                                                dict[str, Any] | None]]:
        key_list = []
        for m, loyal in wanted.items():
            key_list.append(keys.member_profile(m))
            if loyal:
                key_list.append({"PK": keys.member_pk(m), "SK": keys.LOYALTY})
        found: dict[str, list[Any]] = {m: [None, None] for m in wanted}
        for item in self.repo.get_many(key_list):
            m = item["PK"][len(keys.MEMBER):]
            slot = 0 if item["SK"] == keys.PROFILE else 1
            found[m][slot] = {k: v for k, v in item.items()
                              if k not in ("PK", "SK", *keys.GSI_ATTRS)}
        return {m: (v[0], v[1]) for m, v in found.items()}

    # --- one task ------------------------------------------------------------------------

    def process(self, t: Task, c: Campaign, profile: dict[str, Any] | None,
                loyalty: dict[str, Any] | None, sim: str | None = None) -> str:
        now = parse_iso(sim) if sim else clock.now()
        if profile is None:
            return "no_member"
        tz = profile.get("timezone") or c.timezone
        attempt = secrets.token_hex(8)
        if profile.get("erased"):
            return self._final(t, c, "suppressed", "erased", now, attempt, treated=False)
        if isinstance(c.trigger, Birthday) and not birthday_counts(profile, t.occurrence):
            return "birthday_too_recent"  # a member-set birthday on file < 30 days: not yet
        from chalicelib.domain.campaigns.profile import audience_profile

        local_today = now.astimezone(policy.zone(tz)).date()
        if not c.matcher(audience_profile(profile, loyalty, today=local_today)):
            return "not_in_audience"
        # Intent to treat: the holdout is drawn from the audience alone, before consent,
        # quiet hours, caps, limits and budget, and every member assigned to treatment
        # counts in the treated group ("assigned") whatever happens next (delivered,
        # suppressed or failed); orders are credited to both groups the same way. Comparing
        # delivered members (reachable, consenting: the most engaged) with an unfiltered
        # holdout reported lift where the campaign did nothing.
        exp = c.experiment
        if exp and policy.held_out(c.id, t.member, exp.holdout_percent):
            return self._final(t, c, "held_out", None, now, attempt)
        actions = list(c.actions)
        arm = None
        if exp and exp.variants:
            arm = policy.variant(c.id, t.member, [(v.id, v.weight) for v in exp.variants])
            chosen = next((v for v in exp.variants if v.id == arm), None)
            if chosen and chosen.actions:
                actions = list(chosen.actions)
        msg = message_action(actions)
        allowed = policy.consent_outcome(
            [str(ch) for ch in msg.channels] if msg else [], profile.get("consent"),
            require_consent=c.delivery.require_consent,
            other_effects=any(not isinstance(a, Message) for a in actions))
        if allowed is None:
            return self._final(t, c, "suppressed", "consent", now, attempt, arm)
        channels = allowed
        quiet = c.delivery.quiet_hours
        noisy = [ch for ch in channels if ch != "inbox"]
        if quiet and noisy:
            until = policy.quiet_until(now, tz, quiet.start, quiet.end)
            if until is not None:
                if t.deferred >= MAX_DEFERRALS:  # never loop: give up rather than wake them
                    return self._final(t, c, "suppressed", "quiet", now, attempt, arm)
                return self._defer(t, until, count=t.deferred == 0, day=_day(now, c))
        return self._deliver(t, c, profile, loyalty, actions, msg, channels, arm, tz, now,
                             attempt)

    def _final(self, t: Task, c: Campaign, state: str, reason: str | None, now: datetime,
               attempt: str, arm: str | None = None, treated: bool = True) -> str:
        """Held out, suppressed or failed: a send record and counters, nothing else.

        A member decided after the holdout draw (``treated``; erased members are decided
        before it) is in the treated group with its arm: ``assigned`` and the variant's
        counters include it, and its orders are credited like a delivered member's."""
        counter = {"held_out": "held_out", "failed": "failed"}.get(state, f"suppressed_{reason}")
        counters = {"targeted": 1, counter: 1}
        group = None
        if state == "held_out":
            group = "holdout"
        elif treated:
            group = "treated"
            counters["assigned"] = 1
        record = self._record(t, state, attempt, now, reason=reason, group=group, variant=arm)
        out = with_retries(lambda: self.repo.commit(c.id, t.occurrence, t.member,
                                                    Commit(record, counters,
                                                           day=_day(now, c))))
        return state if out.status == "committed" else "duplicate"

    def _defer(self, t: Task, until: datetime, count: bool, day: str | None = None) -> str:
        task = Task(t.campaign, t.occurrence, t.member, iso(until), None, t.event,
                    t.deferred + 1).to_json()
        due = iso(until)
        with_retries(lambda: self.repo.defer(t.campaign, t.occurrence, t.member,
                                             t.deferred + 1, due, iso(floor_quarter(until)),
                                             task, count, day=day))
        return "deferred"

    def _record(self, t: Task, state: str, attempt: str, now: datetime, **extra: Any
                ) -> dict[str, Any]:
        rec = {"state": state, "attempt": attempt, "decided_at": iso(now), "due_at": t.at,
               **{k: v for k, v in extra.items() if v is not None}}
        if t.event:
            rec["event_type"] = t.event.get("type")
        return rec

    def _deliver(self, t: Task, c: Campaign, profile: dict[str, Any],
                 loyalty: dict[str, Any] | None, actions: list[Any], msg: Message | None,
                 channels: list[str], arm: str | None, tz: str, now: datetime,
                 attempt: str) -> str:
        stamp = iso(now)
        effects: list[Effect] = []
        try:
            for template, qty in coupon_actions(actions).items():
                effects.append(with_retries(lambda template=template, qty=qty: (
                    self.effects.coupons(t.member, template, qty, c.id, t.occurrence, stamp))))
            pts = 0
            for a in actions:  # several awards become one (one balance write)
                if isinstance(a, AwardPoints):  # multipliers: the earning rule's exact floor
                    pts += a.points or scale_points(int((t.event or {}).get("points", 0)),
                                                    a.multiplier or 0)
            if pts > 0:
                reason = next((a.reason for a in actions if isinstance(a, AwardPoints)
                               and a.reason), None) or c.name
                effects.append(self.effects.points(t.member, pts, reason, c.id, t.occurrence,
                                                   stamp))
        except EffectUnavailable as e:
            logger().warning("campaign effect unavailable", extra={"campaign": c.id,
                                                                   "error": str(e)})
            return self._final(t, c, "failed", "effect_unavailable", now, attempt, arm)
        facts: dict[str, Any] = {}
        counters: dict[str, int] = {"targeted": 1, "delivered": 1, "assigned": 1}
        spend: dict[str, int] = {}
        items: list[dict[str, Any]] = []
        executor, offset = None, 0
        for e in effects:
            items += e.items
            if e.executor is not None:
                executor, offset = e.executor, e.offset
            facts.update(e.facts)
            for k, v in e.counters.items():
                counters[k] = counters.get(k, 0) + v
            for k, v in e.spend.items():
                spend[k] = spend.get(k, 0) + v
        rendered = None
        if msg and channels:  # no consented channel: the coupon/points go without it
            rendered = self._render(c, msg, profile, loyalty, facts, t)
            spend["messages"] = 1
            if "inbox" in channels:
                items += self.channels["inbox"].items(profile, rendered, now)
                counters["sent_inbox"] = 1
        guards = []
        cap = self.caps.get(str(c.delivery.cap_class))
        if cap:
            day, week = policy.cap_periods(now, tz)
            if cap.per_day is not None:
                guards.append(self.repo.cap_guard(t.member, str(c.delivery.cap_class), day,
                                                  cap.per_day, now + timedelta(days=3)))
            if cap.per_week is not None:
                guards.append(self.repo.cap_guard(t.member, str(c.delivery.cap_class), week,
                                                  cap.per_week, now + timedelta(days=15)))
        period = str(c.limits.period)
        guards.append(self.repo.limit_guard(
            t.member, c.id, policy.limit_period(now, tz, period), c.limits.per_member,
            None if period == "campaign" else now + timedelta(days=400)))
        if c.budget and not c.budget.is_empty():
            limits = {k: getattr(c.budget, k) for k in ("coupons", "points", "messages",
                                                         "money_minor")}
            over = [k for k, v in spend.items() if limits.get(k) is not None
                    and v > int(limits[k])]
            if over:
                return self._final(t, c, "suppressed", "budget", now, attempt, arm)
            budgeted = {k: (v, int(limits[k])) for k, v in spend.items()
                        if limits.get(k) is not None and v}
            if budgeted:
                guards.append(self.repo.budget_guard(c.id, budgeted, t.member))
        external = [ch for ch in channels if ch != "inbox"]
        record = self._record(t, "delivered", attempt, now, group="treated", variant=arm,
                              channels=channels,
                              **{f"ch_{ch}": "pending" for ch in external},
                              coupon_ids=(facts.get("coupon") or {}).get("ids"))
        # The outbox entries ride in the commit: a crash after it cannot lose the sends.
        mid = message_id(c.id, t.occurrence, t.member)
        outbox = [OutboxEntry(ch, mid, rendered_fields(rendered), retry_at(1))
                  for ch in external] if rendered else []
        try:
            out: Outcome = with_retries(lambda: self.repo.commit(
                c.id, t.occurrence, t.member,
                Commit(record, counters, guards, items, executor, offset, outbox,
                       day=_day(now, c))))
        except EffectUnavailable as e:
            logger().warning("campaign effect unavailable", extra={"campaign": c.id,
                                                                   "error": str(e)})
            return self._final(t, c, "failed", "effect_unavailable", now, attempt, arm)
        if out.status == "duplicate":
            return "duplicate"
        if out.status == "suppressed":
            return self._final(t, c, "suppressed", out.reason, now, attempt, arm)
        if out.status == "effect_failed":
            return self._final(t, c, "failed", "effect", now, attempt, arm)
        metrics_add("CampaignDelivered")
        if outbox:
            self._send_external(t, c, profile, outbox, _day(now, c))
        return "delivered"

    def _render(self, c: Campaign, msg: Message, profile: dict[str, Any],
                loyalty: dict[str, Any] | None, facts: dict[str, Any], t: Task) -> Rendered:
        from chalicelib.domain.campaigns.templates import context_for, render_message

        order = (t.event or {}).get("order")
        ctx = context_for(profile, loyalty, coupon=facts.get("coupon"), order=order,
                          campaign_name=c.name, tz=profile.get("timezone") or c.timezone)
        out = render_message(msg, profile.get("locale"), ctx)
        return Rendered(out["title"], out["body"], out.get("deep_link"), c.id, t.occurrence,
                        out["locale"], out.get("email"))

    def _send_external(self, t: Task, c: Campaign, profile: dict[str, Any],
                       outbox: list[OutboxEntry], day: str | None = None) -> None:
        """After the commit: one try per channel through the outbox (its entry is pending;
        whatever this try leaves pending the sweeper sends again with the same id)."""
        sender = Outbox(self.repo, self.channels, day_of=lambda _cid: day)
        for o in outbox:
            sender.send({"member_id": t.member, "campaign_id": c.id,
                         "occurrence": t.occurrence, "channel": o.channel,
                         "message_id": o.message_id, "message": o.message, "tries": 1},
                        profile)

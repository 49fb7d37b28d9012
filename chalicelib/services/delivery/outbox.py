"""Push, SMS and webhook at least once: the outbox and its sweeper.

The delivery transaction puts one pending outbox entry per external channel next to the send
record (see ``DeliveryRepository.commit``), with ``tries = 1`` and a retry time
``STALE_AFTER`` ahead. The worker then calls the provider with the entry's stable message id
in the payload and finishes the entry (conditional on it still being pending). If the worker
dies before or during the call, or the provider call works but finishing fails, the entry
stays pending; the ``sweep-outbox`` schedule reads only stale pending entries (one key query
per shard of a sparse index), claims each (conditional ``tries`` bump that also moves its
retry time out by an exponential backoff) and sends it again with the same message id.
After ``MAX_TRIES`` tries the entry is dead-lettered: the channel is marked failed and
counted as ``dead_lettered``. Before each retry the sweeper asks again what the worker asked
before the first try: an entry whose member was erased, withdrew that channel's consent, or
whose campaign was paused or ended is finished ``failed`` with that reason (counted in the
stats' ``outbox_stopped``), and one whose member is in the campaign's quiet hours is moved to
the window's end without spending a try. A duplicate is possible (the provider took it, the mark was
lost); the app drops it by message id. Inbox and coupon effects are in the transaction and
stay exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.adapters.delivery.channels import Channel, Rendered
from chalicelib.adapters.delivery.repository import DeliveryRepository
from chalicelib.adapters.retries import with_retries
from chalicelib.domain.delivery import policy
from chalicelib.observability import logger, metrics_add
from chalicelib.services import clock

STALE_AFTER = timedelta(minutes=5)  # a live worker finishes far sooner than this
BACKOFF_CAP = timedelta(hours=2)
MAX_TRIES = 5                       # tries at 0, +5, +10, +20, +40 minutes, then dead
PROVIDER_ATTEMPTS = 3               # quick retries of a throttled call inside one try
SWEEP_LIMIT = 200                   # entries per shard per run (a run stays well under 1 min)


def retry_at(tries: int, now: datetime | None = None) -> str:
    """When an entry tried ``tries`` times may be tried again (exponential backoff)."""
    delay = min(BACKOFF_CAP, STALE_AFTER * 2 ** max(0, tries - 1))
    return clock.iso((now or clock.now()) + delay)


def message_id(campaign_id: str, occurrence: str, member_id: str) -> str:
    """The stable id of one member's message of an occurrence (same on every re-send)."""
    return f"{campaign_id}:{occurrence}:{member_id}"


def rendered_fields(msg: Rendered) -> dict[str, Any]:
    out = {"title": msg.title, "body": msg.body, "deep_link": msg.deep_link,
           "locale": msg.locale}
    return {**out, "email": msg.email} if msg.email else out


@dataclass
class SweepReport:
    stale: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    stopped: int = 0     # no longer allowed (erased, consent, campaign paused or ended)
    postponed: int = 0   # in the member's quiet hours: moved to the window's end


@dataclass
class Outbox:
    repo: DeliveryRepository
    channels: dict[str, Channel]
    max_tries: int = MAX_TRIES
    report: SweepReport = field(default_factory=SweepReport)
    campaigns: Any = None  # a CampaignSource: the sweeper re-checks status and quiet hours
    # campaign id → the results day a finished send counts on (None: no daily counters)
    day_of: Callable[[str], str | None] | None = None

    def send(self, entry: dict[str, Any], profile: dict[str, Any] | None) -> str:
        """One try of a pending entry already claimed (or just committed): provider call with
        the stable message id, then finish. Returns sent | failed | retrying | dead."""
        ch, member = entry["channel"], entry["member_id"]
        channel = self.channels.get(ch)
        if channel is None:
            return self._finish(entry, "failed", "channel_missing")
        if profile is None or profile.get("erased"):
            return self._finish(entry, "failed", "erased", stopped=True)
        m = entry["message"]
        msg = Rendered(m["title"], m["body"], m.get("deep_link"), entry["campaign_id"],
                       entry["occurrence"], m["locale"], m.get("email"))
        try:
            res = with_retries(lambda: channel.send({**profile, "member_id": member}, msg,
                                                    entry["message_id"]),
                               attempts=PROVIDER_ATTEMPTS)
        except Exception as e:  # provider down: retried by the sweeper, then dead-lettered
            detail = type(e).__name__
            if int(entry.get("tries", 1)) >= self.max_tries:
                return self._finish(entry, "dead", detail)
            logger().warning("external send failed; the outbox retries it",
                             extra={"channel": ch, "campaign": entry["campaign_id"],
                                    "error": detail})
            try:
                self.repo.outbox_note(entry, detail)
            except Exception:  # the note is only for operators
                logger().warning("outbox note not written", extra={"channel": ch})
            metrics_add("OutboxRetry")
            return "retrying"
        return self._finish(entry, "sent" if res.ok else "failed", res.detail)

    def _finish(self, entry: dict[str, Any], state: str, detail: str | None,
                stopped: bool = False) -> str:
        ch = entry["channel"]
        day = self.day_of(entry["campaign_id"]) if self.day_of else None
        try:
            done = with_retries(lambda: self.repo.outbox_finish(
                entry["member_id"], entry["campaign_id"], entry["occurrence"], ch, state,
                detail, stopped=stopped, day=day))
        except Exception as e:
            # The send happened (or failed) but the entry stays pending: the sweeper sends it
            # again with the same message id (a duplicate the app drops), never loses it.
            logger().warning("outbox entry not finished; the sweeper will retry it",
                             extra={"channel": ch, "error": type(e).__name__})
            metrics_add("OutboxFinishFailed")
            return "retrying"
        if done:
            metrics_add({"sent": f"{ch.capitalize()}Sent", "dead": "OutboxDeadLettered"}.get(
                state, "DeliveryFailed"))
        return state

    # --- the sweeper ----------------------------------------------------------------------

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Re-send every pending entry whose retry time has come (at least once)."""
        now = now or clock.now()
        report = SweepReport()
        stale = with_retries(lambda: self.repo.outbox_stale(clock.iso(now), SWEEP_LIMIT))
        report.stale = len(stale)
        if not stale:
            return report
        profiles = with_retries(lambda: self.repo.profiles([e["member_id"] for e in stale]))
        campaigns: dict[str, Any] = {}
        for entry in stale:
            tries = int(entry.get("tries", 1))
            profile = profiles.get(entry["member_id"])
            cid = entry["campaign_id"]
            if cid not in campaigns:  # read fresh once per sweep: a pause stops retries now
                campaigns[cid] = self.campaigns.get(cid, fresh=True) if self.campaigns \
                    else None
            stop, until = self.retry_gate(entry, profile, campaigns[cid], now)
            if stop:
                outcome = self._finish(entry, "failed", stop, stopped=True)
                if outcome == "failed":
                    report.stopped += 1
            elif tries >= self.max_tries:  # the last try never reported back: give up
                outcome = self._finish(entry, "dead", entry.get("error") or "no_answer")
            elif until is not None:
                if with_retries(partial(self.repo.outbox_postpone, entry, clock.iso(until))):
                    report.postponed += 1
                else:
                    report.skipped += 1
                continue
            elif not with_retries(partial(self.repo.outbox_claim, entry,
                                          retry_at(tries + 1, now))):
                report.skipped += 1  # finished or claimed by someone else meanwhile
                continue
            else:
                outcome = self.send({**entry, "tries": tries + 1}, profile)
            key = {"sent": "sent", "failed": "failed", "dead": "dead_lettered"}.get(
                outcome, "retrying")
            setattr(report, key, getattr(report, key) + 1)
        logger().info("outbox swept", extra=report.__dict__)
        return report

    def retry_gate(self, entry: dict[str, Any], profile: dict[str, Any] | None,
                   campaign: Any, now: datetime) -> tuple[str | None, datetime | None]:
        """(stop reason, None) when the entry may no longer be sent, (None, quiet window's
        end) when it must wait, (None, None) when it may be tried now."""
        if profile is None or profile.get("erased"):
            return "erased", None
        ch = entry["channel"]
        if policy.consent_outcome([ch], profile.get("consent"), require_consent=False,
                                  other_effects=False) != [ch]:
            return "consent_withdrawn", None
        if campaign is None:  # no campaign source (tests of the provider path): no more checks
            return (None, None) if self.campaigns is None else ("campaign_ended", None)
        status = str(campaign.status)
        if status != "active":
            return ("campaign_paused" if status == "paused" else "campaign_ended"), None
        if campaign.delivery.require_consent and not policy.has_any_consent(
                profile.get("consent")):
            return "consent_withdrawn", None
        quiet = campaign.delivery.quiet_hours
        if quiet:
            tz = profile.get("timezone") or campaign.timezone
            return None, policy.quiet_until(now, tz, quiet.start, quiet.end)
        return None, None

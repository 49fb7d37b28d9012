"""Preview count jobs are bounded (both engines): one job per (campaign, document, day),
reused while open or recently finished; at most MAX_OPEN open per campaign (429 with
Retry-After beyond); counted at the preview's instant; claimed with a lease so a
redelivery never counts twice at once; queued on their own queue, never with real sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters import aws
from chalicelib.adapters.campaigns.preview_jobs import LEASE_SECONDS, MAX_OPEN
from chalicelib.config import get_settings
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.errors import TooManyRequests
from chalicelib.services import clock
from chalicelib.services.campaigns import campaigns
from chalicelib.services.campaigns import preview as campaign_preview
from tests.integration.test_campaign_preview_sample import doc, load

NOW = datetime(2025, 6, 1, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(engine: str) -> Any:  # after the engine fixture, which resets the clock
    clock.freeze(NOW)
    yield
    clock.freeze(None)


def edit(priority: int) -> Any:
    return parse_campaign(doc(priority=priority,
                              audience={"attr": "city", "op": "eq", "value": "Shanghai"}))


def preview(c: Any, at: datetime | None = None) -> dict[str, Any]:
    return campaigns.preview(c, at=at, samples=1, scan_limit=50)["audience"]


def queued(name: str) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    url = aws.queue_url(name)
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                  VisibilityTimeout=0).get("Messages", [])
        if not got:
            return out
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        out += got


def test_the_same_edit_the_same_day_shares_one_job_on_the_preview_queue(engine: str) -> None:
    load(600)
    first, again = preview(edit(1)), preview(edit(1))
    assert first["job_id"] == again["job_id"] and again["count"] == "pending"
    s = get_settings()
    assert len(queued(s.preview_queue_name)) == 1
    assert queued(s.delivery_queue_name) == []  # never in a batch with real sends
    assert campaign_preview.run_job("win-back", first["job_id"]) == {"preview_jobs": 1}
    # finished a moment ago: answered again, no new count
    assert preview(edit(1))["job_id"] == first["job_id"]
    assert queued(s.preview_queue_name) == []
    # finished long ago: counted again under the same name
    clock.freeze(NOW + timedelta(seconds=campaign_preview.REUSE_SECONDS + 1))
    assert preview(edit(1))["count"] == "pending"
    assert len(queued(s.preview_queue_name)) == 1
    # another day is another job (age and birthday rules count on the day)
    assert preview(edit(1), NOW + timedelta(days=1))["job_id"] != first["job_id"]


def test_a_campaign_has_at_most_max_open_jobs_then_429_with_retry_after(engine: str) -> None:
    load(600)
    ids = [preview(edit(p))["job_id"] for p in range(MAX_OPEN)]
    assert len(set(ids)) == MAX_OPEN
    with pytest.raises(TooManyRequests) as e:
        preview(edit(99))
    assert 0 < e.value.retry_after <= LEASE_SECONDS
    assert e.value.headers["Retry-After"] == str(e.value.retry_after)
    # a finished job frees its slot
    campaign_preview.run_job("win-back", ids[0])
    assert preview(edit(99))["count"] == "pending"
    # a slot whose job never ran lapses with its lease
    clock.freeze(NOW + timedelta(seconds=LEASE_SECONDS + 1))
    assert preview(edit(100))["count"] == "pending"


def test_the_job_counts_at_the_previews_instant_not_when_it_runs(
        engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    load(600)
    at = datetime(2025, 5, 20, 9, 30, tzinfo=UTC)
    job = preview(edit(1), at)["job_id"]
    seen: list[datetime] = []
    real = campaign_preview.count_exact
    monkeypatch.setattr(campaign_preview, "count_exact",
                        lambda c, when: seen.append(when) or real(c, when))
    clock.freeze(NOW + timedelta(hours=30))
    campaign_preview.run_job("win-back", job)
    assert seen == [at]


def test_a_redelivery_does_not_count_while_another_worker_holds_the_lease(
        engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    load(600)
    job = preview(edit(1))["job_id"]
    assert campaign_preview.jobs().claim("win-back", job, int(NOW.timestamp()))
    counted: list[int] = []
    real = campaign_preview.count_exact
    monkeypatch.setattr(campaign_preview, "count_exact",
                        lambda c, when: counted.append(1) or real(c, when))
    with pytest.raises(campaign_preview.CountBusy):  # retried later by SQS
        campaign_preview.run_job("win-back", job)
    assert counted == [] and campaign_preview.job_status("win-back", job)["status"] \
        == "running"
    # the holder died: once its lease lapses a redelivery takes over and counts once
    clock.freeze(NOW + timedelta(seconds=LEASE_SECONDS + 1))
    assert campaign_preview.run_job("win-back", job) == {"preview_jobs": 1}
    assert campaign_preview.run_job("win-back", job) == {"preview_jobs": 0}
    assert counted == [1] and campaign_preview.job_status("win-back", job)["status"] == "done"

"""Preview count jobs: ``CAMPAIGN#<id> / PREVIEWJOB#<job>`` and their queue message.

A preview answers at once from a sample; the exact audience count is a job: the item holds
the campaign document being previewed (as text, like campaign versions) and, once the
worker has read every bucket of the member index, the result. Jobs expire after a day (TTL).
The message goes on its own preview queue (``count-previews``: one job per invocation, a
longer timeout), never on the delivery queue: a count reading every member must not share
an SQS batch with real sends and push them past the deliver function's timeout. A job is
claimed (``running`` with a lease) before it counts, so a redelivery never counts twice at
once; a campaign holds at most ``MAX_OPEN`` slots (``PREVIEWSLOT#<n>``) for open jobs.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters import aws, keys
from chalicelib.adapters.dynamo import (
    ConditionFailed,
    TableRepository,
    doc_text,
    doc_value,
    plain,
    storable,
    translated,
    update_args,
)
from chalicelib.config import get_settings

JOB_TTL_SECONDS = 24 * 3600
MESSAGE_KEY = "preview_job"
MAX_OPEN = 3  # open (pending or running) count jobs per campaign
# A claimed count or a held slot lapses after this long: longer than the count function's
# timeout (infra/template.json), so a live count is never run twice; a crashed one is.
LEASE_SECONDS = 900


class PreviewJobs(TableRepository):
    def create(self, campaign_id: str, job_id: str, doc: dict[str, Any], *, at: str,
               ttl_epoch: int, estimate: dict[str, Any], count_at: str | None = None,
               replaces: str | None = None, slot: int | None = None) -> bool:
        """Record a pending job; ``count_at``: the instant the audience is counted at (the
        preview's). ``replaces``: the ``created_at`` of a finished job with this id that is
        started again. False when another preview created or restarted it first."""
        item = {**keys.preview_job(campaign_id, job_id), "entity": "preview_job",
                "campaign_id": campaign_id, "job_id": job_id, "status": "pending",
                "doc": doc_text(doc), "created_at": at, "at": count_at or at,
                "estimate": doc_text(estimate), keys.TTL_ATTR: ttl_epoch,
                **({"slot": slot} if slot is not None else {})}
        cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
        if replaces is not None:
            cond = {"ConditionExpression": "created_at = :was",
                    "ExpressionAttributeValues": {":was": replaces}}
        try:
            with translated():
                self.table.put_item(Item=storable(item), **cond)
        except ConditionFailed:
            return False
        return True

    def claim(self, campaign_id: str, job_id: str, now_epoch: int) -> bool:
        """Pending (or running with a lapsed lease: its worker died) → running, leased for
        ``LEASE_SECONDS``; False when another worker holds it or it is finished."""
        args = update_args(
            set_={"status": "running", "lease_until": now_epoch + LEASE_SECONDS},
            condition="#s = :pending OR (#s = :running AND lease_until < :now)",
            names={"#s": "status"},
            values={":pending": "pending", ":running": "running", ":now": now_epoch})
        try:
            with translated():
                self.table.update_item(Key=keys.preview_job(campaign_id, job_id), **args)
        except ConditionFailed:
            return False
        return True

    def acquire_slot(self, campaign_id: str, job_id: str, now_epoch: int) -> int | None:
        """One of the campaign's ``MAX_OPEN`` slots for a new job (a free one, or one whose
        lease lapsed), or None when every slot is held."""
        for n in range(MAX_OPEN):
            item = {**keys.preview_slot(campaign_id, n), "entity": "preview_slot",
                    "job_id": job_id, "lease_until": now_epoch + LEASE_SECONDS,
                    keys.TTL_ATTR: now_epoch + JOB_TTL_SECONDS}
            try:
                with translated():
                    self.table.put_item(
                        Item=storable(item),
                        ConditionExpression="attribute_not_exists(PK) OR lease_until < :now",
                        ExpressionAttributeValues={":now": now_epoch})
            except ConditionFailed:
                continue
            return n
        return None

    def slot_retry_after(self, campaign_id: str, now_epoch: int) -> int:
        """Seconds until the first held slot's lease lapses (at least 1)."""
        with translated():
            got = self.table.meta.client.batch_get_item(RequestItems={self.table.name: {
                "Keys": [keys.preview_slot(campaign_id, n) for n in range(MAX_OPEN)],
                "ConsistentRead": True}})["Responses"].get(self.table.name, [])
        leases = [int(plain(i).get("lease_until", 0)) for i in got]
        return max(1, min(leases, default=now_epoch + 1) - now_epoch)

    def release_slot(self, campaign_id: str, slot: int, job_id: str) -> None:
        """Free the slot if this job still holds it (a lapsed lease may have passed it on)."""
        try:
            with translated():
                self.table.delete_item(Key=keys.preview_slot(campaign_id, slot),
                                       ConditionExpression="job_id = :job",
                                       ExpressionAttributeValues={":job": job_id})
        except ConditionFailed:
            pass

    def get(self, campaign_id: str, job_id: str) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.preview_job(campaign_id, job_id),
                                       ConsistentRead=True).get("Item")
        if not item:
            return None
        out = {k: v for k, v in plain(item).items() if k not in ("PK", "SK")}
        for k in ("doc", "estimate", "result"):
            if isinstance(out.get(k), str):
                out[k] = doc_value(out[k])
        return out

    def finish(self, campaign_id: str, job_id: str, status: str, result: dict[str, Any],
               at: str) -> bool:
        """Record the outcome once (a redelivered message finds it done: False)."""
        args = update_args(set_={"status": status, "result": doc_text(result),
                                 "finished_at": at},
                           condition="#s IN (:pending, :running)", names={"#s": "status"},
                           values={":pending": "pending", ":running": "running"})
        try:
            with translated():
                self.table.update_item(Key=keys.preview_job(campaign_id, job_id), **args)
        except ConditionFailed:
            return False
        return True

    @staticmethod
    def enqueue(campaign_id: str, job_id: str) -> None:
        body = json.dumps({MESSAGE_KEY: {"campaign_id": campaign_id, "job_id": job_id}})
        with translated():
            aws.client("sqs").send_message(
                QueueUrl=aws.queue_url(get_settings().preview_queue_name), MessageBody=body)


def job_message(body: str) -> dict[str, str] | None:
    """The job a queue message body asks for, or None for any other message."""
    if MESSAGE_KEY not in body[:40]:
        return None
    try:
        raw = json.loads(body).get(MESSAGE_KEY)
    except (ValueError, AttributeError):
        return None
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str)
                                            for k in ("campaign_id", "job_id")):
        return None
    return {"campaign_id": raw["campaign_id"], "job_id": raw["job_id"]}

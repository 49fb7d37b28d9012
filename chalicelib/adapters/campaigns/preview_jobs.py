"""Preview count jobs: ``CAMPAIGN#<id> / PREVIEWJOB#<job>`` and their queue message.

A preview answers at once from a sample; the exact audience count is a job: the item holds
the campaign document being previewed (as text, like campaign versions) and, once the
worker has read every bucket of the member index, the result. Jobs expire after a day (TTL).
The message goes on the delivery queue (its worker routes ``{"preview_job": ...}`` bodies
here), so the local runner runs it exactly as Lambda's SQS trigger would.
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


class PreviewJobs(TableRepository):
    def create(self, campaign_id: str, job_id: str, doc: dict[str, Any], *, at: str,
               ttl_epoch: int, estimate: dict[str, Any]) -> None:
        item = {**keys.preview_job(campaign_id, job_id), "entity": "preview_job",
                "campaign_id": campaign_id, "job_id": job_id, "status": "pending",
                "doc": doc_text(doc), "created_at": at, "estimate": doc_text(estimate),
                keys.TTL_ATTR: ttl_epoch}
        with translated():
            self.table.put_item(Item=storable(item),
                                ConditionExpression="attribute_not_exists(PK)")

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
                           condition="#s = :pending", names={"#s": "status"},
                           values={":pending": "pending"})
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
                QueueUrl=aws.queue_url(get_settings().delivery_queue_name), MessageBody=body)


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

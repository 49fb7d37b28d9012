"""The delivery and events queues (SQS): work and domain events out, dead letters counted.

Queue URLs are looked up when first needed (not at import), so tests and the local stack
have their queues created first."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.adapters import aws
from chalicelib.adapters.retries import send_batches
from chalicelib.config import Settings, get_settings
from chalicelib.observability import logger


class DeliveryQueues:
    def __init__(self, settings: Callable[[], Settings] = get_settings) -> None:
        self._settings = settings

    def send_work(self, bodies: list[str]) -> int:
        """Delivery entries (member tasks, broadcast scans) onto the delivery queue, ten per
        SendMessageBatch; returns the number of requests made."""
        return send_batches(aws.queue_url(self._settings().delivery_queue_name), bodies)

    def send_events(self, bodies: list[str]) -> int:
        """Domain events onto the events queue (SendMessageBatch, ten per request)."""
        return send_batches(aws.queue_url(self._settings().events_queue_name), bodies)

    def dead_letters(self) -> dict[str, int]:
        """Messages waiting in the delivery and events dead-letter queues; a queue that
        cannot be counted is left out (counting must never fail the planner)."""
        s = self._settings()
        out: dict[str, int] = {}
        for label, name in (("delivery", s.delivery_dlq_name), ("events", s.events_dlq_name)):
            try:
                attrs = aws.client("sqs").get_queue_attributes(
                    QueueUrl=aws.queue_url(name),
                    AttributeNames=["ApproximateNumberOfMessages"])
                out[label] = int(attrs["Attributes"]["ApproximateNumberOfMessages"])
            except Exception:
                logger().warning("could not count dead letters", extra={"queue": label})
        return out

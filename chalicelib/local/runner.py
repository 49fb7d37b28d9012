"""The local runner: Lambda's event sources for a Chalice app, against local engines.

It reads the app's registered event sources and invokes the same wrapped handlers Lambda
would (``app.handler_map``, so middleware runs), with AWS-shaped events:

- ``@app.schedule``: fired on its ``rate(...)``/``cron(...)`` schedule (UTC) with an EventBridge
  "Scheduled Event"; a failure is retried twice, 1 and 2 minutes later (async invocation).
- ``@app.on_sqs_message``: long-polls the queue, invokes with up to ``batch_size`` records,
  deletes what succeeded. A raised exception fails the whole batch; a returned
  ``{"batchItemFailures": [{"itemIdentifier": messageId}]}`` fails only those. Failed
  messages stay on the queue and reappear after the visibility timeout (or ``retry_after``
  seconds), so the queue's redrive policy moves them to the DLQ after ``maxReceiveCount``.
- ``@app.on_dynamodb_record``: reads the table's stream shard by shard (see ``streams``).
- ``@app.on_sns_message``: the topic (created if missing) gets an SQS subscription of the
  runner's own (``<topic>-runner``); each message is invoked alone, as an SNS record, like
  Lambda's asynchronous invocation: a failure is retried twice (1 and 2 minutes later), then
  the event goes to the events DLQ (the deployed functions' dead-letter queue).

Tests and the CLI use ``fire_schedule(name_or_handler, at=None)``,
``drain(queue_name, max_batches=100)`` and ``drain_topic(topic_name)``;
``python -m chalicelib.local.runner --help``.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib.config import get_settings
from chalicelib.local import events, schedule
from chalicelib.local.streams import Checkpoints, StreamReader

log = logging.getLogger("local.runner")
ASYNC_RETRY_DELAYS = (60.0, 120.0)
SQS_WAIT_SECONDS = 2  # long poll; also bounds how long stop() waits for an idle poller
STREAM_IDLE_SECONDS = 0.5


@dataclass
class DrainResult:
    batches: int = 0
    succeeded: int = 0
    failed: int = 0
    failed_ids: list[str] = field(default_factory=list)


class Runner:
    """Event sources of one Chalice ``app``; ``start()`` runs them in daemon threads."""

    def __init__(self, app: Any, *, retry_after: int | None = None,
                 state_file: Path | None = None, anchor: datetime | None = None) -> None:
        from chalice.app import (
            DynamoDBEventConfig,
            ScheduledEventConfig,
            SNSEventConfig,
            SQSEventConfig,
        )

        self.app = app
        self.settings = get_settings()
        self.region = self.settings.region
        self.retry_after = retry_after
        sources = list(app.event_sources)
        self.schedules = [s for s in sources if isinstance(s, ScheduledEventConfig)]
        self.queues = [s for s in sources if isinstance(s, SQSEventConfig)]
        self.streams = [s for s in sources if isinstance(s, DynamoDBEventConfig)]
        self.topics = [s for s in sources if isinstance(s, SNSEventConfig)]
        known = (*self.schedules, *self.queues, *self.streams, *self.topics)
        self.unsupported = [s for s in sources if s not in known]
        start = anchor or datetime.now(UTC)
        self.parsed = {s.name: schedule.parse(s.schedule_expression, anchor=start)
                       for s in self.schedules}
        self.next_fire = {name: p.next_after(start) for name, p in self.parsed.items()}
        self.checkpoints = Checkpoints(state_file)
        self._readers: dict[str, StreamReader] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queue_info: dict[str, tuple[str, str]] = {}
        self._topic_info: dict[str, tuple[str, str]] = {}  # handler → (queue URL, sub ARN)
        self._streams: Any = None

    # --- invocation ---------------------------------------------------------------------

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        handler = self.app.handler_map[name]
        context = events.LambdaContext(f"{self.app.app_name}-{self.settings.stage}-{name}",
                                       self.region)
        return handler(event, context)

    def summary(self) -> str:
        parts = [f"{len(self.schedules)} schedule(s)", f"{len(self.queues)} queue handler(s)",
                 f"{len(self.streams)} stream handler(s)", f"{len(self.topics)} topic handler(s)"]
        text = ", ".join(parts)
        if self.unsupported:
            names = ", ".join(f"{type(s).__name__}:{s.name}" for s in self.unsupported)
            text += f" (not run locally: {names})"
        return text

    # --- schedules ----------------------------------------------------------------------

    def _schedule(self, name_or_handler: Any) -> Any:
        for s in self.schedules:
            wrapped = self.app.handler_map.get(s.name)
            if name_or_handler in (s.name, s.handler_string, s.handler_string.rsplit(".", 1)[-1]):
                return s
            if callable(name_or_handler) and name_or_handler in (
                    wrapped, getattr(wrapped, "func", None)):
                return s
        names = ", ".join(s.name for s in self.schedules) or "none registered"
        raise KeyError(f"no scheduled handler {name_or_handler!r} (schedules: {names})")

    def fire_schedule(self, name_or_handler: Any, at: datetime | None = None) -> Any:
        """Invoke a scheduled handler once, as EventBridge would at ``at``; returns its result."""
        s = self._schedule(name_or_handler)
        when = at or datetime.now(UTC)
        rule = f"{self.app.app_name}-{self.settings.stage}-{s.name}-event"
        return self._invoke(s.name, events.scheduled_event(rule, self.region, when))

    def due(self, now: datetime) -> list[tuple[str, datetime]]:
        """Schedules due at ``now`` (advancing them); missed fires are not backfilled."""
        out = []
        for name, when in self.next_fire.items():
            if when <= now:
                out.append((name, when))
                nxt = self.parsed[name].next_after(when)
                self.next_fire[name] = nxt if nxt > now else self.parsed[name].next_after(now)
        return out

    def _fire_async(self, name: str, at: datetime) -> None:
        for attempt, delay in enumerate((0.0, *ASYNC_RETRY_DELAYS)):
            if delay and self._stop.wait(delay):
                return
            try:
                self.fire_schedule(name, at)
                log.info("schedule %s: done", name)
                return
            except Exception:
                log.exception("scheduled handler %s failed (attempt %d of 3)", name, attempt + 1)

    def _schedule_loop(self) -> None:
        while not self._stop.is_set():
            now = datetime.now(UTC)
            for name, at in self.due(now):
                log.info("firing schedule %s (%s)", name, self.parsed[name].expression)
                threading.Thread(target=self._fire_async, args=(name, at), daemon=True,
                                 name=f"schedule:{name}").start()
            soonest = min(self.next_fire.values())
            self._stop.wait(min(30.0, max(0.05, (soonest - datetime.now(UTC)).total_seconds())))

    # --- SQS ----------------------------------------------------------------------------

    def _sqs(self) -> Any:
        from chalicelib.adapters import aws

        return aws.client("sqs")

    def _queue(self, cfg: Any) -> tuple[str, str]:
        """(queue URL, queue ARN) for an SQS event source."""
        name = cfg.queue or cfg.queue_arn.rsplit(":", 1)[-1]
        if name not in self._queue_info:
            url = self._sqs().get_queue_url(QueueName=name)["QueueUrl"]
            arn = self._sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
            self._queue_info[name] = (url, arn)
        return self._queue_info[name]

    def _queue_cfg(self, queue_name: str) -> Any:
        for q in self.queues:
            if queue_name in (q.name, q.queue, (q.queue_arn or "").rsplit(":", 1)[-1]):
                return q
        names = ", ".join(q.queue or q.queue_arn or "?" for q in self.queues) or "none registered"
        raise KeyError(f"no SQS handler for queue {queue_name!r} (queues: {names})")

    def _receive(self, cfg: Any, wait: int) -> list[dict[str, Any]]:
        url, _ = self._queue(cfg)
        window = float(cfg.maximum_batching_window_in_seconds or 0)
        deadline = time.monotonic() + window
        messages: list[dict[str, Any]] = []
        while len(messages) < cfg.batch_size:
            got = self._sqs().receive_message(
                QueueUrl=url, MaxNumberOfMessages=min(10, cfg.batch_size - len(messages)),
                WaitTimeSeconds=wait if not messages else 0,
                MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += got
            if not got or time.monotonic() >= deadline:
                break
        return messages

    def process(self, cfg: Any, messages: list[dict[str, Any]],
                retry_after: int | None = None) -> DrainResult:
        """Invoke the handler with one batch and settle it like the SQS event source mapping."""
        url, arn = self._queue(cfg)
        ids = [m["MessageId"] for m in messages]
        try:
            response = self._invoke(cfg.name, {"Records": [events.sqs_record(m, arn, self.region)
                                                           for m in messages]})
            failed = events.failed_items(response, ids)
        except Exception:
            log.exception("SQS handler %s failed; %d message(s) left for redelivery",
                          cfg.name, len(messages))
            failed = ids
        log.info("sqs %s -> %s: %d message(s), %d failed", cfg.queue or cfg.queue_arn, cfg.name,
                 len(ids), len(failed))
        by_id = {m["MessageId"]: m for m in messages}
        done = [by_id[i] for i in ids if i not in set(failed)]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            self._sqs().delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)])
        delay = self.retry_after if retry_after is None else retry_after
        if failed and delay is not None:
            retry = [by_id[i] for i in failed]
            for start in range(0, len(retry), 10):
                self._sqs().change_message_visibility_batch(QueueUrl=url, Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": delay}
                    for n, m in enumerate(retry[start:start + 10])])
        return DrainResult(1, len(done), len(failed), list(failed))

    def poll_queue(self, cfg: Any, wait: int | None = None) -> DrainResult | None:
        messages = self._receive(cfg, SQS_WAIT_SECONDS if wait is None else wait)
        return self.process(cfg, messages) if messages else None

    def drain(self, queue_name: str, max_batches: int = 100, retry_after: int | None = 0
              ) -> DrainResult:
        """Process batches until the queue has no visible messages (or ``max_batches``).

        Failed messages become visible again after ``retry_after`` seconds (0: at once, so a
        poison message reaches the DLQ within one drain; None: the queue's visibility timeout).
        """
        cfg = self._queue_cfg(queue_name)
        url, _ = self._queue(cfg)
        total = DrainResult()
        for _ in range(max_batches):
            messages = self._receive(cfg, 0)
            if not messages:
                attrs = self._sqs().get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
                if int(attrs["ApproximateNumberOfMessages"]) == 0:
                    break
                continue
            r = self.process(cfg, messages, retry_after=retry_after)
            total.batches += 1
            total.succeeded += r.succeeded
            total.failed += r.failed
            total.failed_ids += r.failed_ids
        return total

    def _queue_loop(self, cfg: Any) -> None:
        while not self._stop.is_set():
            try:
                self.poll_queue(cfg)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling queue %s failed; retrying", cfg.queue)
                self._stop.wait(2.0)

    # --- SNS topics ---------------------------------------------------------------------

    def _topic_cfg(self, topic: str) -> Any:
        for t in self.topics:
            if topic in (t.name, t.topic, t.topic.rsplit(":", 1)[-1]):
                return t
        names = ", ".join(t.topic for t in self.topics) or "none registered"
        raise KeyError(f"no SNS handler for topic {topic!r} (topics: {names})")

    def subscribe(self, cfg: Any) -> tuple[str, str]:
        """(queue URL, subscription ARN) of the runner's SQS subscription to ``cfg``'s topic,
        created on first use (the topic too): messages published before it are not seen."""
        if cfg.name not in self._topic_info:
            from chalicelib.adapters import aws

            name = cfg.topic.rsplit(":", 1)[-1]
            topic_arn = aws.client("sns").create_topic(Name=name)["TopicArn"]
            url = self._sqs().create_queue(QueueName=f"{name}-runner"[:80])["QueueUrl"]
            queue_arn = self._sqs().get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sub = aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs",
                                              Endpoint=queue_arn, ReturnSubscriptionArn=True)
            self._topic_info[cfg.name] = (url, sub["SubscriptionArn"])
        return self._topic_info[cfg.name]

    def _notify(self, cfg: Any, message: dict[str, Any], final: bool) -> bool:
        """Invoke the handler with one SNS record; True when it succeeded. On the ``final``
        failure the event goes to the events DLQ, as the deployed function's would."""
        _, sub_arn = self.subscribe(cfg)
        event = {"Records": [events.sns_record(json.loads(message["Body"]), sub_arn)]}
        try:
            self._invoke(cfg.name, event)
            log.info("sns %s -> %s: 1 message", cfg.topic, cfg.name)
            return True
        except Exception:
            log.exception("SNS handler %s failed%s", cfg.name,
                          "; its event goes to the events DLQ" if final else "; retried")
        if final:
            self._sqs().send_message(QueueUrl=aws_queue_url(self.settings.events_dlq_name),
                                     MessageBody=json.dumps(event))
        return False

    def poll_topic(self, cfg: Any, wait: int = SQS_WAIT_SECONDS, now: bool = False) -> int:
        """One receive from the topic's subscription queue; returns messages settled.
        A failed message is retried 1 and 2 minutes later (``now``: at once), 3 tries in all."""
        url, _ = self.subscribe(cfg)
        got = self._sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                          WaitTimeSeconds=wait,
                                          MessageSystemAttributeNames=["All"]).get("Messages", [])
        for m in got:
            tries = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            last = tries >= 1 + len(ASYNC_RETRY_DELAYS)
            if self._notify(cfg, m, final=last) or last:  # done, or given up (in the DLQ)
                self._sqs().delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            else:
                delay = 0 if now else int(ASYNC_RETRY_DELAYS[tries - 1])
                self._sqs().change_message_visibility(
                    QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=delay)
        return len(got)

    def drain_topic(self, topic: str, max_rounds: int = 100) -> int:
        """Deliver everything published to ``topic`` since the runner subscribed (retries at
        once); returns the number of deliveries made."""
        cfg = self._topic_cfg(topic)
        total = 0
        for _ in range(max_rounds):
            n = self.poll_topic(cfg, wait=0, now=True)
            if not n:
                return total
            total += n
        return total

    def _topic_loop(self, cfg: Any) -> None:
        while not self._stop.is_set():
            try:
                self.poll_topic(cfg)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling topic %s failed; retrying", cfg.topic)
                self._stop.wait(2.0)

    # --- DynamoDB streams ---------------------------------------------------------------

    def _streams_client(self) -> Any:
        """dynamodbstreams lives at the DynamoDB endpoint (DynamoDB Local or moto server).

        Without an endpoint (moto in-process) the regional ``streams.dynamodb`` host is used:
        moto does not route botocore's account-based ``<account>.streams-ddb`` host.
        """
        from botocore.config import Config

        from chalicelib.adapters import aws

        if self._streams is None:
            self._streams = aws._session().client(
                "dynamodbstreams", endpoint_url=self.settings.dynamodb_endpoint,
                config=aws._config().merge(Config(account_id_endpoint_mode="disabled")))
        return self._streams

    def stream_arn(self, configured: str) -> str:
        """The local stream of the table named in ``configured`` (else the Perks table).

        A deployed app names a real stream ARN; locally the table's stream has another label
        (and is new after a reset), so the table name is what identifies it.
        """
        from chalicelib.adapters import aws

        parts = configured.split(":", 5)
        name = self.settings.table_name
        if len(parts) == 6 and parts[5].startswith("table/"):
            name = parts[5].split("/")[1]
        desc = aws.client("dynamodb").describe_table(TableName=name)["Table"]
        arn = desc.get("LatestStreamArn")
        if not arn or not desc.get("StreamSpecification", {}).get("StreamEnabled", True):
            raise RuntimeError(f"table {name} has no stream enabled (see infra/template.json)")
        return str(arn)

    def reader(self, cfg: Any) -> StreamReader:
        if cfg.name not in self._readers:
            def invoke(records: list[dict[str, Any]]) -> list[str]:
                seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
                failed = events.failed_items(self._invoke(cfg.name, {"Records": records}), seqs)
                log.info("stream -> %s: %d record(s), %d failed", cfg.name, len(seqs), len(failed))
                return failed

            self._readers[cfg.name] = StreamReader(
                self._streams_client(), self.stream_arn(cfg.stream_arn),
                batch_size=cfg.batch_size, starting_position=cfg.starting_position,
                invoke=invoke, region=self.region, checkpoints=self.checkpoints)
        return self._readers[cfg.name]

    def poll_streams(self) -> int:
        """One read round over every stream handler; returns records processed."""
        return sum(self.reader(cfg).poll_once() for cfg in self.streams)

    def _stream_loop(self, cfg: Any) -> None:
        while not self._stop.is_set():
            try:
                n = self.reader(cfg).poll_once()
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("reading the stream for %s failed; retrying", cfg.name)
                n = 0
                self._stop.wait(2.0)
            if not n:
                self._stop.wait(STREAM_IDLE_SECONDS)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> Runner:
        for cfg in self.streams:
            self.reader(cfg).prime()  # LATEST means "from when the stack started"
        for topic in self.topics:
            self.subscribe(topic)  # before anything publishes
        targets: list[tuple[str, Callable[..., None], tuple[Any, ...]]] = []
        if self.schedules:
            targets.append(("schedules", self._schedule_loop, ()))
        targets += [(f"sqs:{c.name}", self._queue_loop, (c,)) for c in self.queues]
        targets += [(f"stream:{c.name}", self._stream_loop, (c,)) for c in self.streams]
        targets += [(f"sns:{c.name}", self._topic_loop, (c,)) for c in self.topics]
        for name, fn, args in targets:
            t = threading.Thread(target=fn, args=args, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        deadline = time.monotonic() + (SQS_WAIT_SECONDS + 2 if timeout is None else timeout)
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()


_default: dict[str, Runner] = {}


def default_runner(app: Any = None) -> Runner:
    """A runner for ``app`` (default: the Perks app from app.py), cached per app."""
    if app is None:
        from app import app as perks_app

        app = perks_app
    key = str(id(app))
    if key not in _default or _default[key].settings is not get_settings():
        _default[key] = Runner(app)
    return _default[key]


def fire_schedule(name_or_handler: Any, at: datetime | None = None, *, app: Any = None) -> Any:
    """Invoke a scheduled handler (by name, handler string or function) once, now."""
    return default_runner(app).fire_schedule(name_or_handler, at)


def drain(queue_name: str, max_batches: int = 100, *, app: Any = None,
          retry_after: int | None = 0) -> DrainResult:
    """Feed ``queue_name`` to its handler until empty; see ``Runner.drain``."""
    return default_runner(app).drain(queue_name, max_batches=max_batches, retry_after=retry_after)


def aws_queue_url(name: str) -> str:
    from chalicelib.adapters import aws

    return aws.queue_url(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.local.runner",
        description="Fire schedules / drain queues of the Perks app against a stage's endpoints "
                    "(default dev: the running `make run` stack, found through .local/stack.json; "
                    "--stack-dir DIR for another).")
    parser.add_argument("--stage", default="dev")
    from chalicelib.cli._shared import stack_options, target_stage

    stack_options(parser, top=True)  # the CLI's endpoint options: reach any running stack
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="show the app's event sources")
    fire = sub.add_parser("fire", help="invoke a scheduled handler once")
    fire.add_argument("name")
    fire.add_argument("--at", type=datetime.fromisoformat, default=None,
                      help="event time (ISO 8601, default now)")
    dr = sub.add_parser("drain", help="process a queue until it is empty")
    dr.add_argument("queue")
    dr.add_argument("--max-batches", type=int, default=100)
    args = parser.parse_args(argv)

    if args.command == "list":  # the app's own registrations: no stack needed
        from chalicelib.cli._shared import use_stage

        use_stage(args.stage)
    else:  # dev: `make run`'s stack.json, or --stack-dir / --ddb-url / --sqs-url
        target_stage(args)
    logging.basicConfig(level=logging.WARNING, format="[%(name)s] %(message)s")
    log.setLevel(logging.INFO)
    runner = default_runner()
    if args.command == "list":
        for s in runner.schedules:
            print(f"schedule  {s.name:30} {runner.parsed[s.name].expression}")
        for q in runner.queues:
            print(f"sqs       {q.name:30} {q.queue or q.queue_arn} (batch {q.batch_size})")
        for d in runner.streams:
            print(f"stream    {d.name:30} {d.stream_arn} (batch {d.batch_size})")
        for t in runner.topics:
            print(f"sns       {t.name:30} {t.topic}")
        return 0
    if args.command == "fire":
        at = args.at if args.at is None or args.at.tzinfo else args.at.replace(tzinfo=UTC)
        print(json.dumps(runner.fire_schedule(args.name, at), default=str))
        return 0
    print(json.dumps(runner.drain(args.queue, max_batches=args.max_batches).__dict__))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

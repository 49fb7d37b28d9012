"""The local runner delivers SNS topics to ``@app.on_sns_message`` handlers as Lambda would:
one record per invocation, the SNS event shape chalice reads, two retries, then the events
dead-letter queue. AWS is moto in-process."""

from __future__ import annotations

import json
from typing import Any

from chalice import Chalice

from chalicelib.adapters import aws
from chalicelib.config import get_settings
from chalicelib.local.runner import Runner


def build(fail: int = 0) -> tuple[Runner, list[Any]]:
    app = Chalice(app_name="sns-runner-test")
    seen: list[Any] = []
    failures = [fail]

    @app.on_sns_message(topic="perks-test-replies", name="replies")
    def replies(event: Any) -> dict[str, Any]:
        seen.append((event.message, event.subject, event.to_dict()))
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("the handler failed")
        return {"ok": 1}

    runner = Runner(app)
    runner.subscribe(runner.topics[0])
    return runner, seen


def publish(message: dict[str, Any], subject: str | None = None) -> None:
    sns = aws.client("sns")
    arn = sns.create_topic(Name="perks-test-replies")["TopicArn"]
    sns.publish(TopicArn=arn, Message=json.dumps(message), **(
        {"Subject": subject} if subject else {}))


def test_a_published_message_reaches_its_handler_as_an_sns_record(moto_stack: str) -> None:
    runner, seen = build()
    assert "1 topic handler(s)" in runner.summary() and not runner.unsupported
    publish({"originationNumber": "+8613800138000", "messageBody": "TD"}, subject="reply")
    assert runner.drain_topic("perks-test-replies") == 1
    [(message, subject, event)] = seen
    assert json.loads(message)["messageBody"] == "TD" and subject == "reply"
    [record] = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"].startswith(
        "arn:aws:sns:us-east-1:")
    assert record["Sns"]["TopicArn"].endswith(":perks-test-replies")
    assert {"MessageId", "Timestamp", "MessageAttributes", "Signature"} <= set(record["Sns"])
    assert runner.drain_topic("perks-test-replies") == 0  # settled: nothing left


def test_a_failing_handler_is_retried_twice_then_its_event_goes_to_the_events_dlq(
        moto_stack: str) -> None:
    runner, seen = build(fail=3)
    publish({"messageBody": "STOP"})
    assert runner.drain_topic("perks-test-replies") == 3  # the first try and two retries
    assert len(seen) == 3
    sqs = aws.client("sqs")
    dlq = aws.queue_url(get_settings().events_dlq_name)
    [dead] = sqs.receive_message(QueueUrl=dlq).get("Messages", [])
    assert json.loads(json.loads(dead["Body"])["Records"][0]["Sns"]["Message"]) == {
        "messageBody": "STOP"}


def test_a_handler_that_recovers_on_a_retry_is_not_dead_lettered(moto_stack: str) -> None:
    runner, seen = build(fail=1)
    publish({"messageBody": "T"})
    assert runner.drain_topic("perks-test-replies") == 2 and len(seen) == 2
    dlq = aws.queue_url(get_settings().events_dlq_name)
    assert aws.client("sqs").receive_message(QueueUrl=dlq).get("Messages", []) == []

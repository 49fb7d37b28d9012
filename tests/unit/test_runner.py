"""The local runner behaves like Lambda's event sources: schedules, SQS, DynamoDB streams.

A throwaway Chalice app registers one handler of each kind; AWS is moto in-process.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from chalice import Chalice, Cron, Rate
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.local import events, schedule, streams
from chalicelib.local.runner import Runner

T0 = datetime(2026, 11, 20, 10, 7, 30, tzinfo=UTC)  # a Friday


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- schedule expressions ----------------------------------------------------------------

@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("cron(0/15 * * * ? *)", T0, at(2026, 11, 20, 10, 15)),
    ("cron(0 9 ? * MON-FRI *)", T0, at(2026, 11, 23, 9, 0)),
    ("cron(30 1 * * ? *)", at(2026, 12, 31, 2, 0), at(2027, 1, 1, 1, 30)),
    ("cron(0 0 L * ? *)", at(2024, 2, 10), at(2024, 2, 29)),
    ("cron(0 12 ? * 6L *)", T0, at(2026, 11, 27, 12, 0)),
    ("cron(0 10 ? * 2#1 *)", T0, at(2026, 12, 7, 10, 0)),
    ("cron(0 8 15W * ? *)", at(2026, 11, 1), at(2026, 11, 16, 8, 0)),
    ("cron(0 8 1W * ? *)", at(2026, 7, 20), at(2026, 8, 3, 8, 0)),
    ("cron(0 18 LW * ? *)", at(2026, 10, 1), at(2026, 10, 30, 18, 0)),
    ("cron(0 0 1 JAN,JUL ? 2027)", T0, at(2027, 1, 1)),
    ("cron(15 10 ? * SUN *)", T0, at(2026, 11, 22, 10, 15)),
])
def test_cron_expressions_fire_when_eventbridge_would(expression: str, after: datetime,
                                                     expected: datetime) -> None:
    assert schedule.parse(expression).next_after(after) == expected


def test_next_fire_time_is_strictly_after_a_matching_instant() -> None:
    s = schedule.parse("cron(0 9 * * ? *)")
    assert s.next_after(at(2026, 1, 1, 9, 0)) == at(2026, 1, 2, 9, 0)


def test_rates_count_from_the_anchor_and_accept_chalice_objects() -> None:
    s = schedule.parse(Rate(5, unit=Rate.MINUTES), anchor=T0)
    assert s.expression == "rate(5 minutes)"
    assert s.next_after(T0) == T0 + timedelta(minutes=5)
    assert s.next_after(T0 + timedelta(minutes=7)) == T0 + timedelta(minutes=10)
    assert schedule.parse(Rate(1, unit=Rate.HOURS), anchor=T0).next_after(T0) == T0 + timedelta(
        hours=1)
    cron = schedule.parse(Cron(0, 6, "*", "*", "?", "*"))
    assert cron.next_after(T0) == at(2026, 11, 21, 6, 0)


@pytest.mark.parametrize("expression", [
    "cron(0 9 * * * *)",            # neither day field is '?'
    "cron(0 9 ? * ? *)",            # both are
    "cron(0 9 * * ?)",              # five fields
    "cron(61 9 * * ? *)",           # minute out of range
    "cron(0 9 ? * FUNDAY *)",
    "rate(1 minutes)",              # AWS wants the singular
    "rate(5 minute)",
    "rate(0 minutes)",
    "every 5 minutes",
])
def test_invalid_expressions_are_rejected_like_a_deploy_would(expression: str) -> None:
    with pytest.raises(ValueError):
        schedule.parse(expression)


def _matches(minutes: set[int], hours: set[int], dows: set[int], t: datetime) -> bool:
    return t.minute in minutes and t.hour in hours and (t.weekday() + 1) % 7 + 1 in dows


@settings(max_examples=60, deadline=None)
@given(minutes=st.sets(st.integers(0, 59), min_size=1, max_size=4),
       hours=st.sets(st.integers(0, 23), min_size=1, max_size=4),
       dows=st.sets(st.integers(1, 7), min_size=1, max_size=7),
       offset=st.integers(0, 7 * 24 * 60))
def test_cron_next_fire_is_the_first_matching_minute(minutes: set[int], hours: set[int],
                                                     dows: set[int], offset: int) -> None:
    expr = (f"cron({','.join(map(str, sorted(minutes)))} {','.join(map(str, sorted(hours)))} "
            f"? * {','.join(map(str, sorted(dows)))} *)")
    start = at(2026, 3, 1) + timedelta(minutes=offset, seconds=17)
    got = schedule.parse(expr).next_after(start)
    assert got > start and _matches(minutes, hours, dows, got)
    t = start.replace(second=0) + timedelta(minutes=1)
    while t < got:  # nothing earlier matches
        assert not _matches(minutes, hours, dows, t)
        t += timedelta(minutes=1)


# --- a throwaway app ---------------------------------------------------------------------

class Seen:
    def __init__(self) -> None:
        self.ticks: list[dict[str, Any]] = []
        self.sqs_batches: list[list[dict[str, Any]]] = []
        self.processed: list[str] = []
        self.stream_batches: list[list[dict[str, Any]]] = []
        self.fail_stream: set[str] = set()
        self.crash_sqs = False


def build_app(queue: str, table: str) -> tuple[Chalice, Seen]:
    app = Chalice(app_name="runner-test")
    seen = Seen()

    @app.schedule(Rate(5, unit=Rate.MINUTES))
    def tick(event: Any) -> dict[str, Any]:
        seen.ticks.append(event.to_dict())
        return {"ticked": event.to_dict()["time"]}

    @app.schedule("cron(0 9 ? * MON-FRI *)", name="weekday_morning")
    def morning(event: Any) -> None:
        seen.ticks.append(event.to_dict())

    @app.on_sqs_message(queue=queue, batch_size=5)
    def consume(event: Any) -> dict[str, Any]:
        if seen.crash_sqs:
            raise RuntimeError("boom")
        records = [r.to_dict() for r in event]
        seen.sqs_batches.append(records)
        failures = []
        for r in records:
            if json.loads(r["body"]).get("poison"):
                failures.append({"itemIdentifier": r["messageId"]})
            else:
                seen.processed.append(json.loads(r["body"])["n"])
        return {"batchItemFailures": failures}

    @app.on_dynamodb_record(
        stream_arn=f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2020-01-01",
        batch_size=10)
    def changes(event: Any) -> dict[str, Any]:
        records = [r.to_dict() for r in event]
        seen.stream_batches.append(records)
        bad = [r["dynamodb"]["SequenceNumber"] for r in records
               if r["dynamodb"]["Keys"]["PK"]["S"] in seen.fail_stream]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in bad[:1]]}

    return app, seen


def _runner_app() -> tuple[Runner, Seen, Any]:
    from chalicelib.adapters import aws
    from chalicelib.config import get_settings

    s = get_settings()
    app, seen = build_app(s.events_queue_name, s.table_name)
    return Runner(app, anchor=T0), seen, aws


@pytest.fixture
def runner_app(moto_stack: str) -> tuple[Runner, Seen, Any]:
    return _runner_app()


@pytest.fixture
def stream_app(engine: str) -> tuple[Runner, Seen, Any]:
    """Streams on both engines: moto and DynamoDB Local (whose shards behave like AWS's)."""
    return _runner_app()


# --- schedules ---------------------------------------------------------------------------

def test_fire_schedule_invokes_the_handler_with_a_scheduled_event(runner_app: Any) -> None:
    runner, seen, _ = runner_app
    assert runner.fire_schedule("tick", at=T0) == {"ticked": "2026-11-20T10:07:30Z"}
    event = seen.ticks[-1]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["detail"] == {}
    assert event["resources"][0].endswith(":rule/runner-test-test-tick-event")
    runner.fire_schedule(runner.app.handler_map["weekday_morning"].func)  # by function
    runner.fire_schedule("app.morning")  # by handler string
    assert len(seen.ticks) == 3
    with pytest.raises(KeyError, match="no scheduled handler"):
        runner.fire_schedule("nope")


def test_schedules_come_due_on_their_expressions_without_backfilling(runner_app: Any) -> None:
    runner, _, _ = runner_app
    assert runner.next_fire == {"tick": T0 + timedelta(minutes=5),
                                "weekday_morning": at(2026, 11, 23, 9, 0)}
    assert runner.due(T0 + timedelta(minutes=4)) == []
    assert runner.due(T0 + timedelta(minutes=5)) == [("tick", T0 + timedelta(minutes=5))]
    assert runner.due(T0 + timedelta(minutes=5)) == []
    late = T0 + timedelta(hours=1, minutes=1)  # laptop slept: one fire, then back on the grid
    assert [n for n, _ in runner.due(late)] == ["tick"]
    assert runner.next_fire["tick"] == T0 + timedelta(hours=1, minutes=5)
    fired = runner.due(at(2026, 11, 23, 9, 0))
    assert ("weekday_morning", at(2026, 11, 23, 9, 0)) in fired


# --- SQS ---------------------------------------------------------------------------------

def _send(aws: Any, queue: str, bodies: list[dict[str, Any]]) -> None:
    url = aws.queue_url(queue)
    for b in bodies:
        aws.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(b), MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "test"}})


def _count(aws: Any, queue: str) -> int:
    attrs = aws.client("sqs").get_queue_attributes(
        QueueUrl=aws.queue_url(queue),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"])


def test_drain_delivers_sqs_shaped_batches_and_deletes_what_succeeded(runner_app: Any) -> None:
    from chalicelib.config import get_settings

    runner, seen, aws = runner_app
    queue = get_settings().events_queue_name
    _send(aws, queue, [{"n": i} for i in range(7)])
    result = runner.drain(queue)
    assert sorted(seen.processed) == list(range(7))
    assert (result.succeeded, result.failed) == (7, 0)
    assert all(len(b) <= 5 for b in seen.sqs_batches)
    r = seen.sqs_batches[0][0]
    assert set(r) >= {"messageId", "receiptHandle", "body", "attributes", "messageAttributes",
                      "md5OfBody", "eventSource", "eventSourceARN", "awsRegion"}
    assert r["eventSource"] == "aws:sqs"
    assert r["eventSourceARN"].endswith(f":{queue}")
    assert r["awsRegion"] == "us-east-1"
    assert r["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in r["attributes"]
    assert r["messageAttributes"]["kind"] == {"stringValue": "test", "stringListValues": [],
                                              "binaryListValues": [], "dataType": "String"}
    assert _count(aws, queue) == 0


def test_a_reported_item_failure_is_redelivered_until_the_redrive_moves_it_to_the_dlq(
        runner_app: Any) -> None:
    from chalicelib.config import get_settings

    runner, seen, aws = runner_app
    s = get_settings()
    _send(aws, s.events_queue_name, [{"n": 1}, {"poison": True, "n": 2}, {"n": 3}])
    result = runner.drain(s.events_queue_name)
    assert sorted(seen.processed) == [1, 3]  # the good ones ran once each
    poison_deliveries = [r for b in seen.sqs_batches for r in b if "poison" in r["body"]]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in poison_deliveries] == [
        "1", "2", "3", "4", "5"]  # maxReceiveCount in infra/template.json
    assert result.failed == 5
    assert _count(aws, s.events_queue_name) == 0
    dlq = aws.client("sqs").receive_message(QueueUrl=aws.queue_url(s.events_dlq_name),
                                            MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in dlq] == [{"poison": True, "n": 2}]


def test_a_raising_handler_fails_the_whole_batch_and_lambda_timing_is_kept_by_default(
        runner_app: Any) -> None:
    from chalicelib.config import get_settings

    runner, seen, aws = runner_app
    queue = get_settings().events_queue_name
    _send(aws, queue, [{"n": 1}, {"n": 2}])
    seen.crash_sqs = True
    result = runner.drain(queue, retry_after=None)  # as on Lambda: wait out the visibility
    assert (result.succeeded, result.failed) == (0, 2)
    assert _count(aws, queue) == 2  # still on the queue, in flight until the timeout
    seen.crash_sqs = False
    assert runner.drain(queue).succeeded == 0  # invisible for the queue's 180 s
    assert seen.processed == []


def test_failed_items_follow_lambdas_partial_batch_rules() -> None:
    ids = ["a", "b", "c"]
    assert events.failed_items(None, ids) == []
    assert events.failed_items({"batchItemFailures": []}, ids) == []
    assert events.failed_items({"other": 1}, ids) == []
    assert events.failed_items({"batchItemFailures": [{"itemIdentifier": "c"},
                                                      {"itemIdentifier": "b"}]}, ids) == ["b", "c"]
    assert events.failed_items({"batchItemFailures": [{"itemIdentifier": "zz"}]}, ids) == ids
    assert events.failed_items({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == ids
    assert events.failed_items({"batchItemFailures": [{"id": "a"}]}, ids) == ids


# --- DynamoDB streams --------------------------------------------------------------------

def _put(aws: Any, pk: str, **extra: Any) -> None:
    aws.table().put_item(Item={"PK": pk, "SK": "PROFILE", **extra})


def _keys(batches: list[list[dict[str, Any]]]) -> list[str]:
    return [r["dynamodb"]["Keys"]["PK"]["S"] for b in batches for r in b]


def test_table_stream_records_reach_the_handler_as_dynamodb_events(stream_app: Any) -> None:
    runner, seen, aws = stream_app
    assert runner.poll_streams() == 0  # LATEST: starts from now
    _put(aws, "M#1", name="Ada", blob=b"\x00\x01")
    aws.table().update_item(Key={"PK": "M#1", "SK": "PROFILE"}, UpdateExpression="SET #n = :n",
                            ExpressionAttributeNames={"#n": "name"},
                            ExpressionAttributeValues={":n": "Grace"})
    aws.table().delete_item(Key={"PK": "M#1", "SK": "PROFILE"})
    assert runner.poll_streams() == 3
    records = [r for b in seen.stream_batches for r in b]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    first = records[0]
    assert first["eventSource"] == "aws:dynamodb"
    assert first["awsRegion"] == "us-east-1"  # not DynamoDB Local's "ddblocal"
    assert first["eventSourceARN"] == runner.stream_arn("ignored:arn")
    assert first["dynamodb"]["NewImage"]["name"] == {"S": "Ada"}
    assert first["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}  # base64 as Lambda sends it
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], float)
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert records[1]["dynamodb"]["OldImage"]["name"] == {"S": "Ada"}
    assert records[1]["dynamodb"]["NewImage"]["name"] == {"S": "Grace"}
    assert runner.poll_streams() == 0


def test_latest_is_taken_when_the_runner_starts_not_at_its_first_read(stream_app: Any) -> None:
    runner, seen, aws = stream_app
    for cfg in runner.streams:
        runner.reader(cfg).prime()  # what start() does before any stream thread reads
    _put(aws, "M#1")  # written before the first poll: still delivered
    assert runner.poll_streams() == 1
    assert _keys(seen.stream_batches) == ["M#1"]


def test_a_failed_stream_record_blocks_its_shard_and_is_retried_from_that_record(
        stream_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "MIN_BACKOFF", 0.0)
    runner, seen, aws = stream_app
    runner.poll_streams()
    seen.fail_stream = {"M#2"}
    for pk in ("M#1", "M#2", "M#3"):
        _put(aws, pk)
    assert runner.poll_streams() == 1  # M#1 checkpointed; M#2 failed; M#3 waits behind it
    assert runner.poll_streams() == 0
    assert _keys(seen.stream_batches) == ["M#1", "M#2", "M#3", "M#2", "M#3"]
    seen.fail_stream = set()
    assert runner.poll_streams() == 2
    assert _keys(seen.stream_batches)[-2:] == ["M#2", "M#3"]


def test_stream_checkpoints_let_a_restarted_runner_resume_where_it_stopped(
        stream_app: Any, tmp_path: Any) -> None:
    runner, seen, aws = stream_app
    state = tmp_path / "streams.json"
    first = Runner(runner.app, state_file=state)
    first.poll_streams()
    _put(aws, "M#1")
    _put(aws, "M#2")
    assert first.poll_streams() == 2
    _put(aws, "M#3")  # written while the runner is "down"
    second = Runner(runner.app, state_file=state)
    assert second.poll_streams() == 1
    assert _keys(seen.stream_batches) == ["M#1", "M#2", "M#3"]


def test_runner_threads_fire_and_drain_on_their_own(runner_app: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from chalicelib.config import get_settings
    from chalicelib.local import runner as runner_mod

    monkeypatch.setattr(runner_mod, "SQS_WAIT_SECONDS", 1)
    _, seen, aws = runner_app
    live = Runner(runner_app[0].app)
    live.next_fire["tick"] = datetime.now(UTC)  # due now
    live.start()
    try:
        _send(aws, get_settings().events_queue_name, [{"n": 9}])
        _put(aws, "M#9")
        deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing check
        while time.monotonic() < deadline and not (
                seen.ticks and seen.processed and seen.stream_batches):
            time.sleep(0.1)
    finally:
        live.stop()
    assert seen.ticks and seen.processed == [9] and _keys(seen.stream_batches) == ["M#9"]


def test_weekday_helper_matches_eventbridge_numbering() -> None:
    assert schedule._aws_dow(date(2026, 11, 22)) == 1  # Sunday
    assert schedule._aws_dow(date(2026, 11, 21)) == 7  # Saturday

"""The fault injector itself: each fault happens, at the configured ratio, reproducibly."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.faults import FaultInjector, deliver, sqs_event


def _get(n: int) -> int:
    from chalicelib.adapters import aws

    errors = 0
    for i in range(n):
        try:
            aws.table().get_item(Key={"PK": f"X#{i}", "SK": "X"})
        except ClientError as e:
            assert e.response["Error"]["Code"] in (
                "ProvisionedThroughputExceededException", "ThrottlingException")
            errors += 1
    return errors


def test_throttling_hits_the_configured_share_of_calls_and_replays_with_the_seed(moto_stack):
    with FaultInjector(ratio=0.2, seed=3) as faults:
        errors = _get(300)
    assert errors == faults.injected["throttle"]
    assert 0.13 * 300 <= errors <= 0.27 * 300  # binomial(300, 0.2): 60 ± 3 sd
    with FaultInjector(ratio=0.2, seed=3):
        assert _get(300) == errors


def test_paused_injector_injects_nothing(moto_stack):
    with FaultInjector(ratio=1.0) as faults, faults.paused():
        assert _get(20) == 0


def test_timeout_after_commit_raises_but_the_write_happened(moto_stack):
    from chalicelib.adapters import aws

    with FaultInjector(ratio=1.0, kinds=("timeout_after_commit",)), \
            pytest.raises(ReadTimeoutError):
        aws.table().put_item(Item={"PK": "T#1", "SK": "T"})
    assert aws.table().get_item(Key={"PK": "T#1", "SK": "T"}).get("Item")


def test_conflict_cancels_a_transaction_and_writes_nothing(moto_stack):
    from chalicelib.adapters import aws
    from chalicelib.adapters.dynamo import TransactionCancelled, translated

    table = aws.table()
    items = [{"Put": {"TableName": table.name, "Item": {"PK": f"C#{i}", "SK": "C"}}}
             for i in range(2)]
    with FaultInjector(ratio=1.0, kinds=("conflict",)), pytest.raises(TransactionCancelled) as e, \
            translated():
        table.meta.client.transact_write_items(TransactItems=items)
    assert e.value.reasons == ["TransactionConflict", "TransactionConflict"]
    assert e.value.throttled
    assert "Item" not in table.get_item(Key={"PK": "C#0", "SK": "C"})


def test_sqs_redelivery_makes_a_deleted_message_visible_again(moto_stack):
    from chalicelib.adapters import aws

    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="faults-redeliver")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    with FaultInjector(ratio=1.0, kinds=("redeliver",)):
        out = sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "0", "ReceiptHandle": first["ReceiptHandle"]}])
    assert out["Successful"] == [{"Id": "0"}]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert again and again[0]["MessageId"] == first["MessageId"]


def test_deliver_redelivers_reported_failures_until_they_succeed():
    seen: list[str] = []
    attempts: dict[str, int] = {}

    def handler(event, context):
        failures = []
        for r in event["Records"]:
            attempts[r["messageId"]] = attempts.get(r["messageId"], 0) + 1
            if attempts[r["messageId"]] < 3 and r["body"] == "flaky":
                failures.append({"itemIdentifier": r["messageId"]})
            else:
                seen.append(r["messageId"])
        return {"batchItemFailures": failures}

    event = sqs_event(["ok", "flaky", "ok"], ids=["a", "b", "c"])
    stats = deliver(handler, event)
    assert sorted(seen) == ["a", "b", "c"]
    assert stats["left"] == 0 and stats["reported_failed"] == 2
    dup = deliver(handler, sqs_event(["ok"] * 20), duplicate=0.5, seed=1)
    assert dup["duplicates"] > 0


def test_send_layer_throttles_each_http_attempt_so_sdk_retries_apply(engine):
    if engine == "moto":
        pytest.skip("moto answers at before-send itself, ahead of any other hook")
    from chalicelib.adapters import aws

    with FaultInjector(ratio=1.0, layer="send") as faults, pytest.raises(ClientError) as e:
        aws.table().get_item(Key={"PK": "S#1", "SK": "S"})
    assert e.value.response["Error"]["Code"] in (
        "ProvisionedThroughputExceededException", "ThrottlingException")
    assert faults.injected["throttle"] >= 4  # every attempt of the SDK's retry policy was hit
    with FaultInjector(ratio=0.3, seed=2, layer="send") as faults:
        assert _get(8) == 0  # one attempt in three: the SDK's retries absorb it
    assert faults.injected["throttle"] > 0

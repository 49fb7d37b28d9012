"""Lambda event payloads and context, shaped exactly as AWS delivers them, for the local runner.

Shapes follow the AWS Lambda developer guide (EventBridge scheduled event, SQS event source,
DynamoDB Streams event source, SNS) and the partial batch response contract
(``{"batchItemFailures": [{"itemIdentifier": ...}]}``).
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import Any

ACCOUNT = "123456789012"


class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    def __init__(self, function_name: str, region: str, memory_mb: int = 1024,
                 timeout_s: int = 60) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def scheduled_event(rule: str, region: str, at: datetime) -> dict[str, Any]:
    """An EventBridge "Scheduled Event" for rule ``rule`` fired at ``at``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


def _b64(value: bytes | str) -> str:
    return base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode()


def _message_attribute(v: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "StringValue" in v:
        out["stringValue"] = v["StringValue"]
    if "BinaryValue" in v:
        out["binaryValue"] = _b64(v["BinaryValue"])
    out["stringListValues"] = list(v.get("StringListValues", []))
    out["binaryListValues"] = [_b64(b) for b in v.get("BinaryListValues", [])]
    out["dataType"] = v["DataType"]
    return out


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One ``Records[]`` entry of an SQS event from a ReceiveMessage result message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {k: _message_attribute(v)
                              for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def sns_record(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """One ``Records[]`` entry of an SNS event from the JSON envelope SNS delivers to an SQS
    subscription (``SigningCertURL`` and ``UnsubscribeURL`` are spelt ``...Url`` there)."""
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": envelope.get("Type", "Notification"),
            "MessageId": envelope.get("MessageId", str(uuid.uuid4())),
            "TopicArn": envelope.get("TopicArn", ""),
            "Subject": envelope.get("Subject"),
            "Message": envelope.get("Message", ""),
            "Timestamp": envelope.get("Timestamp", ""),
            "SignatureVersion": envelope.get("SignatureVersion", "1"),
            "Signature": envelope.get("Signature", ""),
            "SigningCertUrl": envelope.get("SigningCertURL", ""),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
            "MessageAttributes": envelope.get("MessageAttributes") or {},
        },
    }


def _attribute_value(v: Any) -> Any:
    """Binary values arrive from boto3 as bytes; Lambda delivers them base64-encoded."""
    if not isinstance(v, dict):
        return v
    out: dict[str, Any] = {}
    for k, x in v.items():
        if k == "B":
            out[k] = _b64(x)
        elif k == "BS":
            out[k] = [_b64(b) for b in x]
        elif k == "M":
            out[k] = {name: _attribute_value(a) for name, a in x.items()}
        elif k == "L":
            out[k] = [_attribute_value(a) for a in x]
        else:
            out[k] = x
    return out


def stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One ``Records[]`` entry of a DynamoDB Streams event from a GetRecords result record."""
    ddb = dict(record["dynamodb"])
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        ddb["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    elif created is None:
        ddb["ApproximateCreationDateTime"] = float(int(time.time()))
    for image in ("Keys", "NewImage", "OldImage"):
        if image in ddb:
            ddb[image] = {k: _attribute_value(v) for k, v in ddb[image].items()}
    out = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions carry the dynamodb.amazonaws.com principal
        out["userIdentity"] = record["userIdentity"]
    return out


def failed_items(response: Any, identifiers: list[str]) -> list[str]:
    """Identifiers to retry per Lambda's partial batch response rules.

    No response, an empty/None ``batchItemFailures`` or a response without that key is full
    success; a malformed entry or an unknown/empty identifier fails the whole batch.
    """
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return []
    failures = response["batchItemFailures"]
    known = set(identifiers)
    if not isinstance(failures, list):
        return list(identifiers)
    out: list[str] = []
    for f in failures:
        ident = f.get("itemIdentifier") if isinstance(f, dict) else None
        if not isinstance(ident, str) or ident not in known:
            return list(identifiers)
        out.append(ident)
    return [i for i in identifiers if i in set(out)]

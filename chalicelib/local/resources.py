"""Create tables, indexes, TTL, queues and topics from infra/template.json, idempotently
(and, locally, verify the email sender's domain in moto's SES).

The CloudFormation template that deploys Perks is the single source of truth for key
schema and indexes; the local stack and the tests build the same resources from it.
"""

from __future__ import annotations

import json
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from chalicelib.config import Settings, get_settings

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.json"


def template() -> dict[str, Any]:
    return json.loads(TEMPLATE.read_text())


def _name(resource: dict[str, Any], settings: Settings) -> str:
    setting = resource["Metadata"]["Perks"]["setting"]
    return str(getattr(settings, setting.lower()))


def resources(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(lid, r) for lid, r in template()["Resources"].items()
            if r.get("Type") == kind and "Perks" in r.get("Metadata", {})]


def table_definitions(settings: Settings | None = None) -> list[dict[str, Any]]:
    """CreateTable arguments for every table in the template."""
    settings = settings or get_settings()
    out = []
    for _, r in resources("AWS::DynamoDB::Table"):
        p = r["Properties"]
        args: dict[str, Any] = {
            "TableName": _name(r, settings),
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": p["BillingMode"],
        }
        if p.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
        if p.get("StreamSpecification"):  # CloudFormation omits StreamEnabled; the API needs it
            args["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        out.append({"create": args, "ttl": p.get("TimeToLiveSpecification")})
    return out


def _enable_stream(ddb: Any, create: dict[str, Any]) -> None:
    """Turn on the template's stream on a table created before it was declared."""
    spec = create.get("StreamSpecification")
    if not spec:
        return
    table = ddb.describe_table(TableName=create["TableName"])["Table"]
    if not table.get("StreamSpecification", {}).get("StreamEnabled"):
        ddb.update_table(TableName=create["TableName"], StreamSpecification=spec)


def bootstrap(settings: Settings | None = None, *, queues: bool = True) -> dict[str, str]:
    """Create whatever is missing; returns {logical id: name or URL/ARN}."""
    from botocore.exceptions import ClientError

    from chalicelib.adapters import aws

    settings = settings or get_settings()
    created: dict[str, str] = {}
    ddb = aws.client("dynamodb")
    for d in table_definitions(settings):
        name = d["create"]["TableName"]
        try:
            ddb.create_table(**d["create"])
            ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2})
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceInUseException":
                raise
            _enable_stream(ddb, d["create"])
        if d["ttl"]:
            try:
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=d["ttl"])
            except ClientError as e:  # already enabled
                if e.response["Error"]["Code"] != "ValidationException":
                    raise
        created[name] = name
    if not queues:
        return created
    sqs = aws.client("sqs")
    arns: dict[str, str] = {}
    pending = resources("AWS::SQS::Queue")
    # Dead-letter queues first: their ARNs feed the redrive policies.
    pending.sort(key=lambda lr: "RedrivePolicy" in lr[1]["Properties"])
    for lid, r in pending:
        name = _name(r, settings)
        attrs = {"VisibilityTimeout": str(r["Properties"].get("VisibilityTimeout", 30))}
        redrive = r["Properties"].get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": arns[target],
                                                 "maxReceiveCount": redrive["maxReceiveCount"]})
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arns[lid] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        created[lid] = url
    sns = aws.client("sns")
    for lid, r in resources("AWS::SNS::Topic"):
        created[lid] = sns.create_topic(Name=_name(r, settings))["TopicArn"]
    sender = parseaddr(settings.email_from)[1]
    if "@" in sender:  # the sending domain, verified (in prod an operator verifies it, DKIM)
        domain = sender.rsplit("@", 1)[1]
        aws.client("ses").verify_domain_identity(Domain=domain)
        created["EmailIdentity"] = domain
    return created

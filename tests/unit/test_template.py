"""The deployable template: what `chalice package --merge-template infra/template.json` writes.

The packaged template is built in-process exactly as the CLI builds it, except that the
Lambda zip (pip downloads of manylinux wheels) is stubbed; `make cfn-lint` does the real
thing in CI. When a check about handlers fails, its message prints the merge entry to add.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MERGE = ROOT / "infra" / "template.json"
POLICIES = ("PerksApiPolicy", "PerksWorkerPolicy")


@pytest.fixture(scope="module")
def merge() -> dict[str, Any]:
    return json.loads(MERGE.read_text())


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The merged SAM template for the prod stage, with every function app.py declares."""
    from chalice.cli.factory import CLIFactory
    from chalice.deploy.packager import LambdaDeploymentPackager

    out = tmp_path_factory.mktemp("package")
    stub = out / "stub.zip"
    stub.write_bytes(b"")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LambdaDeploymentPackager, "create_deployment_package",
                   lambda self, project_dir, python_version: str(stub))
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        factory = CLIFactory(str(ROOT))
        config = factory.create_config_obj("prod")
        packager = factory.create_app_packager(config, factory.create_package_options(),
                                               "cloudformation", "json", str(MERGE))
        packager.package_app(config, str(out / "pkg"), "prod")
    return json.loads((out / "pkg" / "sam.json").read_text())


def _functions(t: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in t["Resources"].items() if r.get("Type") == "AWS::Serverless::Function"}


def _of_type(t: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in t["Resources"].items() if r.get("Type") == kind}


def _dead_letter_queues(t: dict[str, Any]) -> set[str]:
    return {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            for q in _of_type(t, "AWS::SQS::Queue").values()
            if "RedrivePolicy" in q.get("Properties", {})}


def _listify(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _statements(doc: Any) -> Iterator[dict[str, Any]]:
    for st in _listify(doc.get("Statement", [])):
        if isinstance(st, dict) and "Fn::If" in st:  # conditional statement: check both branches
            for branch in st["Fn::If"][1:]:
                if branch != {"Ref": "AWS::NoValue"}:
                    yield branch
        else:
            yield st


def identity_statements(t: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, statement) for every identity policy: roles, managed and inline policies."""
    for lid, r in t["Resources"].items():
        props = r.get("Properties", {})
        docs = [p["PolicyDocument"] for p in props.get("Policies", [])
                if isinstance(p, dict) and "PolicyDocument" in p]
        if "PolicyDocument" in props and r.get("Type") in ("AWS::IAM::ManagedPolicy",
                                                          "AWS::IAM::Policy"):
            docs.append(props["PolicyDocument"])
        for doc in docs:
            for st in _statements(doc):
                yield lid, st


def _sms_to_phone_numbers(st: dict[str, Any]) -> bool:
    """SNS has no ARN for a phone number: AWS's pattern for "SMS, but no topic or endpoint"."""
    return (_listify(st.get("Action")) == ["sns:Publish"] and "Resource" not in st
            and st["NotResource"] == {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"})


def _problems(t: dict[str, Any]) -> list[str]:
    out = []
    for lid, st in identity_statements(t):
        if "NotAction" in st or ("NotResource" in st and not _sms_to_phone_numbers(st)):
            out.append(f"{lid}: NotAction/NotResource grants open-ended access")
        if st.get("Effect") != "Allow":
            continue
        actions = [a for a in _listify(st.get("Action", [])) if isinstance(a, str)]
        resources = _listify(st.get("Resource", []))
        wild_actions = [a for a in actions if "*" in a]
        if "*" in resources and wild_actions:
            out.append(f"{lid} {st.get('Sid', '')}: wildcard action {wild_actions} on '*'")
        if "*" in resources:
            out.append(f"{lid} {st.get('Sid', '')}: Resource '*' (name the resources)")
        if any(a == "*" or a.endswith(":*") for a in actions):
            out.append(f"{lid} {st.get('Sid', '')}: service-wide action in {actions}")
    return out


def test_merge_template_grants_no_wildcard_actions_and_no_star_resources(merge):
    assert _problems(merge) == []


def test_packaged_template_grants_no_wildcard_actions_and_no_star_resources(packaged):
    assert list(identity_statements(packaged)), "expected the roles chalice generates"
    assert _problems(packaged) == []


def test_the_wildcard_check_catches_dynamodb_star_on_star(merge):
    bad = copy.deepcopy(merge)
    bad["Resources"]["PerksApiPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
    assert any("wildcard action" in p for p in _problems(bad))


def test_every_generated_function_role_has_an_explicit_policy_entry(packaged, merge):
    missing = []
    for fn in _functions(packaged).values():
        role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        entry = merge["Resources"].get(role, {}).get("Properties", {})
        if "ManagedPolicyArns" not in entry:
            missing.append(f'"{role}": {{"Properties": {{"ManagedPolicyArns": '
                           f'[{{"Ref": "PerksWorkerPolicy"}}]}}}}')
            continue
        refs = [p.get("Ref") for p in entry["ManagedPolicyArns"]]
        assert set(refs) <= set(POLICIES), f"{role} attaches unknown policies {refs}"
    assert not missing, ("functions without an IAM entry in infra/template.json (they could "
                         "only write logs); add under Resources:\n  " + ",\n  ".join(missing))


def test_the_api_handler_scans_only_the_base_table_and_never_an_index(packaged):
    # Request paths use key queries; the one Scan is the bounded marketer preview.
    role = _functions(packaged)["APIHandler"]["Properties"]["Role"]["Fn::GetAtt"][0]
    refs = [p["Ref"] for p in packaged["Resources"][role]["Properties"]["ManagedPolicyArns"]]
    assert refs == ["PerksApiPolicy"]
    statements = [st for _, st in identity_statements({"Resources": {
        r: packaged["Resources"][r] for r in [role, *refs]}})]
    actions = {a for st in statements for a in _listify(st["Action"])}
    assert {"dynamodb:Query", "dynamodb:Scan"} <= actions
    scans = [st for st in statements if "dynamodb:Scan" in _listify(st["Action"])]
    assert [st["Resource"] for st in scans] == [{"Fn::GetAtt": ["PerksTable", "Arn"]}]
    assert not any("sns:Publish" in _listify(st["Action"]) for st in statements)


def test_the_authorizer_gets_no_aws_access_beyond_its_logs(packaged):
    roles = {fn["Properties"]["Role"]["Fn::GetAtt"][0] for fn in _functions(packaged).values()
             if fn["Properties"]["Handler"].endswith(".jwt_auth")}
    assert roles
    for role in roles:
        props = packaged["Resources"][role]["Properties"]
        assert props["ManagedPolicyArns"] == []
        actions = {a for _, st in identity_statements({"Resources": {role: {
            "Properties": props}}}) for a in _listify(st["Action"])}
        assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}


def _queue_for(sub: str, template: dict[str, Any]) -> str:
    """The queue resource whose configured name chalice baked into its event source ARN."""
    from chalicelib.config import get_settings

    name = sub.rsplit(":", 1)[-1]
    for lid, r in _of_type(template, "AWS::SQS::Queue").items():
        setting = r.get("Metadata", {}).get("Perks", {}).get("setting", "")
        if setting and getattr(get_settings(), setting.lower(), None) == name:
            return lid
    return "<QueueResource>"


def test_every_sqs_handler_consumes_a_template_queue_and_reports_partial_failures(packaged):
    dlqs = _dead_letter_queues(packaged)
    queues = set(_of_type(packaged, "AWS::SQS::Queue")) - dlqs
    missing = []
    for name, fn in _functions(packaged).items():
        for ev_name, ev in fn["Properties"].get("Events", {}).items():
            if ev["Type"] != "SQS":
                continue
            p = ev["Properties"]
            # The merge is a deep merge: chalice's {"Fn::Sub": "arn:...:NAME"} can only be
            # replaced by another Fn::Sub, which must name a queue resource's Arn.
            ref = re.fullmatch(r"\$\{(\w+)\.Arn\}", str(p["Queue"].get("Fn::Sub", "")))
            ok = (len(p["Queue"]) == 1 and ref is not None and ref.group(1) in queues
                  and "ReportBatchItemFailures" in p.get("FunctionResponseTypes", []))
            if not ok:
                target = ref.group(1) if ref else _queue_for(str(p["Queue"].get("Fn::Sub")),
                                                             packaged)
                missing.append(
                    f'"{name}": {{"Properties": {{"Events": {{"{ev_name}": {{"Properties": '
                    f'{{"Queue": {{"Fn::Sub": "${{{target}.Arn}}"}}, '
                    f'"FunctionResponseTypes": ["ReportBatchItemFailures"]}}}}}}}}}}')
    assert not missing, ("SQS handlers must consume the template's queues (chalice builds the "
                         "ARN from a name) and report partial batch failures; add under "
                         "Resources in infra/template.json:\n  " + ",\n  ".join(missing))


def test_every_stream_handler_reads_the_perks_table_stream(packaged):
    wrong = []
    for name, fn in _functions(packaged).items():
        for ev_name, ev in fn["Properties"].get("Events", {}).items():
            if ev["Type"] == "DynamoDB" and ev["Properties"]["Stream"] != {
                    "Fn::GetAtt": ["PerksTable", "StreamArn"]}:
                wrong.append(f'"{name}": {{"Properties": {{"Events": {{"{ev_name}": '
                             f'{{"Properties": {{"Stream": {{"Fn::GetAtt": '
                             f'["PerksTable", "StreamArn"]}}}}}}}}}}}}')
    assert not wrong, "add under Resources in infra/template.json:\n  " + ",\n  ".join(wrong)


def _mixed_intrinsics(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        if sum(k == "Ref" or k.startswith("Fn::") for k in node) > 1:
            yield path
        for k, v in node.items():
            yield from _mixed_intrinsics(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _mixed_intrinsics(v, f"{path}/{i}")


def test_no_merge_entry_leaves_two_intrinsics_in_one_value(packaged):
    # e.g. a Fn::GetAtt merged into chalice's Fn::Sub keeps both; override with the same key.
    assert list(_mixed_intrinsics(packaged)) == []


def test_every_merge_entry_completes_a_resource_chalice_generates(packaged):
    typeless = [k for k, r in packaged["Resources"].items() if "Type" not in r]
    assert not typeless, (f"infra/template.json overrides {typeless}, which chalice no longer "
                          "generates (a handler was renamed or removed?): rename or drop them")


def _expected_env(lid: str, r: dict[str, Any]) -> Any:
    return {"AWS::DynamoDB::Table": {"Ref": lid},
            "AWS::SQS::Queue": {"Fn::GetAtt": [lid, "QueueName"]},
            "AWS::SNS::Topic": {"Fn::GetAtt": [lid, "TopicName"]}}[r["Type"]]


def test_every_resource_name_setting_is_wired_into_every_function(merge):
    from chalicelib.config import Settings

    env = merge["Globals"]["Function"]["Environment"]["Variables"]
    fields = set(Settings.__dataclass_fields__)
    wired = 0
    for lid, r in merge["Resources"].items():
        setting = r.get("Metadata", {}).get("Perks", {}).get("setting")
        if not setting:
            continue
        assert setting.lower() in fields, f"{lid}: Settings has no field {setting.lower()}"
        assert env.get(setting) == _expected_env(lid, r), f"Globals env {setting} for {lid}"
        wired += 1
    assert wired >= 8


def test_chalice_stage_config_does_not_shadow_the_wired_variables(merge):
    # Function-level variables win over SAM Globals, so prod must not set these itself.
    cfg = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = {**cfg.get("environment_variables", {}),
             **cfg["stages"]["prod"].get("environment_variables", {})}
    shadowed = set(stage) & set(merge["Globals"]["Function"]["Environment"]["Variables"])
    assert not shadowed
    assert cfg["stages"]["prod"]["autogen_policy"] is False
    assert stage["JWT_ALGORITHM"] == "RS256"


def test_prod_token_settings_come_from_cognito_parameters(packaged):
    env = packaged["Globals"]["Function"]["Environment"]["Variables"]
    assert "CognitoUserPoolId" in json.dumps(env["JWT_ISSUER"])
    assert env["JWKS_URL"]["Fn::Sub"][0].endswith("/${CognitoUserPoolId}/.well-known/jwks.json")
    assert env["JWT_AUDIENCE"] == {"Ref": "CognitoAppClientId"}
    assert set(packaged["Parameters"]) >= {"CognitoUserPoolId", "CognitoAppClientId",
                                           "PushPlatformApplicationArn"}


def test_every_dead_letter_queue_has_a_depth_alarm_on_the_alarm_topic(packaged):
    alarms = _of_type(packaged, "AWS::CloudWatch::Alarm").values()
    for dlq in sorted(_dead_letter_queues(packaged)):
        matching = [a["Properties"] for a in alarms
                    if a["Properties"].get("Dimensions") == [
                        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]]
        assert matching, f"no alarm on the depth of {dlq}"
        p = matching[0]
        assert (p["Namespace"], p["MetricName"]) == ("AWS/SQS",
                                                     "ApproximateNumberOfMessagesVisible")
        assert (p["ComparisonOperator"], p["Threshold"]) == ("GreaterThanThreshold", 0)
        assert {"Ref": "AlarmTopic"} in p["AlarmActions"]


def test_queue_visibility_outlasts_six_timeouts_of_its_consumer(packaged):
    # AWS's guidance for SQS event sources; otherwise a slow batch is delivered twice.
    default = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["prod"][
        "lambda_timeout"]
    timeouts = {q: [default] for q in set(_of_type(packaged, "AWS::SQS::Queue"))
                - _dead_letter_queues(packaged)}
    for fn in _functions(packaged).values():
        for ev in fn["Properties"].get("Events", {}).values():
            ref = re.fullmatch(r"\$\{(\w+)\.Arn\}", str(ev["Properties"].get("Queue", {})
                                                          .get("Fn::Sub", "")))
            if ev["Type"] == "SQS" and ref and ref.group(1) in timeouts:
                timeouts[ref.group(1)].append(fn["Properties"]["Timeout"])
    for lid, seen in timeouts.items():
        visibility = packaged["Resources"][lid]["Properties"]["VisibilityTimeout"]
        assert visibility >= 6 * max(seen), f"{lid}: VisibilityTimeout {visibility} < 6 x {seen}"


@pytest.mark.parametrize("kind", ["UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN",
                                  "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"])
def test_gateway_errors_use_the_perks_error_body(packaged, kind):
    response = packaged["Resources"]["RestAPI"]["Properties"]["GatewayResponses"][kind]
    rendered = response["ResponseTemplates"]["application/json"]
    for var, value in {"$context.error.messageString": '"Unauthorized"',
                       "$context.error.responseType": "BAD_REQUEST_BODY",
                       "$context.httpMethod": "GET", "$context.path": "/nope"}.items():
        rendered = rendered.replace(var, value)
    assert "$" not in rendered
    body = json.loads(rendered)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert re.fullmatch(r"[A-Z][A-Z0-9_]+", body["error"]["code"])
    assert body["error"]["details"] == []


def test_unauthorized_gateway_code_matches_the_app_code():
    from chalicelib.errors import Forbidden, Unauthenticated

    merge = json.loads(MERGE.read_text())
    responses = merge["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    assert f'"{Unauthenticated.code}"' in responses["UNAUTHORIZED"]["ResponseTemplates"][
        "application/json"]
    assert f'"{Forbidden.code}"' in responses["ACCESS_DENIED"]["ResponseTemplates"][
        "application/json"]


def _translator() -> Any:
    spec = importlib.util.spec_from_file_location("sam_translate", ROOT / "infra" /
                                                  "sam_translate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sam_transform_accepts_the_packaged_template(packaged):
    cfn = _translator().translate(packaged)
    kinds = {r["Type"] for r in cfn["Resources"].values()}
    assert not any(k.startswith("AWS::Serverless::") for k in kinds)
    api = next(r for r in cfn["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi")
    assert {"UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX"} <= set(
        api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"])
    for fn in (r for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::Function"):
        assert fn["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "PerksLogGroup"}
        assert fn["Properties"]["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "PerksTable"}
    queues = set(_of_type(cfn, "AWS::SQS::Queue"))
    for esm in (r for r in cfn["Resources"].values()
                if r["Type"] == "AWS::Lambda::EventSourceMapping"):
        source = json.dumps(esm["Properties"]["EventSourceArn"])
        if any(f'"{q}' in source or f"{{{q}." in source for q in queues):
            assert esm["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

"""The console deployed: private S3 bucket behind CloudFront (OAC), `/api/*` to the API stage,
the local server's security headers, Cognito hosted UI with PKCE, and no dev sign-in anywhere
a deploy reaches (the API, the template, the Lambda package, the prod runtime config)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.local import console as local_console
from tests.unit.test_template import ROOT, _translator, merge, packaged  # noqa: F401

MANAGED = {
    "CachingOptimized": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    "CachingDisabled": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    "AllViewerExceptHostHeader": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
}
SAMPLE = {"AWS::Region": "us-east-1", "AWS::StackName": "perks-prod",
          "AWS::AccountId": "123456789012", "ConsoleUserPoolClient": "consoleclient123",
          "ConsoleDistribution.DomainName": "d111111abcdef8.cloudfront.net"}


def _res(t: dict[str, Any], lid: str) -> dict[str, Any]:
    return t["Resources"][lid]["Properties"]


def _sub(value: Any, **vars: str) -> str:
    """Resolve a Fn::Sub (string or [string, vars]) with SAMPLE values, for content checks."""
    text, local = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
    names = {**SAMPLE, **vars, **{k: vars.get(k, f"<{k}>") for k in local}}
    return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], text)


def _distribution(t: dict[str, Any]) -> dict[str, Any]:
    return _res(t, "ConsoleDistribution")["DistributionConfig"]


def test_the_console_bucket_is_private_and_read_only_by_this_distribution(packaged):  # noqa: F811
    bucket = _res(packaged, "ConsoleBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    stmts = _res(packaged, "ConsoleBucketPolicy")["PolicyDocument"]["Statement"]
    allows = [s for s in stmts if s["Effect"] == "Allow"]
    assert allows == [{
        "Sid": "OnlyThisDistributionReadsTheConsole", "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
        "Resource": {"Fn::Sub": "${ConsoleBucket.Arn}/console/*"},
        "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:"
                      "cloudfront::${AWS::AccountId}:distribution/${ConsoleDistribution}"}}}}]
    origin = next(o for o in _distribution(packaged)["Origins"] if o["Id"] == "console")
    assert origin["DomainName"] == {"Fn::GetAtt": ["ConsoleBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not a legacy OAI
    oac = _res(packaged, "ConsoleOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["OriginAccessControlOriginType"]) == ("always", "s3")


def test_api_paths_go_uncached_to_the_api_stage_with_the_authorization_header(packaged):  # noqa: F811
    dist = _distribution(packaged)
    assert dist["DefaultCacheBehavior"]["TargetOriginId"] == "console"
    assert dist["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]
    (api,) = dist["CacheBehaviors"]
    stage = _res(packaged, "RestAPI")["StageName"]
    # CloudFront forwards the viewer path unchanged: /api/x reaches stage `api`, route /x.
    assert api["PathPattern"] == f"/{stage}/*"
    origin = next(o for o in dist["Origins"] if o["Id"] == api["TargetOriginId"])
    assert origin["DomainName"] == {
        "Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert "OriginPath" not in origin
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert api["CachePolicyId"] == MANAGED["CachingDisabled"]
    assert api["OriginRequestPolicyId"] == MANAGED["AllViewerExceptHostHeader"]
    assert set(api["AllowedMethods"]) >= {"GET", "POST", "PUT", "PATCH", "DELETE"}
    for behavior in (api, dist["DefaultCacheBehavior"]):
        assert behavior["ViewerProtocolPolicy"] in ("https-only", "redirect-to-https")
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": "ConsoleSecurityHeaders"}


def _csp(text: str) -> dict[str, str]:
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in (p.strip() for p in text.split(";"))}


def test_cloudfront_sends_the_local_servers_security_headers(packaged):  # noqa: F811
    cfg = _res(packaged, "ConsoleSecurityHeaders")["ResponseHeadersPolicyConfig"]
    sec = cfg["SecurityHeadersConfig"]
    deployed = _csp(_sub(sec["ContentSecurityPolicy"]["ContentSecurityPolicy"],
                         Domain="perks-123456789012"))
    local = _csp(local_console.SECURITY_HEADERS["Content-Security-Policy"])
    # Same policy, except that the browser may also call the Cognito token endpoint.
    assert deployed.pop("connect-src") == \
        "'self' https://perks-123456789012.auth.us-east-1.amazoncognito.com"
    assert local.pop("connect-src") == "'self'"
    assert deployed == local
    assert sec["FrameOptions"]["FrameOption"] == "DENY"
    assert sec["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert all(v["Override"] for v in sec.values())


def test_console_client_is_a_public_pkce_client_calling_back_to_the_distribution(packaged):  # noqa: F811
    client = _res(packaged, "ConsoleUserPoolClient")
    assert client["GenerateSecret"] is False  # a browser cannot keep a secret: PKCE instead
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    scopes = client["AllowedOAuthScopes"]
    assert scopes[:3] == ["openid", "email", "profile"]
    url = "https://d111111abcdef8.cloudfront.net/console/"
    assert [_sub(u) for u in client["CallbackURLs"]] == [url]
    assert [_sub(u) for u in client["LogoutURLs"]] == [url]
    assert client["UserPoolId"] == {"Ref": "CognitoUserPoolId"}
    # The API accepts the console's access tokens by the scope only this client is allowed.
    env = packaged["Globals"]["Function"]["Environment"]["Variables"]
    scope = _sub(env["JWT_CONSOLE_SCOPE"])
    assert scope == "perks-perks-prod/console" and [_sub(s) for s in scopes[3:]] == [scope]
    server = _res(packaged, "ConsoleResourceServer")
    assert f"{_sub(server['Identifier'])}/{server['Scopes'][0]['ScopeName']}" == scope
    assert _res(packaged, "ConsoleUserPoolDomain")["UserPoolId"] == {"Ref": "CognitoUserPoolId"}
    groups = {_res(packaged, g)["GroupName"] for g in ("ConsoleMarketerGroup", "ConsoleAdminGroup")}
    assert groups == {"marketer", "admin"}


def test_the_deployed_runtime_config_signs_in_with_cognito_never_dev(packaged):  # noqa: F811
    value = packaged["Outputs"]["ConsoleConfig"]["Value"]
    cfg = json.loads(_sub(value, Domain="perks-123456789012"))
    env = packaged["Globals"]["Function"]["Environment"]["Variables"]
    assert cfg == {
        "signin": "cognito",
        "authority": "https://perks-123456789012.auth.us-east-1.amazoncognito.com",
        "client_id": "consoleclient123",
        "redirect_uri": "https://d111111abcdef8.cloudfront.net/console/",
        "scope": f"openid email profile {_sub(env['JWT_CONSOLE_SCOPE'])}"}


def test_no_deployed_route_mints_tokens(packaged):  # noqa: F811
    from app import app

    paths = set(_res(packaged, "RestAPI")["DefinitionBody"]["paths"])
    assert paths == set(app.routes) and "/health" in paths
    assert not [p for p in paths if p.startswith("/dev") or "token" in p.split("/")[1:2]]
    assert "/dev/token" not in json.dumps(packaged)
    dist = _distribution(packaged)
    assert [b["PathPattern"] for b in dist.get("CacheBehaviors", [])] == ["/api/*"]


def test_the_lambda_package_drops_the_local_console_server(tmp_path: Path):
    """prune_package.py (run by `make package`) removes chalicelib/local, the only code with
    the dev sign-in, and fails the build if anything deployed imports it."""
    import importlib.util

    zip_path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(zip_path, "w") as z:
        for f in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
            z.write(f, str(f.relative_to(ROOT)))
    spec = importlib.util.spec_from_file_location("prune", ROOT / "infra" / "prune_package.py")
    assert spec and spec.loader
    prune = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prune)
    prune.prune(zip_path)
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        assert "chalicelib/local/console.py" not in names and "app.py" in names
        assert not [n for n in names if b"/dev/token" in z.read(n) or b"_dev_token" in z.read(n)]


def test_the_transformed_template_keeps_the_console_resources(packaged):  # noqa: F811
    cfn = _translator().translate(packaged)
    kinds = {r["Type"] for r in cfn["Resources"].values()}
    assert {"AWS::CloudFront::Distribution", "AWS::S3::Bucket", "AWS::Cognito::UserPoolClient",
            "AWS::Cognito::UserPoolDomain", "AWS::CloudFront::Function"} <= kinds


@pytest.mark.parametrize("uri,expect", [
    ("/", "redirect"), ("/console", "redirect"), ("/console/", "/console/index.html"),
    ("/console/assets/index-abc.js", "/console/assets/index-abc.js"),
    ("/console/config.json", "/console/config.json")])
def test_the_viewer_request_function_serves_the_console_index(merge, uri, expect):  # noqa: F811
    """The CloudFront Function's JavaScript, run by node when it is installed."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    code = _res(merge, "ConsoleIndexFunction")["FunctionCode"]
    out = subprocess.run([node, "-e", code + f"\nconsole.log(JSON.stringify(handler("
                          f"{{request: {{uri: {json.dumps(uri)}}}}})))"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    result = json.loads(out)
    if expect == "redirect":
        assert result["statusCode"] == 302
        assert result["headers"]["location"]["value"] == "/console/"
    else:
        assert result == {"uri": expect}


@pytest.mark.parametrize("algorithm,signin", [("HS256", "dev"), ("RS256", "token")])
def test_the_local_server_offers_dev_sign_in_only_on_a_local_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, algorithm: str, signin: str) -> None:
    import threading
    import urllib.request

    from chalicelib import config

    monkeypatch.setenv("JWT_ALGORITHM", algorithm)
    config.reset()
    (tmp_path / "index.html").write_text("<title>console</title>")
    server = local_console.ConsoleServer(("127.0.0.1", 0), "http://127.0.0.1:9", tmp_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/config.json",
                                    timeout=10) as r:
            assert (r.headers["Cache-Control"], json.loads(r.read())) == (
                "no-store", {"signin": signin})
    finally:
        server.shutdown()
        config.reset()


def _bundle_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("console_bundle",
                                                  ROOT / "infra" / "console_bundle.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_deploy_bundle_carries_the_stacks_cognito_config(packaged, tmp_path: Path):  # noqa: F811
    raw = _sub(packaged["Outputs"]["ConsoleConfig"]["Value"], Domain="perks-123456789012")
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<title>console</title>")
    (dist / "assets" / "index-abc.js").write_text("//")
    (dist / ".built").write_text("")
    (dist / "config.json").write_text('{"signin": "dev"}')  # a stray local one never ships
    _bundle_module().bundle(dist, tmp_path / "out", raw + "\n")
    out = tmp_path / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "assets/index-abc.js", "config.json", "index.html"]
    assert json.loads((out / "config.json").read_text()) == json.loads(raw)


@pytest.mark.parametrize("raw,why", [
    ('{"signin": "dev"}', "cognito"),
    ("", "not JSON"),
    ('{"signin": "cognito", "authority": "http://x", "client_id": "c", '
     '"redirect_uri": "https://d/console/", "scope": "openid"}', "authority must be https"),
    ('{"signin": "cognito", "authority": "https://x", "redirect_uri": "https://d/console/", '
     '"scope": "openid"}', "lacks client_id"),
    ('{"signin": "cognito", "authority": "https://x", "client_id": "c", "dev": true, '
     '"redirect_uri": "https://d/console/", "scope": "openid"}', "unknown keys"),
])
def test_the_deploy_bundle_refuses_any_other_sign_in(tmp_path: Path, raw: str, why: str) -> None:
    (tmp_path / "index.html").write_text("<title>console</title>")
    with pytest.raises(SystemExit, match=why):
        _bundle_module().bundle(tmp_path, tmp_path / "out", raw)
    assert not (tmp_path / "out").exists()


def _default_domain(expr: object, stack_id: str) -> str:
    """The Cognito domain prefix an empty CognitoDomainPrefix resolves to for ``stack_id``
    (the few intrinsics the template uses there)."""
    assert isinstance(expr, dict)
    (fn, arg), = expr.items()
    if fn == "Fn::If":
        return _default_domain(arg[2], stack_id)
    if fn == "Fn::Join":
        return arg[0].join(_default_domain(p, stack_id) if isinstance(p, dict) else p
                           for p in arg[1])
    if fn == "Fn::Select":
        return _default_domain(arg[1], stack_id).split("\0")[arg[0]]
    if fn == "Fn::Split":
        return _default_domain(arg[1], stack_id).replace(arg[0], "\0")
    if fn == "Ref" and arg == "AWS::StackId":
        return stack_id
    raise AssertionError(f"the default domain must derive from the stack, not {expr}")


def test_the_default_cognito_domain_is_unique_per_stack() -> None:
    """Two stacks in one account (prod and staging) must not both claim perks-<account>."""
    template = json.loads((ROOT / "infra" / "template.json").read_text())
    domain = template["Resources"]["ConsoleUserPoolDomain"]["Properties"]["Domain"]
    pattern = template["Parameters"]["CognitoDomainPrefix"]["AllowedPattern"]
    arn = "arn:aws:cloudformation:us-east-1:123456789012:stack/{}/{}"
    got = {_default_domain(domain, arn.format(name, uid)) for name, uid in (
        ("Perks-Prod", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
        ("Perks-Staging", "9a8b7c6d-5e4f-4031-9201-abcdefabcdef"))}
    assert len(got) == 2
    for prefix in got:
        assert re.fullmatch(pattern, prefix) and len(prefix) <= 63, prefix
        assert not re.search("aws|amazon|cognito", prefix), prefix  # Cognito refuses these

"""The OpenAPI document: generated from the route registry, valid 3.1, committed and current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib import openapi

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "infra" / "openapi.json"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi.document()


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


def test_committed_openapi_document_is_current(doc):
    committed = json.loads(COMMITTED.read_text()) if COMMITTED.exists() else {"paths": {}}
    have = {f"{m.upper()} {p}" for m, p, _ in _operations(committed)}
    want = {f"{m.upper()} {p}" for m, p, _ in _operations(doc)}
    hint = (f"infra/openapi.json is stale: run `make openapi` (added: {sorted(want - have)}, "
            f"removed: {sorted(have - want)}, or a model, role or status changed)")
    assert COMMITTED.exists() and COMMITTED.read_text() == openapi.render(doc), hint


def test_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"] == "3.1.0"
    openapi.validate(doc)


def test_the_validator_rejects_a_broken_document(doc):
    broken = json.loads(json.dumps(doc))
    broken["paths"]["/health"]["get"]["responses"] = "nope"
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    with pytest.raises(OpenAPIValidationError):
        openapi.validate(broken)


def test_every_chalice_route_is_declared_through_the_registry(doc):
    from app import app

    served = {(m.lower(), p) for p, entries in app.routes.items() for m in entries}
    documented = {(m, p) for m, p, _ in _operations(doc)}
    assert served == documented, "declare routes with Api(bp).route(...) so they are documented"


def test_every_operation_lists_its_roles_and_unique_id(doc):
    from chalicelib.api.http import ROUTES

    ids = [op["operationId"] for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids))
    for r in ROUTES:
        op = doc["paths"][r.path][r.method.lower()]
        assert op["x-roles"] == list(r.roles)
        assert op["summary"]


def test_authenticated_operations_require_a_bearer_token_and_document_401_and_403(doc):
    scheme = doc["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for method, path, op in _operations(doc):
        if op["x-roles"]:
            assert op["security"] == [{"bearer": []}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)
        else:
            assert op["security"] == [], (method, path)


def test_health_is_public(doc):
    assert doc["paths"]["/health"]["get"]["security"] == []


def test_mutating_operations_take_an_idempotency_key_and_document_its_errors(doc):
    from chalicelib.api.http import ROUTES

    seen = 0
    for r in ROUTES:
        op = doc["paths"][r.path][r.method.lower()]
        headers = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
        if r.idempotent and r.roles:  # mutating unless declared idempotent=False
            seen += 1
            assert headers == ["Idempotency-Key"], (r.method, r.path)
            assert {"409", "422"} <= set(op["responses"]), (r.method, r.path)
        else:
            assert headers == [], (r.method, r.path)
    assert seen >= 5


def test_every_error_response_has_the_error_body(doc):
    shared = doc["components"]["responses"]
    for method, path, op in _operations(doc):
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response == {"$ref": f"#/components/responses/Error{status}"}, (
                    method, path, status)
                schema = shared[f"Error{status}"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}
    assert "Retry-After" in shared.get("Error429", {"headers": {"Retry-After": 1}})["headers"]


def test_declared_error_statuses_are_documented(doc):
    from chalicelib.api.http import ROUTES

    for r in ROUTES:
        documented = {int(s) for s in doc["paths"][r.path][r.method.lower()]["responses"]}
        assert set(r.errors) <= documented, (r.method, r.path)
        assert r.status in documented


def test_request_bodies_reject_unknown_fields(doc):
    schemas = doc["components"]["schemas"]
    bodies = [op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
              for _, _, op in _operations(doc) if "requestBody" in op]
    assert bodies
    for ref in bodies:
        schema = schemas[ref.rsplit("/", 1)[-1]]
        assert schema.get("additionalProperties") is False, ref


def test_path_parameters_are_required_strings(doc):
    params = [p for _, path, op in _operations(doc) for p in op.get("parameters", [])
              if p["in"] == "path"]
    assert params and all(p["required"] and p["schema"]["type"] == "string" for p in params)


def test_query_parameter_forms():
    assert openapi._query_parameter("cursor", "opaque page cursor") == {
        "name": "cursor", "in": "query", "required": False,
        "description": "opaque page cursor", "schema": {"type": "string"}}
    assert openapi._query_parameter("limit", int)["schema"] == {"type": "integer"}
    assert openapi._query_parameter("limit", {"type": "integer", "maximum": 100})["schema"] == {
        "type": "integer", "maximum": 100}
    p = openapi._query_parameter("at", {"description": "when", "required": True})
    assert (p["required"], p["schema"]) == (True, {"type": "string"})


def test_check_exits_1_when_stale_and_0_when_current(tmp_path, capsys):
    from chalicelib.cli import main

    target = tmp_path / "openapi.json"
    assert main(["openapi", "--write", str(target)]) == 0
    assert main(["openapi", "--check", str(target)]) == 0
    target.write_text(target.read_text().replace('"3.1.0"', '"3.0.3"'))
    assert main(["openapi", "--check", str(target)]) == 1
    assert "run `make openapi`" in capsys.readouterr().err


def _validator(doc: dict[str, Any], ref: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator({**ref, "components": doc["components"]})


def test_real_responses_match_their_documented_schemas(doc, api):
    created = api.post("/members", role="service", body={
        "member_id": "m-openapi", "name": "Ada", "timezone": "Europe/Berlin"})
    assert created.status_code == 201
    op = doc["paths"]["/members"]["post"]
    schema = op["responses"]["201"]["content"]["application/json"]["schema"]
    _validator(doc, schema).validate(created.json)

    invalid = api.post("/members", role="service", body={"timezone": "Mars/Olympus"})
    assert invalid.status_code == 400
    _validator(doc, {"$ref": "#/components/schemas/ErrorBody"}).validate(invalid.json)

    forbidden = api.post("/members", role="member", body={})
    assert forbidden.status_code == 403
    _validator(doc, {"$ref": "#/components/schemas/ErrorBody"}).validate(forbidden.json)


def test_list_responses_reference_their_own_item_schema(doc):
    from typing import get_args, get_origin

    for r in openapi.load_routes():
        if r.response is None or get_origin(r.response) is not list:
            continue
        item = get_args(r.response)[0].__name__
        op = doc["paths"][r.path][r.method.lower()]
        schema = op["responses"][str(r.status)]["content"]["application/json"]["schema"]
        assert schema["items"]["$ref"].endswith(f"/{item}"), (r.method, r.path, schema)

"""Every document the API stores reads back equal to what was written, on both engines.

Coupon templates, campaigns, the loyalty program and members go in through the API (PUT or
POST) and come back through it (GET). "Equal" means the validated document (the model's
canonical JSON, nulls and float spellings included) and the model parsed back from it.
Documents are generated from the committed JSON Schemas (tests/schema_strategies.py).
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.coupon_support import template
from tests.schema_strategies import Builder

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much, HealthCheck.too_slow])
_ids = itertools.count(1)


def _schema(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "campaigns" / name).read_text(encoding="utf-8"))


def _exact(value: Any) -> str:
    """JSON text with keys sorted: tells 1 from 1.0 and a null from a missing key."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# --- coupon templates ---------------------------------------------------------------------------

def test_per_member_claim_null_reads_back_as_unlimited(api_on):
    body = template("不限领", limits={"per_member_claim": None})
    put = api_on.put("/admin/coupon-templates/unlimited", role="marketer", body=body)
    assert put.status_code == 201, put.json  # created
    assert put.json["definition"]["limits"]["per_member_claim"] is None
    got = api_on.get("/admin/coupon-templates/unlimited", role="marketer")
    assert got.status_code == 200
    assert got.json["definition"]["limits"]["per_member_claim"] is None
    listed = api_on.get("/admin/coupon-templates", role="marketer").json
    assert listed[0]["definition"]["limits"]["per_member_claim"] is None
    again = api_on.put("/admin/coupon-templates/unlimited", role="marketer", body=body)
    # the same document: no new version
    assert again.status_code == 200 and again.json["version"] == 1


def test_per_member_claim_null_lets_a_member_claim_more_than_once(api_on):
    from tests.coupon_support import register

    body = template("不限领", limits={"per_member_claim": None})
    assert api_on.put("/admin/coupon-templates/unlimited", role="marketer",
                      body=body).status_code == 201
    register("m-1")
    for _ in range(3):
        r = api_on.post("/me/coupons", role="member", sub="m-1",
                        body={"template_id": "unlimited"})
        assert r.status_code == 201, r.json


TEMPLATES = Builder(_schema("coupon-template.schema.json"),
                    overrides={"template_id": st.none(), "$schema": st.none()}).build()


@EXAMPLES
@given(doc=TEMPLATES)
def test_coupon_templates_read_back_as_written(api_on, doc):
    from chalicelib.domain.coupons.template import parse_template
    from chalicelib.errors import ValidationFailed

    tid = f"rt-{next(_ids)}"
    try:
        t = parse_template(doc, tid)
    except ValidationFailed:
        assume(False)
    put = api_on.put(f"/admin/coupon-templates/{tid}", role="marketer", body=doc)
    assert put.status_code == 201, put.json  # a fresh id each example: created
    got = api_on.get(f"/admin/coupon-templates/{tid}", role="marketer")
    assert got.status_code == 200, got.json
    for answer in (put.json["definition"], got.json["definition"]):
        assert _exact(answer) == _exact(t.definition())
        assert parse_template(answer, tid) == t


# --- the loyalty program ------------------------------------------------------------------------

def _program_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """Make a generated program pass the cross-field rules often enough to be useful: the
    base tier has no thresholds, the others have one, ids are unique."""
    tiers = doc.get("tiers") or []
    for i, tier in enumerate(tiers):
        tier["id"] = f"{tier['id'][:30]}{i}"
        th = tier.get("thresholds") or {}
        if i == 0:
            tier.pop("thresholds", None)
        elif th.get("min_spend") is None and th.get("min_orders") is None:
            tier["thresholds"] = {**th, "min_spend": 1000 * i}
    for i, reward in enumerate(doc.get("rewards") or []):
        reward["id"] = f"{reward['id'][:30]}{i}"
        reward.pop("min_tier", None) if i % 2 else None
    return doc


PROGRAMS = Builder(_schema("program.schema.json"),
                   overrides={"$schema": st.none(),
                              "timezone": st.sampled_from(["Asia/Shanghai", "UTC",
                                                           "Asia/Hong_Kong"])}
                   ).build().map(_program_doc)


def _forget_program() -> None:
    """Drop every published version so the next example starts from none (tiers members
    may hold could not be removed otherwise)."""
    from boto3.dynamodb.conditions import Key

    from chalicelib.adapters import aws, keys
    from chalicelib.services.loyalty import program

    table = aws.table()
    for item in table.query(KeyConditionExpression=Key("PK").eq(keys.PROGRAM))["Items"]:
        table.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
    program.invalidate()


@EXAMPLES
@given(doc=PROGRAMS)
def test_the_program_reads_back_as_written(api_on, doc):
    from pydantic import ValidationError

    from chalicelib.domain.loyalty.program import parse_program

    try:
        p = parse_program(doc)
    except ValidationError:
        assume(False)
    _forget_program()
    put = api_on.put("/admin/program", role="marketer", body=doc)
    assert put.status_code == 200, put.json
    got = api_on.get("/admin/program", role="marketer")
    past = api_on.get(f"/admin/program?version={put.json['version']}", role="marketer")
    for answer in (put.json["program"], got.json["program"], past.json["program"]):
        assert _exact(answer) == _exact(p.document())
        assert parse_program(answer) == p


# --- campaigns ----------------------------------------------------------------------------------

SAMPLES = [json.loads(p.read_text(encoding="utf-8"))
           for p in sorted((ROOT / "campaigns").glob("*.json"))
           if "schema" not in p.name and p.name != "program.json"]
_campaign_parts = Builder(_schema("schema.json"))
_props = _schema("schema.json")["properties"]
CAMPAIGNS = st.builds(
    lambda base, extra: {**base, **extra},
    st.sampled_from(SAMPLES),
    st.fixed_dictionaries({}, optional={k: _campaign_parts.build(_props[k]) for k in (
        "description", "priority", "budget", "delivery", "limits", "experiment", "status")}))


@EXAMPLES
@given(doc=CAMPAIGNS)
def test_campaigns_read_back_as_written(api_on, doc):
    from chalicelib.domain.campaigns.validate import parse_campaign
    from chalicelib.errors import ValidationFailed

    doc = {**doc, "id": f"rt-{next(_ids)}"}
    try:
        c = parse_campaign(doc)
    except ValidationFailed:
        assume(False)
    put = api_on.put(f"/admin/campaigns/{doc['id']}", role="marketer", body=doc)
    assert put.status_code in (200, 201), put.json
    got = api_on.get(f"/admin/campaigns/{doc['id']}", role="marketer")
    assert got.status_code == 200, got.json
    for answer in (put.json["campaign"], got.json["campaign"]):
        assert _exact(answer) == _exact(c.document())
        assert parse_campaign(answer) == c.model_copy(update={"schema_": None})


# --- members ------------------------------------------------------------------------------------

def _members() -> st.SearchStrategy[dict[str, Any]]:
    from chalicelib.domain.members.model import NewMember

    return Builder(NewMember.model_json_schema(), overrides={
        "member_id": st.none(),
        "signup_at": st.none(),
        "phone": st.from_regex(r"\A\+861[3-9]\d{9}\Z"),
        "email": st.from_regex(r"\A[a-z0-9._]{1,20}@[a-z]{1,10}\.(cn|com)\Z"),
        "birthday": st.dates(min_value=date(1950, 1, 1), max_value=date(2010, 12, 31)).map(str),
        "timezone": st.sampled_from(["Asia/Shanghai", "America/New_York", "UTC"]),
    }).build()


@EXAMPLES
@given(doc=_members())
def test_members_read_back_as_written(api_on, doc):
    from pydantic import ValidationError

    from chalicelib.domain.members.model import NewMember

    mid = f"rt-{next(_ids)}"
    try:
        m = NewMember.model_validate_json(json.dumps({**doc, "member_id": mid}))
    except ValidationError:
        assume(False)
    made = api_on.post("/members", role="service", body={**doc, "member_id": mid})
    assert made.status_code == 201, made.json
    got = api_on.get(f"/members/{mid}", role="service")
    assert got.status_code == 200, got.json
    written = m.model_dump(mode="json", exclude_none=True, exclude={"member_id", "signup_at"})
    for answer in (made.json, got.json):
        assert _exact({k: answer[k] for k in written}) == _exact(written)


def _sample_campaign(**changes: Any) -> dict[str, Any]:
    return {**SAMPLES[0], "id": f"rt-{next(_ids)}", **changes}


def test_a_campaign_time_with_seconds_is_rejected_not_truncated(api_on):
    doc = _sample_campaign(delivery={"quiet_hours": {"start": "22:00:30", "end": "08:00"}})
    r = api_on.put(f"/admin/campaigns/{doc['id']}", role="marketer", body=doc)
    assert r.status_code == 400, r.json
    assert "/delivery/quiet_hours/start" in {d["path"] for d in r.json["error"]["details"]}


def test_a_tiny_float_in_a_campaign_is_stored_and_audited(api_on):
    doc = _sample_campaign(experiment={"holdout_percent": 1e-200, "variants": []})
    r = api_on.put(f"/admin/campaigns/{doc['id']}", role="marketer", body=doc)
    assert r.status_code in (200, 201), r.json
    got = api_on.get(f"/admin/campaigns/{doc['id']}", role="marketer").json
    assert got["campaign"]["experiment"]["holdout_percent"] == 1e-200
    month = got["updated_at"][:7]
    audit = api_on.get(f"/admin/audit?month={month}", role="marketer")
    assert audit.status_code == 200, audit.json
    assert any(i.get("entity_id") == doc["id"] for i in audit.json["items"])

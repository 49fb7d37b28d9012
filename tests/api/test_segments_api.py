"""Admin segment API: versions, Idempotency-Key, did-you-mean, roles, delete-if-unused,
size estimate."""

from __future__ import annotations

from typing import Any

URL = "/admin/segments/shanghai"
DOC = {"slug": "shanghai", "title": {"zh": "上海会员", "en": "Shanghai members"},
       "owner": "crm", "audience": {"attr": "city", "op": "eq", "value": "Shanghai"}}


def test_put_versions_and_idempotency(api: Any) -> None:
    h = {"Idempotency-Key": "seg-1"}
    r = api.put(URL, role="marketer", sub="alice", body=DOC, headers=h)
    assert r.status_code == 200, r.json
    assert (r.json["version"], r.json["result"]) == (1, "created")
    again = api.put(URL, role="marketer", sub="alice", body=DOC, headers=h)
    assert again.json == r.json  # replayed, not re-executed
    doc2 = {**DOC, "description": "上海常住"}
    assert api.put(URL, role="admin", body=doc2).json["version"] == 2
    live = api.get(URL, role="marketer").json
    assert [v["version"] for v in live["versions"]] == [1, 2] and live["sizes"] == []
    assert api.get(f"{URL}?version=1", role="marketer").json["doc"]["description"] == ""
    assert [i["slug"] for i in api.get("/admin/segments", role="marketer").json["items"]] == \
        ["shanghai"]


def test_errors_have_paths_and_did_you_mean(api: Any) -> None:
    api.put(URL, role="marketer", body=DOC)
    bad = {**DOC, "slug": "sh2", "audience": {"segment": "shangai"}}
    r = api.put("/admin/segments/sh2", role="marketer", body=bad)
    assert r.status_code == 400
    assert "did you mean 'shanghai'?" in str(r.json)
    r = api.put("/admin/segments/other", role="marketer", body=DOC)
    assert r.status_code == 400 and "/slug" in str(r.json)
    assert api.put(URL, role="member", body=DOC).status_code == 403


def test_delete_if_unused_and_size(api: Any) -> None:
    api.put(URL, role="marketer", body=DOC)
    size = api.post(f"{URL}/size", role="marketer", body={})
    assert size.status_code == 200, size.json
    assert (size.json["size"], size.json["exact"]) == (0, True)
    api.put("/admin/segments/sh-gold", role="marketer", body={
        **DOC, "slug": "sh-gold", "audience": {"all": [{"segment": "shanghai"}]}})
    r = api.delete(URL, role="marketer")
    assert r.status_code == 409 and "segment:sh-gold" in str(r.json)
    assert api.delete("/admin/segments/sh-gold", role="marketer").status_code == 204
    assert api.delete(URL, role="marketer").status_code == 204
    assert api.get(URL, role="marketer").status_code == 404

"""GET /admin/campaigns/{id}/results and its CSV export (marketer/admin; members refused)."""

from __future__ import annotations

from chalicelib.services.campaigns import campaigns
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    INBOX_MSG,
    campaign,
    fast_moto_transactions,
)


def test_results_json_and_csv_for_marketers_only(api):
    campaigns.put("res", campaign({"type": "birthday"}, [INBOX_MSG], id="res"), "test")
    r = api.get("/admin/campaigns/res/results?from=2025-03-01&to=2025-03-07", role="marketer")
    assert r.status_code == 200, r.json
    assert r.json["from"] == "2025-03-01" and len(r.json["days"]) == 7
    assert r.json["lift"]["verdict"] == "no_holdout" and r.json["timezone"] == "Asia/Shanghai"
    # per arm (no experiment: the treated group alone) and the split check
    assert [a["kind"] for a in r.json["arms"]] == ["treated"]
    assert r.json["srm"]["status"] == "not_applicable" and r.json["srm"]["flagged"] is False
    from tests.conftest import token

    csv = api.client.http.get("/admin/campaigns/res/results/csv?from=2025-03-01&to=2025-03-02",
                              headers={"Authorization": f"Bearer {token('admin', 'a-1')}"})
    assert csv.status_code == 200
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert csv.headers["Content-Disposition"] == \
        'attachment; filename="res-results-2025-03-01-2025-03-02.csv"'
    assert csv.body.decode().splitlines()[0].startswith("day,targeted")
    assert api.get("/admin/campaigns/res/results", role="member").status_code == 403
    bad = api.get("/admin/campaigns/res/results?from=2025-03-09&to=2025-03-01",
                  role="marketer")
    assert bad.status_code == 400 and bad.json["error"]["details"][0]["path"] == "/from"
    assert api.get("/admin/campaigns/nope/results", role="marketer").status_code == 404

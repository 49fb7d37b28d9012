"""Lucky draws, the pure part: the document and its schema, commit-reveal rolls, picks over
weights, the deterministic re-draw when a prize runs out, pools, and the verifier."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib.cli.draws import SCHEMA_FILE, schema_text
from chalicelib.domain.engagement import draws as d
from chalicelib.errors import ValidationFailed
from tests.draw_support import draw

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2027, 1, 30, 4, 0, tzinfo=UTC)
SEED = "00" * 31 + "2a"


def test_the_sample_draw_validates_and_the_committed_schema_is_current():
    data = json.loads((ROOT / "campaigns/draws/spring-lucky-draw.json").read_text())
    assert d.parse_draw(data, "spring-lucky-draw").id == "spring-lucky-draw"
    assert SCHEMA_FILE.read_text() == schema_text()


@pytest.mark.parametrize(("change", "path"), [
    (lambda x: x["prizes"][0].pop("amount"), "/prizes/0"),
    (lambda x: x["prizes"][1].update(stock=-1), "/prizes/1/stock"),
    (lambda x: x["window"].update(closes_at="2020-01-01T00:00:00"), "/window/closes_at"),
    (lambda x: x.update(colour="red"), "/colour"),
    (lambda x: x["prizes"][2].update(amount=5), "/prizes/2"),
])
def test_problems_are_reported_with_their_json_path(change, path):
    doc = draw(NOW)
    change(doc)
    with pytest.raises(ValidationFailed) as e:
        d.parse_draw(doc)
    assert path in [x["path"] for x in e.value.details], e.value.details


def test_a_costly_prize_needs_a_stock_or_a_budget():
    doc = draw(NOW, budget={})
    with pytest.raises(ValidationFailed) as e:
        d.parse_draw(doc)
    assert "prize small" in e.value.details[0]["message"]


def test_commitment_and_rolls_are_the_documented_functions():
    assert d.commitment(SEED) == hashlib.sha256(bytes.fromhex(SEED)).hexdigest()
    import hmac
    mac = hmac.new(bytes.fromhex(SEED), b"e-1#0", hashlib.sha256).digest()
    assert d.roll(SEED, "e-1") == int.from_bytes(mac[:8], "big")
    assert d.roll(SEED, "e-1", 1) != d.roll(SEED, "e-1", 0)


def test_pick_gives_each_prize_exactly_its_share_of_the_64_bit_range():
    weighted = [("a", 1), ("b", 2), ("c", 1)]
    top = 1 << 64
    assert d.pick(0, weighted) == "a"
    assert d.pick(top // 4 - 1, weighted) == "a"
    assert d.pick(top // 4, weighted) == "b"
    assert d.pick(3 * top // 4 - 1, weighted) == "b"
    assert d.pick(3 * top // 4, weighted) == "c"
    assert d.pick(top - 1, weighted) == "c"


def test_an_exhausted_prize_is_set_aside_and_the_entry_drawn_again_deterministically():
    x = d.parse_draw(draw(NOW))
    free = [d.outcome(x, SEED, f"e{i}", lambda p: True) for i in range(400)]
    hit = next(i for i, o in enumerate(free) if o.prize_id == "thanks")
    again = d.outcome(x, SEED, f"e{hit}", lambda p: p.id != "thanks")
    assert again.set_aside == ("thanks",) and again.prize_id not in (None, "thanks")
    assert again == d.outcome(x, SEED, f"e{hit}", lambda p: p.id != "thanks")
    assert d.outcome(x, SEED, "e1", lambda p: False) == d.Outcome(
        None, d.outcome(x, SEED, "e1", lambda p: False).set_aside)


def test_pools_split_stock_and_budget_so_each_share_pays_the_dearest_prize():
    x = d.parse_draw(draw(NOW, budget={"points": 1000, "fen": 100000}))
    assert d.shard_count(x) == 2  # 1000 points, dearest prize 500
    pools = d.initial_pools(x)
    assert [p.stock["big"] for p in pools] == [1, 1]
    assert [p.points for p in pools] == [500, 500]
    big = x.prize("big")
    assert big is not None
    pools[0].stock["big"] = 0
    assert d.paying_pool(pools, big, 0) is pools[1]
    pools[1].points = 499
    assert d.paying_pool(pools, big, 0) is None


def _log(x: d.Draw, n: int) -> list[dict]:
    out = []
    for i in range(n):
        o = d.outcome(x, SEED, f"e{i}", lambda p: True)
        out.append({"entry_id": f"e{i}", "prize_id": o.prize_id, "set_aside": []})
    return out


def test_the_verifier_accepts_an_honest_log_and_catches_every_kind_of_tampering():
    x = d.parse_draw(draw(NOW, prizes=[
        {"id": "a", "kind": "none", "weight": 1}, {"id": "b", "kind": "none", "weight": 1},
        {"id": "g", "kind": "gift", "sku": "S", "cost": 1, "weight": 1, "stock": 1000}]))
    log = _log(x, 50)
    assert d.verify(x, SEED, d.commitment(SEED), log)["ok"]
    assert not d.verify(x, SEED, "00" * 32, log)["ok"]  # not the committed seed
    forged = [dict(e) for e in log]
    forged[3]["prize_id"] = "a" if forged[3]["prize_id"] != "a" else "b"
    assert "entry e3" in d.verify(x, SEED, d.commitment(SEED), forged)["problems"][0]
    lied = [dict(e) for e in log]  # claims a prize ran out that did not
    first = lied[0]["prize_id"]
    o = d.outcome(x, SEED, "e0", lambda p: p.id != first)
    lied[0].update(prize_id=o.prize_id, set_aside=[first])
    assert any("set aside" in p for p in d.verify(x, SEED, d.commitment(SEED), lied)["problems"])

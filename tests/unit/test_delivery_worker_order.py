"""The worker spends a member's caps in the order the policy defines (the tested rule)."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

import pytest

from chalicelib.domain.delivery import policy
from chalicelib.services.delivery.worker import by_priority

LOW, HIGH = NS(priority=5, id="low"), NS(priority=50, id="high")
TIE_B, TIE_A = NS(priority=10, id="b"), NS(priority=10, id="a")


def order(pairs: list[tuple[Any, Any]]) -> list[tuple[str, str]]:
    return [(c.id, t.occurrence) for t, c in by_priority(pairs)]


def test_a_members_tasks_run_by_priority_then_campaign_id_then_occurrence():
    pairs = [(NS(occurrence="2"), LOW), (NS(occurrence="1"), TIE_B), (NS(occurrence="9"), HIGH),
             (NS(occurrence="1"), LOW), (NS(occurrence="1"), TIE_A)]
    assert order(pairs) == [("high", "9"), ("a", "1"), ("b", "1"), ("low", "1"), ("low", "2")]


def test_the_worker_orders_campaigns_with_the_policy_rule_itself(monkeypatch: pytest.MonkeyPatch):
    pairs = [(NS(occurrence="1"), LOW), (NS(occurrence="1"), HIGH)]
    assert order(pairs) == [("high", "1"), ("low", "1")]
    monkeypatch.setattr(policy, "by_priority", lambda items: sorted(items))  # lowest first
    assert order(pairs) == [("low", "1"), ("high", "1")]

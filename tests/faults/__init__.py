"""Fault injection: the injector (``from tests.faults import FaultInjector``) and the suite
that runs Perks' main flows under injected faults (``tests/faults/test_*.py``)."""

from tests.faults.injector import (
    KINDS,
    FaultInjector,
    deliver,
    failed_ids,
    sqs_event,
)

__all__ = ["KINDS", "FaultInjector", "deliver", "failed_ids", "sqs_event"]

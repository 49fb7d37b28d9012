"""Delivery: planner, worker, outbox, effects, order events, the inbox."""

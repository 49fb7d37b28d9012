"""Delivery, the pure part: which (member timezone, occurrence) pairs are due in a planner
window, quiet-hours deferral, frequency caps, holdout and variant hashing, work packing.

Nothing here imports boto3, chalice or powertools; the planner and workers in
``chalicelib/services/delivery/`` feed it plain values.
"""

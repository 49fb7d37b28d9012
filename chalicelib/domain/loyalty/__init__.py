"""Loyalty domain: program model, earning math, tiers on a rolling window, points lots. Pure.

Nothing in this package imports boto3, chalice or powertools; services feed it plain values
(the member's LOYALTY state, lots, the program) and write the plans it returns.
"""

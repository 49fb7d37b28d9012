"""Perks: membership, coupon and marketing campaign engine."""

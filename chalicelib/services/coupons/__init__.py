"""Coupons: templates, claims and the wallet, codes, checkout reservations."""

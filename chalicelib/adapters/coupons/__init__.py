"""Coupons storage: coupon items and the coupon repository."""

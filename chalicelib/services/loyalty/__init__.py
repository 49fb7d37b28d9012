"""Loyalty: points and rewards, orders and refunds, the program, scheduled jobs."""

"""Delivery storage: the delivery repository and reads, the inbox, channels."""

"""Loyalty storage: wallet items, the loyalty repository, program versions."""

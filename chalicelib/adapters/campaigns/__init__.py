"""Campaigns storage: the campaign repository and preview jobs."""

"""Campaigns: authoring and versions, previews, results."""

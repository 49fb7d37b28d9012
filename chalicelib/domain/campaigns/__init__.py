"""Campaigns as JSON: the model, the audience language, validation, lint, occurrences. Pure.

    model.py        Campaign (pydantic v2); campaigns/schema.json is generated from it
    validate.py     parse_campaign(json) -> Campaign | ValidationFailed([{path, message, hint}])
    audience.py     compile_audience(tree) -> match(profile) -> bool
    profile.py      audience_profile(PROFILE item, LOYALTY item) -> the dict match() reads
    occurrences.py  when a trigger fires, per timezone (scheduler and preview share it)
    templates.py    sandboxed {{ placeholder }} rendering and extraction
    lint.py         costly-mistake warnings; preview.py projections against the budget
"""

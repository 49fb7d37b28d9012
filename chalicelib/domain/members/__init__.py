"""Members, the pure part: profile models, birthdays, masking (model.py); the audience
summary kept on LOYALTY (summary.py); member facts from behaviour (facts.py) and how a member
sees them (facts_view.py)."""

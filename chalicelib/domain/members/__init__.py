"""Members, the pure part: profile models, birthdays, masking."""

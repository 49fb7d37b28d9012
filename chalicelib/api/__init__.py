"""HTTP API: blueprints with thin handlers; auth, errors and idempotency in one place each."""

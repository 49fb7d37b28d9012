"""Members storage: the member repository and the member index."""

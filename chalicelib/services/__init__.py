"""Application services: one function per use case, orchestrating domain and adapters."""

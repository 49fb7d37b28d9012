"""Adapters: everything that talks to AWS lives here and nowhere else."""

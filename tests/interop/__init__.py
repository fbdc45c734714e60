"""Interop tests: our bytes decoded by the real JavaScript clients, and theirs by us."""

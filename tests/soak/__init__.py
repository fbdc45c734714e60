"""Soak tests: thousands of streams, ended every way, leave nothing behind."""

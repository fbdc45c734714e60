"""Upstream's ``assistant_stream.modules.text``, which defines nothing.

Kept so that the import path works.
"""

"""Upstream's ``assistant_stream.modules``: the tool call controller."""

"""``StateProxy``, as upstream's ``assistant_stream.state_proxy``: ``controller.state``'s type."""

from __future__ import annotations

from assistant_stream_core.run import StateProxy

__all__ = ["StateProxy"]

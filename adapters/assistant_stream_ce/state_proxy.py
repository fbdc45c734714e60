"""``StateProxy``, as upstream's ``assistant_stream.state_proxy``: ``controller.state``'s type."""

from __future__ import annotations

from assistant_stream_core.run import StateProxy

__all__ = ["StateProxy"]

#: Upstream's name for the class its ``StateProxy`` extends; here they are one class.
BaseStateProxy = StateProxy

"""Errors raised by the run layer."""

from __future__ import annotations

from ..errors import AssistantStreamError

__all__ = ["RunClosedError"]


class RunClosedError(AssistantStreamError, RuntimeError):
    """A controller was used after its run (or its tool call) was closed.

    Raised by :class:`~assistant_stream_core.run.RunController` methods called
    after the run has ended, and by
    :class:`~assistant_stream_core.run.ToolCallController` methods called after
    :meth:`~assistant_stream_core.run.ToolCallController.close` or
    :meth:`~assistant_stream_core.run.ToolCallController.set_response`. While a
    run is being cancelled (the consumer left), writes are dropped quietly
    instead, so a callback that has not yet noticed ``is_cancelled`` is not
    interrupted by an exception.
    """

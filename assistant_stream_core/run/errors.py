"""Errors raised by the run layer."""

from __future__ import annotations

import contextlib

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


# The run logs its callback's exception with the traceback; a serving loop
# that sees the same exception again only adds a record when nobody has
# (one record per failed run).
_LOGGED = "_assistant_stream_error_logged"


def mark_logged(exc: BaseException) -> None:
    """Record that ``exc`` has been logged with its traceback."""
    # AttributeError: only for exceptions without a __dict__ (rare).
    with contextlib.suppress(AttributeError):
        setattr(exc, _LOGGED, True)


def was_logged(exc: BaseException) -> bool:
    """Whether :func:`mark_logged` saw ``exc``."""
    return bool(getattr(exc, _LOGGED, False))

"""What the client is told when a run raises: the error-message policy.

An exception in a run becomes an error frame on the wire. By default the
frame carries the exception's text, as upstream documents — which sends
whatever the message holds (a connection string, a file path, a user's data)
to every client. A policy is a function ``error_message(exc) -> str`` that
decides the text instead; :func:`internal_error` is the ready-made safe one::

    create_run(callback, error_message=internal_error)
    DataStreamResponse(run, error_message=internal_error)

Whatever the policy, the real exception (with its traceback) is logged by the
run (logger ``assistant_stream_core.run``) or by the serving loop (logger
``assistant_stream_ce``); only the client's copy changes. A policy that
raises, or returns something that is not a ``str``, is logged and replaced by
:data:`INTERNAL_ERROR_MESSAGE`.

>>> from assistant_stream_core.run import internal_error
>>> internal_error(RuntimeError("db connect failed: postgresql://admin:hunter2@db"))
'An internal error occurred.'
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "INTERNAL_ERROR_MESSAGE",
    "ErrorMessage",
    "exception_text",
    "internal_error",
    "render_error",
]

#: A policy: the text the client sees for an exception.
ErrorMessage = Callable[[BaseException], str]

#: What :func:`internal_error` tells the client.
INTERNAL_ERROR_MESSAGE: Final = "An internal error occurred."


def exception_text(exc: BaseException) -> str:
    """The default: the exception's text (upstream's contract), or its class name if empty."""
    return str(exc) or type(exc).__name__


def internal_error(exc: BaseException) -> str:
    """The safe policy: the same fixed sentence for every exception."""
    return INTERNAL_ERROR_MESSAGE


def render_error(
    policy: ErrorMessage | None,
    exc: BaseException,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    default: ErrorMessage = exception_text,
) -> str:
    """Apply ``policy`` (``default`` if ``None``) to ``exc``, never raising."""
    if policy is None:
        return default(exc)
    try:
        text = policy(exc)
    except Exception:
        logger.exception("the error_message policy %r raised", policy)
        return INTERNAL_ERROR_MESSAGE
    if not isinstance(text, str):
        logger.error(
            "the error_message policy %r returned %s, not a str", policy, type(text).__name__
        )
        return INTERNAL_ERROR_MESSAGE
    return text


def check_policy(policy: object) -> None:
    """Raise ``TypeError`` unless ``policy`` is ``None`` or callable."""
    if policy is not None and not callable(policy):
        raise TypeError(f"error_message must be callable, got {type(policy).__name__}")

"""The run layer: turns an async callback into a stream of chunks (anyio).

:func:`create_run` returns a :class:`Run`, an async iterator of chunks (and of
batches of chunks, :meth:`Run.batches`). The callback receives a
:class:`RunController` whose synchronous methods write into a lock-guarded
buffer that the consumer drains all at once — see the module docstrings of
:mod:`~assistant_stream_core.run.runner`, :mod:`~assistant_stream_core.run.controller`
and :mod:`~assistant_stream_core.run.state_proxy` for the design.
"""

from .controller import (
    ReadOnlyCancellationSignal,
    RunController,
    ToolCallController,
    generate_openai_style_tool_call_id,
    stream_text,
)
from .error_messages import INTERNAL_ERROR_MESSAGE, ErrorMessage, exception_text, internal_error
from .errors import RunClosedError
from .openai_model import ChatCompletionResult, ModelToolCall, stream_chat_completion
from .runner import DEFAULT_HIGH_WATER_MARK, Run, RunCallback, create_run
from .state_proxy import StateProxy

__all__ = [
    "ChatCompletionResult",
    "ModelToolCall",
    "stream_chat_completion",
    "DEFAULT_HIGH_WATER_MARK",
    "INTERNAL_ERROR_MESSAGE",
    "ErrorMessage",
    "ReadOnlyCancellationSignal",
    "Run",
    "RunCallback",
    "RunClosedError",
    "RunController",
    "StateProxy",
    "ToolCallController",
    "create_run",
    "exception_text",
    "generate_openai_style_tool_call_id",
    "internal_error",
    "stream_text",
]

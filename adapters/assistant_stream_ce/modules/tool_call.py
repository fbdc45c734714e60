"""``ToolCallController``, as upstream's ``assistant_stream.modules.tool_call``.

``await controller.add_tool_call(name)`` returns one; its chunks go straight
into the run's buffer in call order (upstream relayed them through a task).

:func:`create_tool_call` is upstream's helper for a tool call streamed on its
own, outside a run: it returns the call's chunk stream and a controller with
the same methods.
"""

from __future__ import annotations

import threading
import warnings
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from assistant_stream_core.chunks import (
    Chunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
)
from assistant_stream_core.run import (
    RunClosedError,
    ToolCallController,
    generate_openai_style_tool_call_id,
)
from assistant_stream_core.run._json import check_json

from ..assistant_stream_chunk import AssistantStreamChunk as AssistantStreamChunk

__all__ = [
    "StandaloneToolCallController",
    "ToolCallController",
    "create_tool_call",
    "generate_openai_style_tool_call_id",
]


class StandaloneToolCallController:
    """The controller of a tool call made by :func:`create_tool_call`.

    Same methods and checks as :class:`ToolCallController`. Methods may be
    called from worker threads (they then wait for the event loop to take the
    chunk).
    """

    def __init__(self, tool_name: str, tool_call_id: str, parent_id: str | None) -> None:
        #: The tool's name.
        self.tool_name = tool_name
        #: The tool call's id.
        self.tool_call_id = tool_call_id
        self._closed = False
        self._ended = False
        self._items: deque[Chunk] = deque()
        self._wakeup: anyio.Event | None = None
        self._token = anyio.lowlevel.current_token()
        self._loop_thread = threading.get_ident()
        self._items.append(
            ToolCallBeginChunk(tool_call_id=tool_call_id, tool_name=tool_name, parent_id=parent_id)
        )

    @property
    def closed(self) -> bool:
        """True after :meth:`close` or :meth:`set_response`."""
        return self._closed

    def _on_loop(self, chunk: Chunk | None) -> None:
        if chunk is None:
            self._ended = True
        else:
            self._items.append(chunk)
        if self._wakeup is not None:
            self._wakeup.set()

    def _put(self, chunk: Chunk | None) -> None:
        if threading.get_ident() == self._loop_thread:
            self._on_loop(chunk)
        else:
            # Every change happens on the loop thread; anyio.Event is not thread-safe.
            anyio.from_thread.run_sync(self._on_loop, chunk, token=self._token)

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise RunClosedError(f"{what}: tool call {self.tool_call_id!r} is closed")

    def append_args_text(self, args_text_delta: str) -> None:
        """Append a piece of the tool call's JSON arguments text."""
        if not isinstance(args_text_delta, str):
            raise TypeError(f"args_text_delta must be a str, got {type(args_text_delta).__name__}")
        self._check_open("append_args_text")
        self._put(
            ToolCallDeltaChunk(tool_call_id=self.tool_call_id, args_text_delta=args_text_delta)
        )

    def set_result(self, result: Any) -> None:
        """Deprecated alias of :meth:`set_response` (warns with :class:`DeprecationWarning`)."""
        warnings.warn(
            "set_result() is deprecated. Use set_response() instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        self.set_response(result)

    def set_response(
        self, result: Any, *, artifact: Any | None = None, is_error: bool = False
    ) -> None:
        """Send the tool's result, then close the tool call.

        :raises TypeError: ``result``/``artifact`` is not JSON, or ``is_error`` is not a bool.
        """
        check_json(result, "result")
        check_json(artifact, "artifact")
        if not isinstance(is_error, bool):
            raise TypeError(f"is_error must be a bool, got {type(is_error).__name__}")
        self._check_open("set_response")
        self._put(
            ToolResultChunk(
                tool_call_id=self.tool_call_id, result=result, artifact=artifact, is_error=is_error
            )
        )
        self.close()

    def close(self) -> None:
        """Finish the arguments (``tool-call-args-text-finish``) and end the stream; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._put(ToolCallArgsTextFinishChunk(tool_call_id=self.tool_call_id))
        self._put(None)

    async def _stream(self) -> AsyncGenerator[Chunk, None]:
        items = self._items
        while True:
            while items:
                yield items.popleft()
            if self._ended:
                return
            self._wakeup = anyio.Event()
            await self._wakeup.wait()
            self._wakeup = None


async def create_tool_call(
    tool_name: str, tool_call_id: str, parent_id: str | None = None
) -> tuple[AsyncGenerator[Chunk, None], StandaloneToolCallController]:
    """Start a tool call of its own: return its chunk stream and its controller.

    The stream yields ``tool-call-begin``, the argument deltas and the result,
    and ends after :meth:`~StandaloneToolCallController.close` (or
    ``set_response``) with ``tool-call-args-text-finish``. Call it in the
    event loop that will read the stream.
    """
    controller = StandaloneToolCallController(tool_name, tool_call_id, parent_id)
    return controller._stream(), controller

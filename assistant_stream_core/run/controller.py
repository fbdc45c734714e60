"""The controller a run callback writes to: :class:`RunController` and :class:`ToolCallController`.

Every method is synchronous (as upstream's are, except ``add_tool_call``) and
may be called from a worker thread (``anyio.to_thread.run_sync`` inside the
callback): each one checks its arguments, then makes one call into the run's
lock-guarded buffer (see :mod:`assistant_stream_core.run._buffer`). Nothing is
relayed through a task, so chunks leave in exactly the order they were
produced (see "Order is the callback's order" on the architecture page).

Arguments are checked here, at the call site, with messages that name the
argument, so a mistake raises in the callback rather than breaking the stream
later: non-``str`` text is a :class:`TypeError`; values the wire cannot carry
(not JSON, ``NaN``/``Infinity``, a string holding a lone surrogate, JSON nested
deeper than :data:`~assistant_stream_core.limits.MAX_STATE_DEPTH`) are
:class:`TypeError`/:class:`ValueError`; what the strict TS client rejects (a
second tool call with the same id, a result for an unknown tool call, an
impossible or too deep state path) is a
:class:`ValueError`/:class:`~assistant_stream_core.errors.StateError`
(decision 5). Using a controller after its run or tool call has closed raises
:class:`~assistant_stream_core.run.errors.RunClosedError`.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable, Sequence
from typing import Any, Protocol

import anyio
import anyio.from_thread
import anyio.lowlevel

from ..chunks import (
    AbortChunk,
    AnnotationsChunk,
    Chunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    MessageFinishChunk,
    MessageMetadataChunk,
    PreliminaryToolResultChunk,
    ReasoningPartStartChunk,
    SourceChunk,
    SourceDocumentChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolApprovalRequestChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallResumeChunk,
    ToolOutputDeniedChunk,
    ToolResultChunk,
)
from ..ids import random_id
from ..limits import check_text
from ._buffer import _ARGS, _REASONING, _TEXT, ChunkBuffer
from ._json import check_json
from .errors import RunClosedError
from .state_proxy import StateHost

__all__ = [
    "ReadOnlyCancellationSignal",
    "RunController",
    "ToolCallController",
    "generate_openai_style_tool_call_id",
    "stream_text",
]


_isascii = str.isascii


def generate_openai_style_tool_call_id() -> str:
    """A new tool call id: ``"call_"`` and 24 random characters of ``[A-Za-z0-9]``."""
    return "call_" + random_id(24)


def _require_str(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    check_text(value, name)


def _require_optional_str(value: object, name: str) -> None:
    if value is not None:
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str or None, got {type(value).__name__}")
        check_text(value, name)


def _require_int(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")


class ReadOnlyCancellationSignal:
    """A read-only view of the run's cancellation: ``is_set()`` and ``await wait()``."""

    __slots__ = ("_core",)

    def __init__(self, core: _RunCore) -> None:
        self._core = core

    def is_set(self) -> bool:
        """True once the consumer has left (the client disconnected)."""
        return self._core.cancelled

    async def wait(self) -> bool:
        """Wait until the run is cancelled; returns ``True``."""
        core = self._core
        if core.loop_thread is None:
            raise RuntimeError("the run has not started")
        if core.cancelled:
            await anyio.lowlevel.checkpoint()
            return True
        # Made on first use: most runs never wait on it.
        if core.cancel_event is None:
            core.cancel_event = anyio.Event()
        await core.cancel_event.wait()
        return True


class _Host(Protocol):
    """What the controller needs of the run's producer while it runs."""

    def start_soon(self, func: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start a reader of ``add_stream`` (loop thread)."""

    def cancel(self) -> None:
        """Cancel the callback and every reader now (loop thread)."""


class _RunCore:
    """What every view of one run's controller shares (not public)."""

    __slots__ = (
        "buffer",
        "cancel_event",
        "cancelled",
        "error",
        "host",
        "lock",
        "loop_thread",
        "open_tools",
        "run_id",
        "signal",
        "state",
        "token",
        "tool_call_ids",
    )

    def __init__(self, buffer: ChunkBuffer, state: Any, run_id: str) -> None:
        self.buffer = buffer
        self.state = StateHost(buffer, state)
        self.run_id = run_id
        self.lock = threading.Lock()
        self.tool_call_ids: set[str] = set()
        self.open_tools: dict[str, ToolCallController] = {}
        self.cancelled = False
        self.cancel_event: anyio.Event | None = None
        self.error: BaseException | None = None
        #: The run's producer while its callback (and add_stream's readers)
        #: run: what starts a reader and cancels them all.
        self.host: _Host | None = None
        self.loop_thread: int | None = None
        self.token: anyio.lowlevel.EventLoopToken | None = None
        # Made on first use (RunController.cancelled_event): the signal
        # refers back to this core, a cycle that would leave every run's
        # buffer and state to the cycle collector instead of freeing them
        # when the run ends.
        self.signal: ReadOnlyCancellationSignal | None = None

    def bind(self) -> None:
        """Capture the loop (call from the loop when iteration starts)."""
        self.token = self.buffer.bind()
        self.loop_thread = threading.get_ident()

    def mark_cancelled(self) -> None:
        """The consumer left: set ``is_cancelled`` and the event (loop thread)."""
        self.cancelled = True
        if self.cancel_event is not None:
            self.cancel_event.set()

    def register_tool_call(self, tool_call_id: str) -> None:
        """Claim ``tool_call_id`` for this run; a second claim is a ValueError."""
        with self.lock:
            if tool_call_id in self.tool_call_ids:
                raise ValueError(
                    f"tool_call_id {tool_call_id!r} is already used in this run; "
                    "the client rejects a second tool call with the same id"
                )
            self.tool_call_ids.add(tool_call_id)

    def put_merged(self, chunk: Chunk) -> None:
        """Forward a chunk from a merged stream (tool call ids are still checked)."""
        if isinstance(chunk, ToolCallBeginChunk | ToolCallResumeChunk):
            self.buffer.check_open()
            self.register_tool_call(chunk.tool_call_id)
        self.buffer.add_any(chunk)

    def fail(self, exc: BaseException) -> None:
        """Record the run's first error and stop its remaining tasks."""
        if self.error is None:
            self.error = exc
        if self.host is not None:
            self.host.cancel()

    def close_open_tools(self) -> None:
        """Close every tool call the callback left open (upstream does this at run end)."""
        with self.lock:
            tools = list(self.open_tools.values())
        for tool in tools:
            tool.close()


class ToolCallController:
    """Streams one tool call: its argument text, then its result.

    Returned by :meth:`RunController.add_tool_call`; not created directly.
    """

    __slots__ = ("_answered", "_closed", "_core", "tool_call_id", "tool_name")

    def __init__(self, core: _RunCore, tool_name: str, tool_call_id: str) -> None:
        self._core = core
        self._closed = False
        self._answered = False
        #: The tool's name.
        self.tool_name = tool_name
        #: The tool call's id (given, or generated by :func:`generate_openai_style_tool_call_id`).
        self.tool_call_id = tool_call_id

    @property
    def closed(self) -> bool:
        """True after :meth:`close` or :meth:`set_response`."""
        return self._closed

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise RunClosedError(
                f"{what}: tool call {self.tool_call_id!r} is closed; to report a result "
                "later, use controller.add_tool_result(tool_call_id, result)"
            )

    def append_args_text(self, args_text_delta: str) -> None:
        """Append a piece of the tool call's JSON arguments text."""
        if not isinstance(args_text_delta, str):
            raise TypeError(f"args_text_delta must be a str, got {type(args_text_delta).__name__}")
        if not args_text_delta.isascii():
            check_text(args_text_delta, "args_text_delta")
        self._check_open("append_args_text")
        self._core.buffer.add_delta(_ARGS, self.tool_call_id, args_text_delta)

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

        As upstream, the ``tool-result`` chunk comes first, then
        ``tool-call-args-text-finish``.

        :raises TypeError: ``result``/``artifact`` is not JSON, or ``is_error`` is not a bool.
        :raises ValueError: they hold ``NaN`` or an infinity.
        """
        check_json(result, "result")
        check_json(artifact, "artifact")
        if not isinstance(is_error, bool):
            raise TypeError(f"is_error must be a bool, got {type(is_error).__name__}")
        self._check_open("set_response")
        self._answered = True
        self._core.buffer.add(
            ToolResultChunk(
                tool_call_id=self.tool_call_id, result=result, artifact=artifact, is_error=is_error
            )
        )
        self.close()

    def set_preliminary_response(self, result: Any) -> None:
        """Send the tool's result so far; a later one (or :meth:`set_response`) replaces it.

        For a tool that reports progress before its final result (the AI
        SDK's preliminary tool results). The call stays open.

        :raises TypeError: ``result`` is not JSON.
        :raises ValueError: it holds ``NaN`` or an infinity.
        """
        check_json(result, "result")
        self._check_open("set_preliminary_response")
        self._core.buffer.add(
            PreliminaryToolResultChunk(tool_call_id=self.tool_call_id, result=result)
        )

    def request_approval(self, reason: str | None = None, *, approval_id: str | None = None) -> str:
        """Ask the person to approve or deny this call; return the approval's id.

        The arguments are finished (as by :meth:`close`) and a
        :class:`~assistant_stream_core.chunks.ToolApprovalRequestChunk`
        follows. The call stays without a result: end the run's turn, and read
        the answer from the client's next request
        (:func:`~assistant_stream_core.conversation.answers.tool_answers`). ``reason``
        says why approval is needed (the AI SDK shows it); ``approval_id``
        defaults to ``"approval-"`` and the call's id.

        :raises ~assistant_stream_core.run.errors.RunClosedError: the call
            already has a result.
        """
        if self._answered:
            raise RunClosedError(
                f"request_approval: tool call {self.tool_call_id!r} already has a result"
            )
        return _request_approval(self._core, self.tool_call_id, reason, approval_id)

    def close(self) -> None:
        """Finish the arguments (``tool-call-args-text-finish``); idempotent."""
        core = self._core
        with core.lock:
            if self._closed:
                return
            self._closed = True
            core.open_tools.pop(self.tool_call_id, None)
        core.buffer.add(ToolCallArgsTextFinishChunk(tool_call_id=self.tool_call_id))


class RunController:
    """What a run callback uses to produce chunks.

    Obtained as the callback's argument (``create_run(callback)`` calls
    ``callback(controller)``). Method names and signatures follow upstream
    ``assistant_stream.RunController``.
    """

    __slots__ = ("_add_delta", "_buffer", "_buffer_delta", "_core", "_parent_id")

    def __init__(self, core: _RunCore, parent_id: str | None = None) -> None:
        self._core = core
        self._parent_id = parent_id
        # Bound once: append_text is the hot path.
        self._buffer = buffer = core.buffer
        self._add_delta = buffer.add_delta
        self._buffer_delta = buffer.buffer_delta

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._core.run_id

    def with_parent_id(self, parent_id: str) -> RunController:
        """A view of this controller whose text, reasoning, tool-call, source
        (URL and document) and file chunks carry ``parent_id`` (data, errors,
        annotations, metadata, aborts, steps and state never do)."""
        _require_str(parent_id, "parent_id")
        return RunController(self._core, parent_id)

    # -- text ------------------------------------------------------------------

    def append_text(self, text_delta: str) -> None:
        """Append visible text; adjacent pieces merge while the consumer is behind."""
        try:
            # The type check too: str.isascii() takes nothing but a str.
            if not _isascii(text_delta):
                check_text(text_delta, "text_delta")
        except TypeError:
            raise TypeError(f"text_delta must be a str, got {type(text_delta).__name__}") from None
        # ChunkBuffer.add_delta(), inlined: at a model's pace, per token.
        through = self._buffer.through
        if through is not None and through(
            TextDeltaChunk(text_delta=text_delta, parent_id=self._parent_id)
        ):
            return
        self._buffer_delta(_TEXT, self._parent_id, text_delta)

    def add_reasoning_part(self, unstable_summary: str | None = None) -> None:
        """Start a new reasoning part, optionally with an app-written summary."""
        _require_optional_str(unstable_summary, "unstable_summary")
        self._core.buffer.add(
            ReasoningPartStartChunk(unstable_summary=unstable_summary, parent_id=self._parent_id)
        )

    def append_reasoning(self, reasoning_delta: str) -> None:
        """Append reasoning ("thinking") text."""
        if reasoning_delta.__class__ is not str and not isinstance(reasoning_delta, str):
            raise TypeError(f"reasoning_delta must be a str, got {type(reasoning_delta).__name__}")
        if not reasoning_delta.isascii():
            check_text(reasoning_delta, "reasoning_delta")
        self._add_delta(_REASONING, self._parent_id, reasoning_delta)

    async def stream_text(self, tokens: AsyncIterable[str] | Iterable[str]) -> None:
        """Append each token of ``tokens``, honouring flow control (see :func:`stream_text`)."""
        await stream_text(self, tokens)

    # -- state -------------------------------------------------------------------

    @property
    def state(self) -> Any:
        """The run's state as a :class:`~assistant_stream_core.run.StateProxy`, or ``None``.

        Example::

            controller.state = {"user": {"name": "John"}, "log": ""}
            controller.state["user"]["name"] = "Bob"     # set ["user", "name"]
            controller.state["log"] += "line"            # set (the string was empty)
            controller.state["log"] += " more"           # append-text ["log"]
        """
        return self._core.state.proxy()

    @state.setter
    def state(self, value: Any) -> None:
        """Replace the whole state (a ``set`` at ``[]``); ``value`` is deep-copied."""
        self._core.state.set((), value)

    def append_state_text(self, path: Sequence[str | int], text_delta: str) -> None:
        """Append ``text_delta`` to the string at ``path`` (an ``append-text`` operation).

        :raises StateError: there is no string at ``path`` (the client would reject it).
        """
        self._core.state.append_text(path, text_delta)

    def flush(self) -> None:
        """End the current batch of state operations: later ones go in a new chunk.

        Pending operations always leave before the next non-state chunk and at
        every take by the consumer, so calling this is rarely needed.
        """
        self._core.buffer.seal_ops()

    # -- tool calls ----------------------------------------------------------------

    async def add_tool_call(
        self, tool_name: str, tool_call_id: str | None = None
    ) -> ToolCallController:
        """Begin a tool call and return its controller.

        :raises ValueError: ``tool_call_id`` was already used in this run.
        """
        _require_str(tool_name, "tool_name")
        if tool_call_id is None:
            tool_call_id = generate_openai_style_tool_call_id()
        else:
            _require_str(tool_call_id, "tool_call_id")
        core = self._core
        core.buffer.check_open()
        # A real checkpoint once the run is stopped, as in drain(): a loop of
        # add_tool_call calls must not keep the grace period's timer from firing.
        await core.buffer.checkpoint()
        core.register_tool_call(tool_call_id)
        tool = ToolCallController(core, tool_name, tool_call_id)
        with core.lock:
            core.open_tools[tool_call_id] = tool
        core.buffer.add(
            ToolCallBeginChunk(
                tool_call_id=tool_call_id, tool_name=tool_name, parent_id=self._parent_id
            )
        )
        return tool

    def add_tool_result(
        self, tool_call_id: str, result: Any, *, artifact: Any | None = None, is_error: bool = False
    ) -> None:
        """Send a result for a tool call begun earlier in this run (``tool-result`` only).

        :raises ValueError: no tool call with that id was begun in this run.
        """
        _require_str(tool_call_id, "tool_call_id")
        check_json(result, "result")
        check_json(artifact, "artifact")
        if not isinstance(is_error, bool):
            raise TypeError(f"is_error must be a bool, got {type(is_error).__name__}")
        if tool_call_id not in self._core.tool_call_ids:
            raise ValueError(
                f"tool_call_id {tool_call_id!r} names no tool call in this run; "
                "the client rejects a result for an unknown tool call"
            )
        self._core.buffer.add(
            ToolResultChunk(
                tool_call_id=tool_call_id, result=result, artifact=artifact, is_error=is_error
            )
        )

    def add_preliminary_tool_result(self, tool_call_id: str, result: Any) -> None:
        """Send a tool call's result so far (``preliminary-tool-result``); a later
        result replaces it. The counterpart of :meth:`add_tool_result` for
        :meth:`ToolCallController.set_preliminary_response`.

        :raises ValueError: no tool call with that id was begun in this run.
        """
        _require_str(tool_call_id, "tool_call_id")
        check_json(result, "result")
        if tool_call_id not in self._core.tool_call_ids:
            raise ValueError(
                f"tool_call_id {tool_call_id!r} names no tool call in this run; "
                "the client rejects a result for an unknown tool call"
            )
        self._core.buffer.add(PreliminaryToolResultChunk(tool_call_id=tool_call_id, result=result))

    def request_approval(
        self, tool_call_id: str, reason: str | None = None, *, approval_id: str | None = None
    ) -> str:
        """Ask the person to approve or deny a tool call of this run; return the approval's id.

        The same as :meth:`ToolCallController.request_approval`, by id: for
        the calls :func:`~assistant_stream_core.run.stream_chat_completion`
        made from the model's answer (``result.tool_calls``).

        :raises ValueError: no tool call with that id was begun in this run.
        """
        _require_str(tool_call_id, "tool_call_id")
        if tool_call_id not in self._core.tool_call_ids:
            raise ValueError(f"tool_call_id {tool_call_id!r} names no tool call in this run")
        return _request_approval(self._core, tool_call_id, reason, approval_id)

    def resume_tool_call(self, tool_call_id: str) -> None:
        """Continue a tool call begun in an earlier response (the client answered it).

        After it, :meth:`add_tool_result` or :meth:`deny_tool_call` report what
        became of the call. The AI SDK shows them on the call's part of the
        message it continues, AG-UI as the call's tool message; the other
        protocols write nothing for them, as their client already holds its
        own answer (see the human-in-the-loop guide).

        :raises ValueError: ``tool_call_id`` is already used in this run.
        """
        _require_str(tool_call_id, "tool_call_id")
        core = self._core
        core.buffer.check_open()
        core.register_tool_call(tool_call_id)
        core.buffer.add(ToolCallResumeChunk(tool_call_id=tool_call_id))

    def deny_tool_call(self, tool_call_id: str) -> None:
        """Say that a tool call did not run because the person denied it.

        The call was begun or resumed (:meth:`resume_tool_call`) in this run.

        :raises ValueError: no tool call with that id is in this run.
        """
        _require_str(tool_call_id, "tool_call_id")
        if tool_call_id not in self._core.tool_call_ids:
            raise ValueError(
                f"tool_call_id {tool_call_id!r} names no tool call in this run; "
                "call resume_tool_call() first for a call of an earlier response"
            )
        self._core.buffer.add(ToolOutputDeniedChunk(tool_call_id=tool_call_id))

    # -- other chunks ----------------------------------------------------------------

    def add_stream(self, stream: AsyncIterable[Chunk]) -> None:
        """Merge the chunks of ``stream`` (any async iterable of chunks, or another run).

        The stream is read by a task of this run; the run ends once the
        callback has returned and every merged stream is exhausted. An
        exception from the stream fails the run as if the callback raised it.
        """
        core = self._core
        core.buffer.check_open()
        if not hasattr(stream, "__aiter__"):
            raise TypeError(
                f"stream must be an async iterable of chunks, got {type(stream).__name__}"
            )
        host = core.host
        if host is None:
            raise RunClosedError("add_stream: the run is not running")

        async def reader() -> None:
            try:
                async for chunk in stream:
                    core.put_merged(chunk)
            except Exception as exc:
                core.fail(exc)
            finally:
                aclose = getattr(stream, "aclose", None)
                if aclose is not None:
                    await aclose()

        if threading.get_ident() == core.loop_thread:
            host.start_soon(reader)
        else:
            anyio.from_thread.run_sync(host.start_soon, reader, token=core.token)

    def add_data(self, data: Any) -> None:
        """Attach application data (any JSON value) to the message."""
        check_json(data, "data")
        self._core.buffer.add(DataChunk(data=data))

    def add_error(self, error: str) -> None:
        """Send an error message (the client marks the message as errored)."""
        _require_str(error, "error")
        self._core.buffer.add(ErrorChunk(error=error))

    def add_source(self, id: str, url: str, title: str | None = None) -> None:
        """Cite a source (a URL)."""
        _require_str(id, "id")
        _require_str(url, "url")
        _require_optional_str(title, "title")
        self._core.buffer.add(SourceChunk(id=id, url=url, title=title, parent_id=self._parent_id))

    def add_file(self, data: str, mime_type: str) -> None:
        """Attach a file (base64 ``data`` with its ``mime_type``)."""
        _require_str(data, "data")
        _require_str(mime_type, "mime_type")
        self._core.buffer.add(FileChunk(data=data, mime_type=mime_type, parent_id=self._parent_id))

    def add_annotations(self, annotations: list[Any]) -> None:
        """Attach message annotations (a list of JSON values)."""
        if not isinstance(annotations, list):
            raise TypeError(f"annotations must be a list, got {type(annotations).__name__}")
        check_json(annotations, "annotations")
        self._core.buffer.add(AnnotationsChunk(annotations=annotations))

    def add_message_metadata(self, metadata: dict[str, Any]) -> None:
        """Attach metadata to the message (a JSON object; not in upstream).

        Later metadata is deep-merged into earlier metadata, as the AI SDK
        merges it. What each protocol makes of it is on the protocol pages.

        :raises TypeError: ``metadata`` is not a ``dict`` with ``str`` keys, or not JSON.
        :raises ValueError: it holds ``NaN`` or an infinity.
        """
        if not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        for key in metadata:
            if not isinstance(key, str):
                raise TypeError(f"metadata keys must be str, got {type(key).__name__}")
        check_json(metadata, "metadata")
        self._core.buffer.add(MessageMetadataChunk(metadata=metadata))

    def add_abort(self, reason: str | None = None) -> None:
        """Tell the client the run was aborted (stopped before it completed), with an
        optional reason (not in upstream).

        This only sends the ``abort`` chunk: return from the callback to end the
        run. (A client that disconnects cancels the run instead; see
        :attr:`is_cancelled`.)
        """
        _require_optional_str(reason, "reason")
        self._core.buffer.add(AbortChunk(reason=reason))

    def add_source_document(
        self, id: str, media_type: str, title: str, filename: str | None = None
    ) -> None:
        """Cite a source that is a document rather than a URL (not in upstream)."""
        _require_str(id, "id")
        _require_str(media_type, "media_type")
        _require_str(title, "title")
        _require_optional_str(filename, "filename")
        self._core.buffer.add(
            SourceDocumentChunk(
                id=id,
                media_type=media_type,
                title=title,
                filename=filename,
                parent_id=self._parent_id,
            )
        )

    def add_step_start(self, message_id: str) -> None:
        """Start a model step (one LLM call in an agent loop)."""
        _require_str(message_id, "message_id")
        self._core.buffer.add(StepStartChunk(message_id=message_id))

    def add_step_finish(
        self,
        finish_reason: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        is_continued: bool = False,
    ) -> None:
        """Finish a model step, with its finish reason and token usage."""
        _require_str(finish_reason, "finish_reason")
        _require_int(input_tokens, "input_tokens")
        _require_int(output_tokens, "output_tokens")
        if not isinstance(is_continued, bool):
            raise TypeError(f"is_continued must be a bool, got {type(is_continued).__name__}")
        self._core.buffer.add(
            StepFinishChunk(
                finish_reason=finish_reason,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                is_continued=is_continued,
            )
        )

    def add_message_finish(
        self, finish_reason: str, input_tokens: int = 0, output_tokens: int = 0
    ) -> None:
        """End the message with a finish reason and total usage (not in upstream)."""
        _require_str(finish_reason, "finish_reason")
        _require_int(input_tokens, "input_tokens")
        _require_int(output_tokens, "output_tokens")
        self._core.buffer.add(
            MessageFinishChunk(
                finish_reason=finish_reason, input_tokens=input_tokens, output_tokens=output_tokens
            )
        )

    # -- flow control and cancellation ----------------------------------------------

    async def drain(self) -> None:
        """Return once the consumer has taken the buffer below the high-water mark.

        The buffer's size is the length in characters of pending text,
        reasoning and argument deltas plus 64 per other pending chunk or state
        operation. Returns at once when the buffer is below the mark. Once the
        run is stopped (the client left) it always yields to the event loop,
        so the cancellation at the end of the grace period reaches a callback
        that loops on ``append_text`` + ``drain()`` without checking
        :attr:`is_cancelled`. Call it from the event loop's thread.
        """
        await self._core.buffer.drain()

    @property
    def cancelled_event(self) -> ReadOnlyCancellationSignal:
        """The run's cancellation signal (``is_set()``, ``await wait()``), read-only."""
        core = self._core
        if core.signal is None:
            core.signal = ReadOnlyCancellationSignal(core)
        return core.signal

    @property
    def is_cancelled(self) -> bool:
        """True once the consumer has left early (for example, the client disconnected)."""
        return self._core.cancelled


def _request_approval(
    core: _RunCore, tool_call_id: str, reason: str | None, approval_id: str | None
) -> str:
    _require_optional_str(reason, "reason")
    if approval_id is None:
        approval_id = f"approval-{tool_call_id}"
    else:
        _require_str(approval_id, "approval_id")
    with core.lock:
        tool = core.open_tools.get(tool_call_id)
    if tool is not None:
        tool.close()  # the person approves complete arguments
    core.buffer.add(
        ToolApprovalRequestChunk(tool_call_id=tool_call_id, approval_id=approval_id, reason=reason)
    )
    return approval_id


async def stream_text(
    controller: RunController, tokens: AsyncIterable[str] | Iterable[str]
) -> None:
    """Pipe ``tokens`` into ``controller.append_text``, waiting on :meth:`~RunController.drain`.

    A fast producer (an LLM client yielding tokens) is held back while a slow
    client reads, so the run's buffer stays near its high-water mark. Stops
    early, without error, when the run is cancelled, and closes ``tokens``
    (``aclose()``) when it is an async generator.
    """
    if isinstance(tokens, AsyncIterable):
        iterator = aiter(tokens)
        try:
            async for token in iterator:
                if controller.is_cancelled:
                    break
                controller.append_text(token)
                await controller.drain()
        finally:
            # Like contextlib.aclosing: an abandoned async generator would
            # otherwise be finalised later, outside this task.
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
    else:
        for token in tokens:
            if controller.is_cancelled:
                break
            controller.append_text(token)
            await controller.drain()

"""AG-UI: the Agent User Interaction Protocol's event stream over HTTP SSE.

The frames each chunk becomes, the bookkeeping rules and the differences
from upstream are on its page, docs/protocols/ag-ui.rst.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Final

import msgspec

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
    ReasoningDeltaChunk,
    ReasoningPartStartChunk,
    SourceChunk,
    SourceDocumentChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolApprovalRequestChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolCallResumeChunk,
    ToolOutputDeniedChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from ..errors import ProtocolError, StateError
from ..ids import random_id
from ..json_patch import PatchError as _PatchError
from ..json_patch import PatchOp as _PatchOp
from ..json_patch import apply as _apply_patch
from ..json_patch import json_pointer
from ..json_patch import patch_for as _patch_for
from ..limits import (
    MAX_JSON_DEPTH,
    TOO_DEEP,
    check_json_value,
    check_optional_text,
    json_depth,
)
from ..state import (
    Operation,
    SetOperation,
    apply_operation,
    coerce_operation,
)
from ..tool_calls import ToolCall, ToolCallLedger
from ._encoder import EncoderBase, every_kind, json_encode, not_a_chunk
from ._frames import decode_frame, parent_or_none, union, wire_types
from ._sse import SSEDecoder, SSEEvent
from .base import DEFAULT_MAX_LINE_BYTES, STREAMING_HEADERS

__all__ = [
    "AGUIDecoder",
    "AGUIEncoder",
    "CUSTOM_EVENT_NAMES",
    "METADATA_KEY",
    "DENIED_CONTENT",
    "INTERRUPT_REASON",
    "PROTOCOL_VERSION",
    "json_pointer",
]

MEDIA_TYPE: Final = "text/event-stream; charset=utf-8"
HEADERS: Final[Mapping[str, str]] = {"Content-Type": MEDIA_TYPE, **STREAMING_HEADERS}

#: The AG-UI protocol version this encoder speaks (sent on ``RUN_STARTED``).
PROTOCOL_VERSION: Final = "1.0"
#: The ``content`` of the tool message that says a call was denied.
DENIED_CONTENT: Final = "The user denied this tool call."
#: The ``reason`` of the interrupt an approval request becomes.
INTERRUPT_REASON: Final = "tool_approval"

#: The ``metadata`` key under which chunk fields without an AG-UI field travel.
METADATA_KEY: Final = "assistantStream"


# --- wire objects -----------------------------------------------------------


class _Ext(msgspec.Struct, omit_defaults=True, rename="camel"):
    """Our fields inside ``metadata["assistantStream"]``."""

    parent_id: str | None = None
    summary: str | None = None
    # An event no chunk asked for: a step the encoder opened or closed itself,
    # or a reasoning message opened by a delta rather than a part-start chunk.
    implicit: bool = False
    message_id: str | None = None  # a step's message id, when the step name differs
    finish_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    is_continued: bool = False
    is_error: bool = False
    json: bool = False  # a tool result's content is the JSON text of a non-string result
    artifact: Any = None
    denied: bool = False  # a tool result that says the person denied the call


class _Meta(msgspec.Struct, omit_defaults=True):
    ext: _Ext | None = msgspec.field(default=None, name=METADATA_KEY)


class _Event(msgspec.Struct, omit_defaults=True, rename="camel", tag_field="type", kw_only=True):
    pass


def _event(tag: str, *fields: tuple[str, Any] | tuple[str, Any, Any]) -> Any:
    """An ``_Event`` Struct for the AG-UI event ``tag``, its fields as (name, type[, default])."""
    name = "_" + tag.title().replace("_", "")
    return msgspec.defstruct(name, fields, bases=(_Event,), tag=tag, kw_only=True, module=__name__)


class _Usage(msgspec.Struct, omit_defaults=True, rename="camel"):
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None


class _Interrupt(msgspec.Struct, omit_defaults=True, rename="camel", kw_only=True):
    id: str
    reason: str
    message: str | None = None
    tool_call_id: str | None = None


class _Outcome(msgspec.Struct, omit_defaults=True, kw_only=True):
    type: str
    interrupts: list[_Interrupt] | None = None


_CANCELLED: Final = _Outcome(type="cancelled")

# The fields several events share.
_MESSAGE: Final = ("message_id", str)
_CALL: Final = ("tool_call_id", str)
_DELTA: Final = ("delta", str)
_META: Final = ("metadata", _Meta | None, None)
_USAGE: Final = ("usage", list[_Usage] | None, None)
_RUN: Final = (("thread_id", str), ("run_id", str))

_RunStarted: Final = _event("RUN_STARTED", *_RUN, ("protocol_version", str | None, None))
_RunFinished: Final = _event(
    "RUN_FINISHED", *_RUN, _USAGE, _META, ("outcome", _Outcome | None, None)
)
_RunError: Final = _event("RUN_ERROR", ("message", str), ("code", str | None, None), _USAGE, _META)
_TextStart: Final = _event("TEXT_MESSAGE_START", _MESSAGE, ("role", str | None, None), _META)
_TextContent: Final = _event("TEXT_MESSAGE_CONTENT", _MESSAGE, _DELTA)
_TextEnd: Final = _event("TEXT_MESSAGE_END", _MESSAGE)
_ReasoningStart: Final = _event("REASONING_START", _MESSAGE)
# role: required by the client's validator, though fixed: never omitted.
_ReasoningMessageStart: Final = _event("REASONING_MESSAGE_START", _MESSAGE, ("role", str), _META)
_ReasoningContent: Final = _event("REASONING_MESSAGE_CONTENT", _MESSAGE, _DELTA)
_ReasoningMessageEnd: Final = _event("REASONING_MESSAGE_END", _MESSAGE)
_ReasoningEnd: Final = _event("REASONING_END", _MESSAGE)
_ToolStart: Final = _event(
    "TOOL_CALL_START",
    _CALL,
    ("tool_call_name", str),
    ("parent_message_id", str | None, None),
    _META,
)
_ToolArgs: Final = _event("TOOL_CALL_ARGS", _CALL, _DELTA)
_ToolEnd: Final = _event("TOOL_CALL_END", _CALL)
_ToolResult: Final = _event(
    "TOOL_CALL_RESULT",
    _MESSAGE,
    _CALL,
    ("content", str | list[Any]),
    ("role", str | None, None),
    _META,
)
_StateSnapshot: Final = _event("STATE_SNAPSHOT", ("snapshot", Any))
_StateDelta: Final = _event("STATE_DELTA", ("delta", list[_PatchOp]))
_StepStarted: Final = _event("STEP_STARTED", ("step_name", str), _META)
_StepFinished: Final = _event("STEP_FINISHED", ("step_name", str), _META)
_Custom: Final = _event("CUSTOM", ("name", str), ("value", Any))


def _value_struct(kind: type[Chunk]) -> type[msgspec.Struct]:
    """The Struct of a ``CUSTOM`` event's value: the chunk's fields, camelCase;
    those that default to ``None`` are left out when ``None``, the rest always written."""
    fields = [
        (f.name, f.type, None) if f.default is None else (f.name, f.type)
        for f in msgspec.structs.fields(kind)
    ]
    return msgspec.defstruct(f"_{kind.__name__}Value", fields, rename="camel", omit_defaults=True)


#: The chunk kinds sent as ``CUSTOM`` events, and the Struct of each one's value,
#: or ``None``: the value is the chunk's one field.
_CUSTOM_VALUES: Final[dict[type[Chunk], type[msgspec.Struct] | None]] = {
    DataChunk: None,
    AnnotationsChunk: None,
    SourceChunk: _value_struct(SourceChunk),
    FileChunk: _value_struct(FileChunk),
    MessageMetadataChunk: None,
    AbortChunk: _value_struct(AbortChunk),
    SourceDocumentChunk: _value_struct(SourceDocumentChunk),
    PreliminaryToolResultChunk: _value_struct(PreliminaryToolResultChunk),
}
#: ``CUSTOM`` event names for the chunks AG-UI has no event for, by chunk type:
#: ``assistant-stream/<type>``.
CUSTOM_EVENT_NAMES: Final[Mapping[str, str]] = {
    kind.type: f"assistant-stream/{kind.type}" for kind in _CUSTOM_VALUES
}
_CUSTOM_KIND: Final = {CUSTOM_EVENT_NAMES[kind.type]: kind for kind in _CUSTOM_VALUES}


# The *_CHUNK shorthands (never written here): start, content and end in one event;
# every field optional.
def _optional(*names: str) -> list[tuple[str, Any, Any]]:
    return [(name, str | None, None) for name in names]


_TextChunk: Final = _event("TEXT_MESSAGE_CHUNK", *_optional("message_id", "role", "delta"))
_ReasoningChunk: Final = _event("REASONING_MESSAGE_CHUNK", *_optional("message_id", "delta"))
_ToolChunk: Final = _event("TOOL_CALL_CHUNK", *_optional("tool_call_id", "tool_call_name", "delta"))

_CHUNK_KINDS: Final[dict[type[Any], str]] = {
    _TextChunk: "text",
    _ReasoningChunk: "reasoning",
    _ToolChunk: "tool",
}


# AG-UI 1.0 events the decoder accepts and ignores: they carry nothing a chunk
# can hold (snapshots of whole conversations, activity, raw provider events).
_IGNORED_TYPES: Final = (
    "REASONING_ENCRYPTED_VALUE",
    "MESSAGES_SNAPSHOT",
    "ACTIVITY_SNAPSHOT",
    "ACTIVITY_DELTA",
    "RAW",
    "SUBAGENT_STARTED",
    "SUBAGENT_FINISHED",
    "SUBAGENT_ERROR",
)
# Held here: the decoder's union finds them among _Event's subclasses.
_IGNORED_STRUCTS: Final = tuple(_event(tag) for tag in _IGNORED_TYPES)

# One decoder for every event: a tagged union, so validation names the bad field.
_EVENTS: Final[msgspec.json.Decoder[Any]] = msgspec.json.Decoder(union(wire_types(_Event).values()))


def _meta(ext: _Ext) -> _Meta | None:
    # Leave ``metadata`` out entirely when there is nothing of ours to carry.
    return None if ext == _EMPTY_EXT else _Meta(ext)


_EMPTY_EXT: Final = _Ext()


class AGUIEncoder(EncoderBase):
    """Encodes chunks as one AG-UI run of SSE events. One per response.

    ``thread_id`` and ``run_id`` are usually the ones in the client's
    ``RunAgentInput``; ``message_id`` names the assistant message. Each is a
    fresh random id (``thread-``, ``run-``, ``msg-`` and 24 letters and
    digits) when not given. ``state`` is the state the client holds (its
    ``RunAgentInput.state``): deltas are computed against it; with ``None``
    the first update is sent as a snapshot. ``custom_events=False`` drops
    data, annotations, sources, files, message metadata, aborts, document
    sources and preliminary tool results instead of sending ``CUSTOM`` events
    (an abort still makes ``RUN_FINISHED`` say ``cancelled``).

    >>> encoder = AGUIEncoder(thread_id="t", run_id="r", message_id="m")
    >>> frames = encoder.encode(TextDeltaChunk("Hi")).decode().splitlines()
    >>> frames[::2]  # doctest: +NORMALIZE_WHITESPACE
    ['data: {"type":"RUN_STARTED","threadId":"t","runId":"r","protocolVersion":"1.0"}',
     'data: {"type":"TEXT_MESSAGE_START","messageId":"m","role":"assistant"}',
     'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"Hi"}']
    """

    media_type: str = MEDIA_TYPE
    headers: Mapping[str, str] = HEADERS
    #: An SSE comment: every SSE parser skips it.
    keepalive: bytes | None = b": heartbeat\n\n"

    def __init__(
        self,
        *,
        thread_id: str | None = None,
        run_id: str | None = None,
        message_id: str | None = None,
        state: Any = None,
        custom_events: bool = True,
    ) -> None:
        # Ids usually come from the client's request: a lone surrogate there
        # fails here, naming the argument, not later in RUN_STARTED.
        check_optional_text(thread_id, "thread_id")
        check_optional_text(run_id, "run_id")
        check_optional_text(message_id, "message_id")
        check_json_value(state, "state")
        super().__init__()
        self.thread_id: str = thread_id or "thread-" + random_id(24)
        self.run_id: str = run_id or "run-" + random_id(24)
        self.message_id: str = message_id or "msg-" + random_id(24)
        self._custom_events = custom_events
        self._started = False
        self._closed = False  # RUN_FINISHED or RUN_ERROR sent
        self._assistant_id = self.message_id
        self._assistant_count = 0
        self._had_result = False  # a tool result since the assistant message began
        self._text: str | None = None  # the open text message's parent id ("" = none)
        self._reasoning: str | None = None  # the open reasoning message's id
        self._reasoning_parent: str | None = None
        self._reasoning_count = 0
        self._tools = ToolCallLedger()  # settled: TOOL_CALL_END sent
        self._steps: list[str] = []
        self._step_count = 0
        self._state = state
        self._state_synced = state is not None
        self._finish: MessageFinishChunk | None = None
        self._aborted = False  # an abort chunk: RUN_FINISHED says "cancelled"
        self._warned: set[str] = set()
        # Approval requests: RUN_FINISHED ends the run with an interrupt outcome.
        self._interrupts: list[_Interrupt] = []

    # --- frames -------------------------------------------------------------

    def _close(self, out: bytearray) -> None:
        """Close what is open and send ``RUN_FINISHED`` (nothing after ``RUN_ERROR``)."""
        if not self._started:
            self._run_started(out)
        if self._closed:
            return
        self._close_all(out)
        usage, meta = self._finish_fields()
        outcome = None
        if self._interrupts:
            outcome = _Outcome(type="interrupt", interrupts=self._interrupts)
        elif self._aborted:
            # A run that waits for a person says so even if it was also aborted:
            # the abort still has its CUSTOM event.
            outcome = _CANCELLED
        self._sse(
            out,
            _RunFinished(
                thread_id=self.thread_id,
                run_id=self.run_id,
                usage=usage,
                metadata=meta,
                outcome=outcome,
            ),
        )
        self._closed = True

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, RuntimeWarning, stacklevel=4)

    def _run_started(self, out: bytearray) -> None:
        self._sse(
            out,
            _RunStarted(
                thread_id=self.thread_id, run_id=self.run_id, protocol_version=PROTOCOL_VERSION
            ),
        )

    # --- open/close bookkeeping ---------------------------------------------

    def _close_messages(self, out: bytearray) -> None:
        if self._text is not None:
            self._sse(out, _TextEnd(message_id=self._assistant_id))
            self._text = None
        if self._reasoning is not None:
            self._sse(out, _ReasoningMessageEnd(message_id=self._reasoning))
            self._sse(out, _ReasoningEnd(message_id=self._reasoning))
            self._reasoning = None

    def _end_tool(self, out: bytearray, tool: ToolCall, rest: str) -> None:
        if tool.settled:
            return
        rest = tool.final_args(rest)  # clients parse the args text as JSON
        if rest:
            self._sse(out, _ToolArgs(tool_call_id=tool.tool_call_id, delta=rest))
        self._sse(out, _ToolEnd(tool_call_id=tool.tool_call_id))
        self._tools.settle(tool)

    def _close_tools(self, out: bytearray) -> None:
        for tool in self._tools.unsettled():
            self._end_tool(out, tool, "")

    def _close_all(self, out: bytearray) -> None:
        self._close_messages(out)
        self._close_tools(out)
        while self._steps:
            name = self._steps.pop()
            self._sse(out, _StepFinished(step_name=name, metadata=_Meta(_Ext(implicit=True))))

    def _assistant_message(self) -> str:
        # After a tool result the agent loop continues in a new assistant message.
        if self._had_result:
            self._had_result = False
            self._assistant_count += 1
            self._assistant_id = f"{self.message_id}-{self._assistant_count}"
        return self._assistant_id

    def _open_reasoning(
        self, out: bytearray, parent: str, *, part_start: bool, summary: str | None
    ) -> str:
        self._close_messages(out)
        self._reasoning_count += 1
        message_id = f"{self.message_id}-reasoning-{self._reasoning_count}"
        self._reasoning = message_id
        self._reasoning_parent = parent
        ext = _Ext(parent_id=parent or None, summary=summary, implicit=not part_start)
        self._sse(out, _ReasoningStart(message_id=message_id))
        self._sse(
            out,
            _ReasoningMessageStart(message_id=message_id, role="reasoning", metadata=_meta(ext)),
        )
        return message_id

    def _finish_fields(self) -> tuple[list[_Usage] | None, _Meta | None]:
        finish = self._finish
        if finish is None:
            return None, None
        usage = None
        if finish.input_tokens or finish.output_tokens:
            usage = [
                _Usage(
                    input_tokens=finish.input_tokens,
                    output_tokens=finish.output_tokens,
                    total_tokens=finish.input_tokens + finish.output_tokens,
                )
            ]
        return usage, _Meta(_Ext(finish_reason=finish.finish_reason))

    # --- the per-chunk state machine ----------------------------------------

    def _write(self, out: bytearray, chunk: Chunk) -> None:
        if type(chunk) in _CHECKED_FIRST:
            # Encode first, then commit: these branches close messages, calls
            # and steps before their own event.
            json_encode(chunk)
        if not self._started:
            self._run_started(out)  # cut with the chunk's frames if the chunk fails
        self._write_chunk(out, chunk)
        self._started = True  # not reached if the chunk fails

    _writers = every_kind(_write)

    def _write_chunk(self, out: bytearray, chunk: Chunk) -> None:
        if self._closed:
            self._warn_once(
                "closed",
                f"AG-UI stream already ended with RUN_ERROR or RUN_FINISHED; "
                f"dropping {chunk.type} chunk (and any later ones)",
            )
            return
        if type(chunk) is TextDeltaChunk:
            if not chunk.text_delta:
                return  # AG-UI clients get no empty deltas
            parent = chunk.parent_id or ""
            if self._text != parent:
                json_encode(chunk)  # encode first: opening changes state
                self._close_messages(out)
                message_id = self._assistant_message()
                self._sse(
                    out,
                    _TextStart(
                        message_id=message_id,
                        role="assistant",
                        metadata=_meta(_Ext(parent_id=parent or None)),
                    ),
                )
                self._text = parent
            self._sse(out, _TextContent(message_id=self._assistant_id, delta=chunk.text_delta))
        elif type(chunk) is ReasoningDeltaChunk:
            if not chunk.reasoning_delta:
                return
            parent = chunk.parent_id or ""
            reasoning_id = self._reasoning
            if reasoning_id is None or self._reasoning_parent != parent:
                json_encode(chunk)  # encode first: opening changes state
                reasoning_id = self._open_reasoning(out, parent, part_start=False, summary=None)
            self._sse(out, _ReasoningContent(message_id=reasoning_id, delta=chunk.reasoning_delta))
        elif type(chunk) is ToolCallDeltaChunk:
            tool = self._tools.get(chunk.type, chunk.tool_call_id)
            if tool.settled or not chunk.args_text_delta:
                return  # args text after the call ended has nowhere to go
            self._sse(out, _ToolArgs(tool_call_id=chunk.tool_call_id, delta=chunk.args_text_delta))
            self._tools.record_args(tool, chunk.args_text_delta)
        elif type(chunk) is UpdateStateChunk:
            self._write_state(out, chunk)
        elif type(chunk) is ReasoningPartStartChunk:
            self._open_reasoning(
                out, chunk.parent_id or "", part_start=True, summary=chunk.unstable_summary
            )
        elif type(chunk) is ToolCallBeginChunk:
            self._tools.check_new(chunk.tool_call_id)
            self._close_messages(out)
            self._sse(
                out,
                _ToolStart(
                    tool_call_id=chunk.tool_call_id,
                    tool_call_name=chunk.tool_name,
                    parent_message_id=self._assistant_message(),
                    metadata=_meta(_Ext(parent_id=parent_or_none(chunk.parent_id))),
                ),
            )
            self._tools.add(chunk.tool_call_id, chunk.tool_name)
        elif type(chunk) is ToolCallArgsTextFinishChunk:
            tool = self._tools.get(chunk.type, chunk.tool_call_id)
            self._end_tool(out, tool, chunk.args_text_delta)
        elif type(chunk) is ToolResultChunk:
            tool = self._tools.get(chunk.type, chunk.tool_call_id)
            result = chunk.result
            is_json = not isinstance(result, str)
            content = result if isinstance(result, str) else json_encode(result).decode()
            ext = _Ext(is_error=chunk.is_error, json=is_json, artifact=chunk.artifact)
            self._write_tool_message(out, tool, content, ext)
        elif type(chunk) is ErrorChunk:
            self._close_all(out)
            usage, meta = self._finish_fields()
            self._sse(out, _RunError(message=chunk.error, usage=usage, metadata=meta))
            self._closed = True
        elif type(chunk) is StepStartChunk:
            self._close_messages(out)
            name = chunk.message_id
            if name in self._steps:  # AG-UI step names must be unique while active
                self._step_count += 1
                name = f"{chunk.message_id}#{self._step_count}"
            ext = _Ext(message_id=chunk.message_id if name != chunk.message_id else None)
            self._sse(out, _StepStarted(step_name=name, metadata=_meta(ext)))
            self._steps.append(name)
        elif type(chunk) is StepFinishChunk:
            self._close_messages(out)
            self._close_tools(out)
            if not self._steps:
                self._step_count += 1
                name = f"{self.message_id}-step-{self._step_count}"
                implicit = _Meta(_Ext(implicit=True))
                self._sse(out, _StepStarted(step_name=name, metadata=implicit))
            else:
                name = self._steps.pop()
            ext = _Ext(
                finish_reason=chunk.finish_reason,
                input_tokens=chunk.input_tokens,
                output_tokens=chunk.output_tokens,
                is_continued=chunk.is_continued,
            )
            self._sse(out, _StepFinished(step_name=name, metadata=_Meta(ext)))
        elif type(chunk) is MessageFinishChunk:
            self._close_messages(out)
            self._close_tools(out)
            self._finish = chunk
        elif type(chunk) in _CUSTOM_VALUES:
            if type(chunk) is PreliminaryToolResultChunk:
                self._tools.get(chunk.type, chunk.tool_call_id)  # a begun call, or raise
            self._write_custom(out, chunk)
            self._aborted = self._aborted or type(chunk) is AbortChunk
        elif type(chunk) is ToolApprovalRequestChunk:
            self._end_tool(out, self._tools.get(chunk.type, chunk.tool_call_id), "")
            self._interrupts.append(
                _Interrupt(
                    id=chunk.approval_id,
                    reason=INTERRUPT_REASON,
                    message=chunk.reason,
                    tool_call_id=chunk.tool_call_id,
                )
            )
        elif type(chunk) is ToolOutputDeniedChunk:
            # The call's tool message, so the thread the client keeps shows why
            # the call has no output (and the next model request has its answer).
            tool = self._tools.get(chunk.type, chunk.tool_call_id)
            self._write_tool_message(out, tool, DENIED_CONTENT, _Ext(denied=True))
        elif type(chunk) is ToolCallResumeChunk:
            self._tools.resume(chunk.tool_call_id)
        else:
            raise not_a_chunk(chunk)

    def _write_tool_message(self, out: bytearray, tool: ToolCall, content: str, ext: _Ext) -> None:
        """A tool result's (or a denial's) ``TOOL_CALL_RESULT``, after what it closes."""
        # Encode it first: if it cannot be, the text message and the tool call
        # must still be open (their ends not recorded as sent).
        frame = bytearray()
        self._sse(
            frame,
            _ToolResult(
                message_id=f"{self.message_id}-result-{tool.tool_call_id}",
                tool_call_id=tool.tool_call_id,
                content=content,
                role="tool",
                metadata=_meta(ext),
            ),
        )
        self._close_messages(out)
        self._end_tool(out, tool, "")
        out += frame
        self._had_result = True

    def _write_custom(self, out: bytearray, chunk: Chunk) -> None:
        if not self._custom_events:
            self._warn_once(
                "custom",
                "AG-UI has no event for data, annotations, sources, files, message "
                "metadata, aborts and preliminary tool results and custom_events=False: "
                "dropping them for this stream",
            )
            return
        self._sse(out, _Custom(name=CUSTOM_EVENT_NAMES[chunk.type], value=_custom_value(chunk)))

    def _write_state(self, out: bytearray, chunk: UpdateStateChunk) -> None:
        state = self._state
        patch: list[_PatchOp] = []
        snapshot = not self._state_synced
        applied = 0
        for raw in chunk.operations:
            try:
                op = coerce_operation(raw)
                new_state = apply_operation(state, op)
            except StateError as exc:
                self._warn_once(
                    "state",
                    f"dropping a state operation the client cannot apply: {exc} "
                    "(later ones in this stream are dropped without a warning)",
                )
                continue
            if not snapshot:
                step = _patch_for(state, op, new_state)
                if step is None:
                    snapshot = True
                elif (
                    patch
                    and step.op == "replace"
                    and patch[-1].path == step.path
                    and patch[-1].op in ("add", "replace")
                ):
                    patch[-1].value = step.value  # append after append: one operation
                else:
                    patch.append(step)
            state = new_state
            applied += 1
        if applied:
            # Encode first: a value JSON cannot hold must leave the tracked state as it was.
            self._sse(out, _StateSnapshot(snapshot=state) if snapshot else _StateDelta(delta=patch))
            self._state = state
            self._state_synced = True


#: Chunk kinds whose branch changes state before it writes its own event.
_CHECKED_FIRST: Final = frozenset(
    {
        ToolCallBeginChunk,
        ToolCallArgsTextFinishChunk,
        ReasoningPartStartChunk,
        ErrorChunk,
        StepStartChunk,
        StepFinishChunk,
        MessageFinishChunk,
    }
)


def _custom_value(chunk: Chunk) -> Any:
    """The value of the ``CUSTOM`` event that carries ``chunk``."""
    value_type = _CUSTOM_VALUES[type(chunk)]
    if value_type is None:
        return getattr(chunk, chunk.__struct_fields__[0])
    if getattr(chunk, "parent_id", None) == "":
        chunk = msgspec.structs.replace(chunk, parent_id=None)
    return msgspec.convert(chunk, value_type, from_attributes=True)


# --- decoding ---------------------------------------------------------------


def _ext(meta: _Meta | None) -> _Ext:
    return meta.ext if meta is not None and meta.ext is not None else _EMPTY_EXT


class AGUIDecoder(SSEDecoder):
    """Decodes one AG-UI run (SSE events) back into chunks.

    ``feed`` accepts bytes split anywhere; ``max_event_bytes`` bounds the
    memory one event may take (16 MiB by default). ``state`` is the state the
    run started from, against which ``STATE_DELTA`` patches apply. After the
    stream, :attr:`thread_id`, :attr:`run_id` and :attr:`state` hold what it
    said.

    Bad input raises :class:`ProtocolError` naming the problem and its byte
    offset, and the decoder is unusable afterwards. :doc:`/protocols/ag-ui`
    lists what is bad input and what comes back.
    """

    _EVENT_NAMES = None  # AG-UI names events in the JSON, not in SSE
    _DONE_MARKER = False  # the run ends at RUN_FINISHED or RUN_ERROR
    _UNTERMINATED = "stream ended inside an event (no blank line after it)"
    _UNFINISHED = "stream ended before RUN_FINISHED or RUN_ERROR"

    def __init__(self, *, state: Any = None, max_event_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        super().__init__(max_event_bytes)
        self._started = False
        #: The ``threadId`` / ``runId`` of ``RUN_STARTED`` (``None`` before it).
        self.thread_id: str | None = None
        self.run_id: str | None = None
        #: The state after the last ``STATE_SNAPSHOT`` / ``STATE_DELTA``.
        self.state: Any = state
        self._text = _Open("text message")  # id -> (parent, is assistant)
        self._reasoning = _Open("reasoning message")  # id -> parent
        self._spans = _Open("reasoning span")
        self._calls = _Open("tool call")
        self._steps = _Open("step")
        self._call_ids: set[str] = set()  # every tool call id this run used
        # The stream a *_CHUNK event opened: (kind, id, is assistant text), until another event.
        self._lane: tuple[str, str, bool] | None = None
        self._aborted = False  # an abort CUSTOM event was read

    def finish(self) -> list[Chunk]:
        """End of input: raise :class:`ProtocolError` unless the run ended cleanly."""
        try:
            return super().finish()
        finally:
            self._failed = True  # nothing may follow the end of the run

    def _decode_event(self, sse: SSEEvent, out: list[Chunk]) -> None:
        event = decode_frame(_EVENTS, sse.data, "AG-UI event")
        name = type(event).__struct_config__.tag
        if self._done:
            raise ProtocolError(f"{name} after the run ended (one run per stream)")
        if not self._started and type(event) not in (_RunStarted, _RunError):
            raise ProtocolError(f"the first event must be RUN_STARTED, not {name}")
        try:
            if type(event) in _CHUNK_KINDS:
                self._chunk_event(event, out)
            else:
                self._close_lane(out)
                self._dispatch(event, out)
        except _PatchError as exc:
            raise ProtocolError(f"STATE_DELTA does not apply: {exc}") from None
        except (StateError, _SequenceError) as exc:  # StateError: an operation too deep to make
            raise ProtocolError(f"{name}: {exc}") from None

    def _dispatch(self, event: Any, out: list[Chunk]) -> None:
        if type(event) is _TextContent:
            parent, assistant = self._text.need(event.message_id)
            if assistant and event.delta:
                out.append(TextDeltaChunk(event.delta, parent))
        elif type(event) is _ReasoningContent:
            parent = self._reasoning.need(event.message_id)
            if event.delta:
                out.append(ReasoningDeltaChunk(event.delta, parent))
        elif type(event) is _ToolArgs:
            self._calls.need(event.tool_call_id)
            if event.delta:
                out.append(ToolCallDeltaChunk(event.tool_call_id, event.delta))
        elif type(event) is _StateDelta:
            state = self.state
            operations: list[Operation] = []
            for index, op in enumerate(event.delta):
                try:
                    state, ops = _apply_patch(state, op)
                except _PatchError as exc:
                    raise _PatchError(f"operation {index} ({op.op} {op.path!r}): {exc}") from None
                operations.extend(ops)
            self.state = state
            if operations:
                out.append(UpdateStateChunk(operations))
        elif type(event) is _StateSnapshot:
            self.state = event.snapshot
            out.append(UpdateStateChunk([SetOperation(path=(), value=event.snapshot)]))
        elif type(event) is _TextStart:
            assistant = event.role in (None, "assistant")
            self._text.start(event.message_id, (_ext(event.metadata).parent_id, assistant))
        elif type(event) is _TextEnd:
            self._text.end(event.message_id)
        elif type(event) is _ReasoningMessageStart:
            ext = _ext(event.metadata)
            self._reasoning.start(event.message_id, ext.parent_id)
            if not ext.implicit:
                out.append(ReasoningPartStartChunk(ext.summary, ext.parent_id))
        elif type(event) is _ReasoningMessageEnd:
            self._reasoning.end(event.message_id)
        elif type(event) is _ReasoningStart:
            self._spans.start(event.message_id)
        elif type(event) is _ReasoningEnd:
            self._spans.end(event.message_id)
        elif type(event) is _ToolStart:
            parent = _ext(event.metadata).parent_id
            self._begin_call(event.tool_call_id, event.tool_call_name, parent, out)
        elif type(event) is _ToolEnd:
            self._calls.end(event.tool_call_id)
            out.append(ToolCallArgsTextFinishChunk(event.tool_call_id))
        elif type(event) is _ToolResult:
            if event.tool_call_id not in self._call_ids:
                # The answer to a call of an earlier run (an approval's outcome).
                self._call_ids.add(event.tool_call_id)
                out.append(ToolCallResumeChunk(event.tool_call_id))
            if _ext(event.metadata).denied:
                out.append(ToolOutputDeniedChunk(event.tool_call_id))
            else:
                out.append(_result(event))
        elif type(event) is _StepStarted:
            self._steps.start(event.step_name)
            ext = _ext(event.metadata)
            if not ext.implicit:
                out.append(StepStartChunk(ext.message_id or event.step_name))
        elif type(event) is _StepFinished:
            self._steps.end(event.step_name)
            ext = _ext(event.metadata)
            if not ext.implicit:
                out.append(
                    StepFinishChunk(
                        ext.finish_reason or "unknown",
                        ext.input_tokens,
                        ext.output_tokens,
                        ext.is_continued,
                    )
                )
        elif type(event) is _Custom:
            chunk = _custom(event)
            if chunk is not None:
                self._aborted = self._aborted or type(chunk) is AbortChunk
                out.append(chunk)
        elif type(event) is _RunStarted:
            if self._started:
                raise _SequenceError("a run is already active")
            self._started = True
            self.thread_id = event.thread_id
            self.run_id = event.run_id
        elif type(event) is _RunFinished:
            opened = (self._text, self._reasoning, self._spans, self._calls, self._steps)
            still_open = [f"{kind.what} {key!r}" for kind in opened for key in kind]
            if still_open:
                raise _SequenceError(f"still open: {', '.join(still_open)}")
            self._done = True
            if event.outcome == _CANCELLED and not self._aborted:
                out.append(AbortChunk())  # another producer's cancelled run
            if event.outcome is not None and event.outcome.type == "interrupt":
                out.extend(
                    ToolApprovalRequestChunk(i.tool_call_id, i.id, i.message)
                    for i in event.outcome.interrupts or ()
                    if i.tool_call_id is not None
                )
            self._finish_chunk(event.metadata, event.usage, out)
        elif type(event) is _RunError:
            self._done = True
            out.append(ErrorChunk(event.message))
            self._finish_chunk(event.metadata, event.usage, out)
        # else: an AG-UI event no chunk can hold (docs/protocols/ag-ui.rst).

    def _begin_call(self, call_id: str, name: str, parent: str | None, out: list[Chunk]) -> None:
        if call_id in self._call_ids:
            raise _SequenceError(f"tool call id {call_id!r} was already used in this run")
        self._call_ids.add(call_id)
        self._calls.start(call_id)
        out.append(ToolCallBeginChunk(call_id, name, parent))

    def _close_lane(self, out: list[Chunk]) -> None:
        # A *_CHUNK stream ends at the next event of any other type (as the client's
        # transformChunks does); only a tool call has an end chunk.
        if self._lane is not None:
            kind, key, _ = self._lane
            self._lane = None
            if kind == "tool":
                self._calls.end(key)
                out.append(ToolCallArgsTextFinishChunk(key))

    def _chunk_event(self, event: Any, out: list[Chunk]) -> None:
        kind = _CHUNK_KINDS[type(event)]
        key = event.tool_call_id if kind == "tool" else event.message_id
        lane = self._lane
        if lane is None or lane[0] != kind or (key is not None and key != lane[1]):
            self._close_lane(out)
            if key is None:
                field = "toolCallId" if kind == "tool" else "messageId"
                raise _SequenceError(f"the first chunk of a stream must have a {field}")
            assistant = True
            if kind == "tool":
                if event.tool_call_name is None:
                    raise _SequenceError("the first chunk of a tool call must have a toolCallName")
                self._begin_call(key, event.tool_call_name, None, out)
            elif kind == "reasoning":
                out.append(ReasoningPartStartChunk())
            else:
                assistant = event.role in (None, "assistant")
            lane = self._lane = (kind, key, assistant)
        if event.delta:
            if kind == "tool":
                out.append(ToolCallDeltaChunk(lane[1], event.delta))
            elif kind == "reasoning":
                out.append(ReasoningDeltaChunk(event.delta))
            elif lane[2]:
                out.append(TextDeltaChunk(event.delta))

    @staticmethod
    def _finish_chunk(meta: _Meta | None, usage: list[_Usage] | None, out: list[Chunk]) -> None:
        ext = _ext(meta)
        if ext.finish_reason is not None or usage:
            # One usage entry per provider and model: the run's totals are their sums.
            input_tokens = sum(entry.input_tokens or 0 for entry in usage or ())
            output_tokens = sum(entry.output_tokens or 0 for entry in usage or ())
            out.append(
                MessageFinishChunk(ext.finish_reason or "unknown", input_tokens, output_tokens)
            )


class _SequenceError(Exception):
    pass


class _Open(dict[str, Any]):
    """What of one kind is open (messages, calls, spans or steps): id -> what its content needs."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def start(self, key: str, value: Any = None) -> None:
        if key in self:
            raise _SequenceError(f"{self.what} {key!r} is already open")
        self[key] = value

    def need(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise _SequenceError(f"no open {self.what} {key!r}") from None

    def end(self, key: str) -> None:
        self.need(key)
        del self[key]


def _result(event: Any) -> ToolResultChunk:
    ext = _ext(event.metadata)
    result: Any = event.content
    if ext.json and isinstance(result, str):
        if json_depth(result, MAX_JSON_DEPTH):
            raise _SequenceError(f"content is marked as JSON: {TOO_DEEP}")
        try:
            result = msgspec.json.decode(result)
        except msgspec.DecodeError:
            raise _SequenceError("content is marked as JSON but is not valid JSON") from None
    return ToolResultChunk(event.tool_call_id, result, ext.artifact, ext.is_error)


def _custom(event: Any) -> Chunk | None:
    kind = _CUSTOM_KIND.get(event.name)
    if kind is None:
        return None  # another producer's CUSTOM event: skipped
    value_type = _CUSTOM_VALUES[kind]
    try:
        if value_type is None:
            return msgspec.convert({kind.__struct_fields__[0]: event.value}, kind)
        value = msgspec.convert(event.value, value_type)
        return msgspec.convert(value, kind, from_attributes=True)
    except msgspec.ValidationError as exc:
        raise _SequenceError(f"invalid {event.name} value: {exc}") from None

"""Assemble a stream of chunks into the assistant message a client would show.

:class:`MessageAccumulator` is the Python twin of the npm client's
``AssistantMessageAccumulator``: feed it the chunks of a run (or the chunks a
decoder returns) and :attr:`MessageAccumulator.message` is the message built so
far; :meth:`MessageAccumulator.finish` ends it. :func:`accumulate` does both at
once::

    message = accumulate(chunks)
    message.parts[0].text
    message.to_client_json()   # the dict the TS accumulator produces

The message carries the same content as the TS one for the same stream, so a
test can compare ``to_client_json()`` with what Node prints. Part boundaries
follow the Python chunk to TS chunk mapping that our encoders use
(assistant-transport rules):

* text and reasoning deltas extend the open text/reasoning part while the kind
  and ``parent_id`` stay the same (an empty ``parent_id`` means no parent);
  otherwise the open part is completed and a new one starts;
* ``tool-call-begin``, ``source``, ``file`` and a ``reasoning-part-start`` with
  a summary complete the open part; data, annotations, steps, errors, state
  updates and tool results do not; a ``reasoning-part-start`` without a
  summary does nothing (no encoder sends anything for it);
* a tool call's args are *settled* by its ``tool-call-args-text-finish``
  (or by :meth:`~MessageAccumulator.finish`): the trailing args text is
  appended (``"{}"`` when the call never had args text), a ``partial-call``
  becomes a ``call`` and the part completes. A result sets
  ``state="result"`` and the result fields whenever it comes, before or after
  settling (two-phase human-in-the-loop tools). As in the TS client, args
  text after a result is still appended; our encoders settle a call at its
  result and send no args text after it, so a run that does this reads
  differently on the wire;
* :meth:`~MessageAccumulator.finish` completes the open part, settles every
  unsettled tool call (as the encoders' closing frames do) and derives the
  status when no ``message-finish``/``error`` set one: ``requires-action`` if a
  tool call lacks a result, else ``complete`` / ``unknown``.

Inconsistent input — a delta, args finish or result for a tool call id never
begun, args text for a settled tool call, a second begin for an id, a state
operation the client cannot apply — is what the strict TS client rejects and
what our encoders refuse (:class:`~assistant_stream_core.errors.ChunkEncodeError`)
or drop (args text after settling). By default the accumulator does the same: the chunk (or
the single state operation) is ignored and a :class:`Problem` naming the
reason is recorded in :attr:`MessageAccumulator.problems`. With
``strict=True`` it raises :class:`MessageAccumulatorError` (or
:class:`~assistant_stream_core.errors.StateError` for state operations)
instead, and the message is left as it was before that chunk.

Where the wire itself decides differently: the Data Stream client closes a
tool part at its ``a:`` line, so a result that comes after the args finished
leaves the part ``complete``/``unknown`` there (``complete``/``stop`` here and
on the Assistant Transport). Args are parsed incrementally (linear in the
args length, as the partial JSON grows).

Message metadata, aborts, document sources and preliminary tool results have
no place in assistant-ui's message: our encoders send each as an annotation
holding the AI SDK chunk, and the accumulator does what the TS one then does,
appending it to ``metadata.unstable_annotations`` (a preliminary result for an
unknown tool call is a problem, as a result is). Message metadata is also
deep-merged into ``metadata.message_metadata``, which only this message has.

Things the TS message holds that this one leaves out: wall-clock ``timing``
(message and tool calls), and ``custom`` (always ``{}`` here). A step that
finishes without a start gets a random ``messageId`` in TS and ``None`` here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from .chunks import (
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
from .errors import AssistantStreamError, StateError
from .partial_json import PartialJson, parse_partial_json
from .protocols._annotated import AnnotatedChunk, to_annotation
from .state import UNSAFE_SEGMENTS, apply_operation, coerce_operation
from .tool_calls import ToolCall, ToolCallLedger

__all__ = [
    "AssistantMessage",
    "ErrorInfo",
    "FilePart",
    "MessageAccumulator",
    "MessageAccumulatorError",
    "MessageMetadata",
    "MessageStatus",
    "Part",
    "PartStatus",
    "Problem",
    "ReasoningPart",
    "SourcePart",
    "Step",
    "StepUsage",
    "TextPart",
    "ToolCallPart",
    "accumulate",
    "merge_metadata",
    "parse_partial_json",
]


class MessageAccumulatorError(AssistantStreamError, ValueError):
    """A strict :class:`MessageAccumulator` got a chunk that does not fit the run.

    ``reason`` is the same short code a lenient accumulator records in
    :class:`Problem` (``"unknown-tool-call-id"``, ``"settled-tool-call-id"``,
    ``"duplicate-tool-call-id"``, ``"finished"``).
    """

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


_JSON = msgspec.json.Decoder()
_JSON_ENCODER = msgspec.json.Encoder()


# Every Struct below maps to the TS shape with ``msgspec.to_builtins``:
# camelCase names, ``type`` tags, and optional fields left out when unset.
class _Base(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    pass


class PartStatus(_Base, frozen=True):
    """A part's status: ``running``, or ``complete`` with a ``reason``.

    Tool-call parts that are running say whether their args are complete
    (``is_args_complete``); a result makes a tool part ``complete``/``stop``,
    closing a part makes it ``complete``/``unknown``.
    """

    type: Literal["running", "complete", "incomplete", "requires-action"]
    reason: str | None = None
    is_args_complete: bool | None = None


_RUNNING = PartStatus(type="running")
_COMPLETE = PartStatus(type="complete", reason="unknown")
_ARGS_RUNNING = PartStatus(type="running", is_args_complete=False)
_ARGS_COMPLETE = PartStatus(type="running", is_args_complete=True)
_RESULT = PartStatus(type="complete", reason="stop")


class TextPart(_Base, frozen=True, tag="text", tag_field="type"):
    """Visible text."""

    text: str
    status: PartStatus
    parent_id: str | None = None


class ReasoningPart(_Base, frozen=True, tag="reasoning", tag_field="type"):
    """Reasoning ("thinking") text, with an optional summary."""

    text: str
    status: PartStatus
    # The wire and the TS message keep this one name in snake_case.
    unstable_summary: str | None = msgspec.field(default=None, name="unstable_summary")
    parent_id: str | None = None


class ToolCallPart(_Base, frozen=True, tag="tool-call", tag_field="type"):
    """A tool call: its streamed arguments and, once known, its result.

    ``args`` is ``args_text`` parsed as JSON, completed when it is still
    partial (see :func:`parse_partial_json`); while the text cannot be parsed
    it keeps the last value that could, starting from ``{}`` — as the TS
    client does. ``result``, ``artifact`` and ``is_error`` are
    :data:`msgspec.UNSET` until a result arrives (a ``None`` result is a real
    JSON ``null``). ``state`` is ``partial-call`` while args stream, ``call``
    once settled, ``result`` once a result arrived.
    """

    tool_call_id: str
    tool_name: str
    args_text: str
    args: Any
    state: Literal["partial-call", "call", "result"]
    status: PartStatus
    result: Any | msgspec.UnsetType = msgspec.UNSET
    artifact: Any | msgspec.UnsetType = msgspec.UNSET
    is_error: bool | msgspec.UnsetType = msgspec.UNSET
    parent_id: str | None = None

    @property
    def has_result(self) -> bool:
        """Whether a result arrived (``result`` may still be ``None``)."""
        return self.state == "result"


class SourcePart(_Base, frozen=True, tag="source", tag_field="type"):
    """A cited source. Its ``status`` is always ``complete``: it opens and closes at once."""

    source_type: str
    id: str
    url: str
    status: PartStatus
    title: str | None = None
    parent_id: str | None = None


class FilePart(_Base, frozen=True, tag="file", tag_field="type"):
    """A file: base64 ``data`` and its ``mime_type``; always ``complete``."""

    data: str
    mime_type: str
    status: PartStatus
    parent_id: str | None = None


Part = TextPart | ReasoningPart | ToolCallPart | SourcePart | FilePart
"""Any message part."""


class StepUsage(_Base, frozen=True):
    """Token usage of one step."""

    input_tokens: int
    output_tokens: int


class Step(_Base, frozen=True):
    """One model step: ``started``, then ``finished`` with reason and usage.

    ``message_id`` is ``None`` for a step that finished without a start.
    """

    state: Literal["started", "finished"]
    message_id: str | None = None
    finish_reason: str | None = None
    usage: StepUsage | None = None
    is_continued: bool | None = None


class ErrorInfo(_Base, frozen=True):
    """The error that ended a message (``code`` is always ``"unknown"`` here)."""

    message: str
    code: str


class MessageStatus(_Base, frozen=True):
    """The message's status.

    ``running``; ``complete`` (reason ``stop`` or ``unknown``);
    ``requires-action`` (reason ``tool-calls``); ``incomplete`` (reason
    ``error`` with ``error`` set, or a finish reason such as ``length``).
    """

    type: Literal["running", "complete", "incomplete", "requires-action"]
    reason: str | None = None
    error: ErrorInfo | None = None


class MessageMetadata(_Base, frozen=True):
    """Message-level data: state, data values, annotations, steps.

    ``message_metadata`` is every ``message-metadata`` chunk deep-merged in
    order, as the AI SDK merges them (``None`` until the first). It has no
    place in assistant-ui's message, which shows each such chunk as an
    annotation instead; :meth:`AssistantMessage.to_client_json` leaves it out.
    """

    unstable_state: Any = None
    unstable_data: tuple[Any, ...] = ()
    unstable_annotations: tuple[Any, ...] = ()
    steps: tuple[Step, ...] = ()
    message_metadata: dict[str, Any] | None = None


class AssistantMessage(_Base, frozen=True):
    """An immutable snapshot of an assistant message.

    ``errors`` lists every error message in order; the status carries the last
    one, as in the TS client.
    """

    parts: tuple[Part, ...]
    status: MessageStatus
    metadata: MessageMetadata
    errors: tuple[str, ...] = ()

    def to_client_json(self) -> dict[str, Any]:
        """The message as the TS ``AssistantMessageAccumulator`` builds it.

        camelCase keys, ``role``, ``parts`` and its deprecated alias
        ``content``, ``metadata.custom``. Not included: ``timing`` (wall clock),
        and ``messageId`` of a step that finished without a start (random in
        TS). Source titles and parent ids that are empty are left out, as TS
        does.
        """
        # A JSON round trip yields plain lists and dicts all the way down.
        parts: list[dict[str, Any]] = _JSON.decode(_JSON_ENCODER.encode(self.parts))
        for part in parts:
            if part["type"] == "source" and not part.get("title", True):
                del part["title"]
        metadata = self.metadata
        return {
            "role": "assistant",
            "status": _JSON.decode(_JSON_ENCODER.encode(self.status)),
            "parts": parts,
            "content": [dict(part) for part in parts],
            "metadata": {
                "unstable_state": _JSON.decode(_JSON_ENCODER.encode(metadata.unstable_state)),
                "unstable_data": _JSON.decode(_JSON_ENCODER.encode(metadata.unstable_data)),
                "unstable_annotations": _JSON.decode(
                    _JSON_ENCODER.encode(metadata.unstable_annotations)
                ),
                "steps": _JSON.decode(_JSON_ENCODER.encode(metadata.steps)),
                "custom": {},
            },
        }


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """A chunk (or one state operation) a lenient accumulator ignored.

    ``index`` counts chunks added so far (from 0); ``reason`` is a short code:
    ``unknown-tool-call-id``, ``settled-tool-call-id``,
    ``duplicate-tool-call-id`` or ``state``; ``detail`` says more.
    """

    index: int
    reason: str
    detail: str


# --- the accumulator ----------------------------------------------------------


def merge_metadata(base: dict[str, Any] | None, update: dict[str, Any]) -> dict[str, Any]:
    """``update`` deep-merged into a copy of ``base``, as the AI SDK merges message metadata.

    Objects merge key by key; any other value (lists included) replaces; the
    keys ``__proto__``, ``constructor`` and ``prototype`` are skipped.
    """
    merged = dict(base) if base is not None else {}
    for key, value in update.items():
        if key in UNSAFE_SEGMENTS:
            continue
        old = merged.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            merged[key] = merge_metadata(old, value)
        else:
            merged[key] = value
    return merged


def _annotation(chunk: AnnotatedChunk) -> Any:
    # What assistant-ui shows for a chunk it has no field for (see protocols._annotated).
    return msgspec.to_builtins(to_annotation(chunk))


def _parent(parent_id: str | None) -> str | None:
    # An empty parent id means no parent, in every protocol.
    return parent_id or None


class MessageAccumulator:
    """Builds an :class:`AssistantMessage` from chunks, one at a time.

    :param state: the state the client already holds (``unstable_state`` at
        the start); ``update-state`` operations apply to it.
    :param strict: raise on inconsistent input instead of recording a
        :class:`Problem` (see the module documentation).

    Pure and synchronous; not thread-safe. Each :attr:`message` is an
    immutable snapshot that later chunks do not change.
    """

    def __init__(self, *, state: Any = None, strict: bool = False) -> None:
        self._strict = strict
        self._parts: list[Part] = []
        self._tools = ToolCallLedger()  # a call's data: its args parser
        # The text/reasoning part deltas extend: (index, kind, parent_id).
        self._open: tuple[int, type[TextPart] | type[ReasoningPart], str | None] | None = None
        self._status = MessageStatus(type="running")
        self._state = state
        self._data: list[Any] = []
        self._annotations: list[Any] = []
        self._metadata: dict[str, Any] | None = None
        self._steps: list[Step] = []
        self._errors: list[str] = []
        self._problems: list[Problem] = []
        self._count = 0
        self._finished: AssistantMessage | None = None

    # -- public API ------------------------------------------------------------

    @property
    def message(self) -> AssistantMessage:
        """The message so far (after :meth:`finish`, the final message)."""
        if self._finished is not None:
            return self._finished
        return self._snapshot()

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The inputs ignored so far (always empty when ``strict``)."""
        return tuple(self._problems)

    @property
    def finished(self) -> bool:
        """Whether :meth:`finish` was called."""
        return self._finished is not None

    def add(self, chunk: Chunk) -> None:
        """Apply one chunk.

        Raises :class:`MessageAccumulatorError` after :meth:`finish`, and in
        strict mode for inconsistent input (then the chunk has no effect).
        """
        if self._finished is not None:
            raise MessageAccumulatorError("the message is finished", reason="finished")
        index = self._count
        self._count += 1
        match chunk:
            case TextDeltaChunk(text_delta=text, parent_id=parent):
                self._append_text(TextPart, text, _parent(parent))
            case ReasoningDeltaChunk(reasoning_delta=text, parent_id=parent):
                self._append_text(ReasoningPart, text, _parent(parent))
            case ReasoningPartStartChunk(unstable_summary=summary, parent_id=parent):
                if summary is not None:
                    self._close_open()
                    part = ReasoningPart(
                        text="",
                        status=_RUNNING,
                        unstable_summary=summary,
                        parent_id=_parent(parent),
                    )
                    self._parts.append(part)
                    self._open = (len(self._parts) - 1, ReasoningPart, _parent(parent))
            case ToolCallBeginChunk(tool_call_id=tool_id, tool_name=name, parent_id=parent):
                if tool_id in self._tools:
                    self._problem(
                        index, "duplicate-tool-call-id", f"tool call {tool_id!r} began twice"
                    )
                    return
                self._close_open()
                self._tools.add(tool_id, name, len(self._parts)).data = PartialJson()
                self._parts.append(
                    ToolCallPart(
                        tool_call_id=tool_id,
                        tool_name=name,
                        args_text="",
                        args={},
                        state="partial-call",
                        status=_ARGS_RUNNING,
                        parent_id=_parent(parent),
                    )
                )
            case ToolCallDeltaChunk(tool_call_id=tool_id, args_text_delta=text):
                tool = self._tool(index, tool_id)
                if tool is None:
                    return
                if tool.settled:
                    self._problem(
                        index,
                        "settled-tool-call-id",
                        f"args text for settled tool call {tool_id!r}",
                    )
                    return
                self._append_args(tool, text)
            case ToolCallArgsTextFinishChunk(tool_call_id=tool_id, args_text_delta=text):
                tool = self._tool(index, tool_id)
                if tool is None:
                    return
                if tool.settled:
                    if text:  # only trailing text would be lost
                        self._problem(
                            index,
                            "settled-tool-call-id",
                            f"trailing args text for settled tool call {tool_id!r}",
                        )
                    return
                self._settle(tool, text)
            case ToolResultChunk(
                tool_call_id=tool_id, result=result, artifact=artifact, is_error=is_error
            ):
                tool = self._tool(index, tool_id)
                if tool is None or tool.resumed:
                    return  # a resumed call's part is in an earlier message
                tool_part = self._tool_part(tool)
                self._parts[tool.index] = msgspec.structs.replace(
                    tool_part,
                    state="result",
                    result=result,
                    # A second result without an artifact keeps the first's (TS).
                    artifact=tool_part.artifact if artifact is None else artifact,
                    is_error=is_error,
                    status=_RESULT,
                )
            case DataChunk(data=data):
                self._data.append(data)
            case AnnotationsChunk(annotations=annotations):
                self._annotations.extend(annotations)
            case ErrorChunk(error=error):
                self._errors.append(error)
                # As in TS, every error sets the status; the last one wins.
                self._status = MessageStatus(
                    type="incomplete",
                    reason="error",
                    error=ErrorInfo(message=error, code="unknown"),
                )
            case UpdateStateChunk(operations=operations):
                self._update_state(index, operations)
            case SourceChunk(
                id=source_id, url=url, source_type=source_type, title=title, parent_id=parent
            ):
                self._close_open()
                self._parts.append(
                    SourcePart(
                        source_type=source_type,
                        id=source_id,
                        url=url,
                        status=_COMPLETE,
                        title=title,
                        parent_id=_parent(parent),
                    )
                )
            case FileChunk(data=data, mime_type=mime_type, parent_id=parent):
                self._close_open()
                self._parts.append(
                    FilePart(
                        data=data, mime_type=mime_type, status=_COMPLETE, parent_id=_parent(parent)
                    )
                )
            case StepStartChunk(message_id=message_id):
                self._steps.append(Step(state="started", message_id=message_id))
            case StepFinishChunk():
                self._finish_step(chunk)
            case MessageFinishChunk(finish_reason=reason):
                self._set_final_status(reason)
            case MessageMetadataChunk(metadata=metadata):
                self._metadata = merge_metadata(self._metadata, metadata)
                self._annotations.append(_annotation(chunk))
            case AbortChunk() | SourceDocumentChunk():
                self._annotations.append(_annotation(chunk))
            case PreliminaryToolResultChunk(tool_call_id=tool_id):
                if self._tool(index, tool_id) is not None:
                    self._annotations.append(_annotation(chunk))
            case ToolCallResumeChunk(tool_call_id=tool_id):
                if tool_id in self._tools:
                    self._problem(index, "duplicate-tool-call-id", f"tool call {tool_id!r} again")
                    return
                self._tools.resume(tool_id)
            case (
                ToolApprovalRequestChunk(tool_call_id=tool_id)
                | ToolOutputDeniedChunk(tool_call_id=tool_id)
            ):
                # As in the TS accumulator, which has no such chunks: the call
                # stays without a result, so the message requires action.
                self._tool(index, tool_id)
            case _:  # pragma: no cover - the union is exhaustive
                raise TypeError(f"not a chunk: {chunk!r}")

    def add_many(self, chunks: Iterable[Chunk]) -> None:
        """Apply chunks in order (see :meth:`add`)."""
        for chunk in chunks:
            self.add(chunk)

    def finish(self) -> AssistantMessage:
        """End the message and return it; calling it again returns the same.

        Completes the open text/reasoning part, settles every tool call whose
        args never finished, and, if no ``message-finish`` or ``error`` set the
        status, derives it: ``requires-action`` (reason ``tool-calls``) when a
        tool call has no result, else ``complete`` (reason ``unknown``).
        """
        if self._finished is not None:
            return self._finished
        self._close_open()
        for tool in self._tools.unsettled():
            self._settle(tool, "")
        if self._status.type == "running":
            waiting = any(
                isinstance(part, ToolCallPart) and part.state != "result" for part in self._parts
            )
            self._set_final_status("tool-calls" if waiting else "unknown")
        self._finished = self._snapshot()
        return self._finished

    # -- helpers ---------------------------------------------------------------

    def _snapshot(self) -> AssistantMessage:
        return AssistantMessage(
            parts=tuple(self._parts),
            status=self._status,
            metadata=MessageMetadata(
                unstable_state=self._state,
                unstable_data=tuple(self._data),
                unstable_annotations=tuple(self._annotations),
                steps=tuple(self._steps),
                message_metadata=self._metadata,
            ),
            errors=tuple(self._errors),
        )

    def _problem(self, index: int, reason: str, detail: str) -> None:
        if self._strict:
            raise MessageAccumulatorError(f"chunk {index}: {detail}", reason=reason)
        self._problems.append(Problem(index=index, reason=reason, detail=detail))

    def _close_open(self) -> None:
        if self._open is not None:
            index = self._open[0]
            self._parts[index] = msgspec.structs.replace(self._parts[index], status=_COMPLETE)
            self._open = None

    def _append_text(
        self, kind: type[TextPart] | type[ReasoningPart], text: str, parent: str | None
    ) -> None:
        if self._open is not None and self._open[1] is kind and self._open[2] == parent:
            index = self._open[0]
            part = self._parts[index]
            assert isinstance(part, (TextPart, ReasoningPart))
            self._parts[index] = msgspec.structs.replace(part, text=part.text + text)
            return
        self._close_open()
        self._parts.append(kind(text=text, status=_RUNNING, parent_id=parent))
        self._open = (len(self._parts) - 1, kind, parent)

    def _tool(self, index: int, tool_id: str) -> ToolCall | None:
        tool = self._tools.find(tool_id)
        if tool is None:
            self._problem(index, "unknown-tool-call-id", f"no tool call {tool_id!r} began")
        return tool

    def _tool_part(self, tool: ToolCall) -> ToolCallPart:
        part = self._parts[tool.index]
        assert isinstance(part, ToolCallPart)
        return part

    def _append_args(self, tool: ToolCall, text: str) -> None:
        part = self._tool_part(tool)
        args_text = part.args_text + text
        self._tools.record_args(tool, text)
        parsed = tool.data.parse(args_text)
        self._parts[tool.index] = msgspec.structs.replace(
            part, args_text=args_text, args=part.args if parsed is None else parsed
        )

    def _settle(self, tool: ToolCall, trailing: str) -> None:
        # The settle frames: trailing text (or "{}" for a call that never had
        # args text), args finish (partial-call -> call), part finish.
        self._tools.settle(tool)
        rest = tool.final_args(trailing)
        if rest:
            self._append_args(tool, rest)
        part = self._tool_part(tool)
        self._parts[tool.index] = msgspec.structs.replace(
            part, state="call" if part.state == "partial-call" else part.state, status=_COMPLETE
        )

    def _update_state(self, index: int, operations: Iterable[Any]) -> None:
        # Operation by operation, as the TS client: in lenient mode one bad
        # operation is skipped and the rest still apply.
        state = self._state
        for raw in operations:
            try:
                state = apply_operation(state, coerce_operation(raw))
            except StateError as error:
                if self._strict:
                    raise
                self._problems.append(Problem(index=index, reason="state", detail=str(error)))
        self._state = state

    def _finish_step(self, chunk: StepFinishChunk) -> None:
        finished = Step(
            state="finished",
            finish_reason=chunk.finish_reason,
            usage=StepUsage(input_tokens=chunk.input_tokens, output_tokens=chunk.output_tokens),
            is_continued=chunk.is_continued,
        )
        if self._steps and self._steps[-1].state == "started":
            finished = msgspec.structs.replace(finished, message_id=self._steps[-1].message_id)
            self._steps[-1] = finished
        else:
            self._steps.append(finished)

    def _set_final_status(self, reason: str) -> None:
        # An error status is never overridden by a later finish (TS #2181).
        if self._status.type == "incomplete" and self._status.reason == "error":
            return
        if reason == "tool-calls":
            self._status = MessageStatus(type="requires-action", reason="tool-calls")
        elif reason in ("stop", "unknown"):
            self._status = MessageStatus(type="complete", reason=reason)
        else:
            self._status = MessageStatus(type="incomplete", reason=reason)


def accumulate(
    chunks: Iterable[Chunk], *, state: Any = None, strict: bool = False
) -> AssistantMessage:
    """Build the finished message of a whole stream of chunks.

    Same as ``acc = MessageAccumulator(state=state, strict=strict)``,
    ``acc.add_many(chunks)``, ``acc.finish()``.
    """
    accumulator = MessageAccumulator(state=state, strict=strict)
    accumulator.add_many(chunks)
    return accumulator.finish()

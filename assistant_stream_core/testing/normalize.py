"""What decoding the encoding of a run gives back, one function per protocol.

Each function takes chunks that encode without error and returns the chunks
the protocol's decoder gives back for them: the round-trip property tests
compare ``decode(encode(chunks))`` with it, and so can tests of your own
adapters. They share the encoders' tool-call rules
(:class:`~assistant_stream_core.tool_calls.ToolCallLedger`). The Data Stream,
Assistant Transport and OpenAI chat write nothing for approval requests,
resumes, denials and the results of resumed calls, so their functions drop
them.

>>> from assistant_stream_core.chunks import ToolCallBeginChunk
>>> from assistant_stream_core.testing import normalize
>>> normalize.data_stream([ToolCallBeginChunk("c1", "search", parent_id="")])[-1]
ToolCallArgsTextFinishChunk(tool_call_id='c1', args_text_delta='{}')
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal

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
from ..protocols._annotated import from_annotations
from ..protocols._frames import json_encoder, parent_or_none
from ..protocols.openai_chat import _FROM_OPENAI_FINISH, OpenAIChatEncoder
from ..protocols.ui_message_stream import _finish_reason
from ..state import coerce_operation
from ..tool_calls import ToolCall, ToolCallLedger

__all__ = ["ag_ui", "assistant_transport", "data_stream", "openai_chat", "ui_message_stream"]


def _json_round_trip(value: Any) -> Any:
    # What a JSON value becomes after the wire: tuples as lists, non-finite floats as null.
    return msgspec.json.decode(json_encoder().encode(value))


def _client_turn(chunk: Chunk, resumed: set[str], *, approvals: bool = False) -> bool:
    """Whether ``chunk`` is one the protocols without approval frames leave out.

    Approval requests (unless ``approvals``), denials, resumes, and anything
    for a resumed call (recorded in ``resumed``) write nothing outside the UI
    Message Stream.
    """
    if isinstance(chunk, ToolCallResumeChunk):
        resumed.add(chunk.tool_call_id)
        return True
    if isinstance(chunk, ToolApprovalRequestChunk):
        return not approvals
    if isinstance(chunk, ToolOutputDeniedChunk):
        return True
    if isinstance(chunk, ToolResultChunk | ToolCallDeltaChunk | ToolCallArgsTextFinishChunk):
        return chunk.tool_call_id in resumed
    return False


def _without_client_turn(chunks: Iterable[Chunk], *, approvals: bool = False) -> Iterator[Chunk]:
    resumed: set[str] = set()
    return (c for c in chunks if not _client_turn(c, resumed, approvals=approvals))


def data_stream(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Return what decoding the encoding of ``chunks`` gives back.

    The Data Stream keeps every chunk except where it says less:

    * an empty ``parent_id`` becomes ``None``;
    * a reasoning part start without a summary has no frame and disappears;
    * args text after a tool call settled is dropped;
    * a tool call's args finish appears once, as its final frame: carrying
      ``"{}"`` if the call had no args text; not at all if a result settled
      the call first; and it is added before a step finish, a message
      finish, an error and at the end for every call still open;
    * an annotations chunk that holds exactly one AI SDK chunk of the kinds
      the format carries as an annotation (message metadata, abort, document
      source, preliminary tool result) comes back as that chunk.

    Assumes ``chunks`` encode without error (valid tool call ids).
    """
    chunks = _without_client_turn(chunks)
    out: list[Chunk] = []
    tools = ToolCallLedger()

    def close_open() -> None:
        for tool in tools.unsettled():
            out.append(ToolCallArgsTextFinishChunk(tool.tool_call_id, tool.final_args("")))
            tools.settle(tool)

    for chunk in chunks:
        if isinstance(chunk, TextDeltaChunk | ReasoningDeltaChunk | ToolCallBeginChunk):
            if chunk.parent_id == "":
                chunk = msgspec.structs.replace(chunk, parent_id=None)
            if isinstance(chunk, ToolCallBeginChunk):
                tools.add(chunk.tool_call_id, chunk.tool_name)
        elif isinstance(chunk, SourceChunk | FileChunk | SourceDocumentChunk):
            if chunk.parent_id == "":
                chunk = msgspec.structs.replace(chunk, parent_id=None)
        elif isinstance(chunk, AnnotationsChunk):
            chunk = from_annotations(chunk.annotations) or chunk
        elif isinstance(chunk, ReasoningPartStartChunk):
            if chunk.unstable_summary is None:
                continue
            if chunk.parent_id == "":
                chunk = msgspec.structs.replace(chunk, parent_id=None)
        elif isinstance(chunk, ToolCallDeltaChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if tool.settled:
                continue
            tools.record_args(tool, chunk.args_text_delta)
        elif isinstance(chunk, ToolCallArgsTextFinishChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if tool.settled:
                continue
            chunk = ToolCallArgsTextFinishChunk(
                chunk.tool_call_id, tool.final_args(chunk.args_text_delta)
            )
            tools.settle(tool)
        elif isinstance(chunk, ToolResultChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if not tool.settled:
                tools.settle(tool)
        elif isinstance(chunk, StepFinishChunk | MessageFinishChunk | ErrorChunk):
            close_open()
        out.append(chunk)
    close_open()
    return out


def assistant_transport(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Return what decoding the encoding of ``chunks`` gives back.

    Assistant Transport keeps every chunk, with these exceptions:

    * an empty ``parent_id`` becomes ``None``;
    * a reasoning part start without a summary has no frame and disappears;
    * args text after a tool call settled is dropped;
    * a call settles once, at its args finish or its result (whichever is
      first): the finish's trailing text (or ``"{}"`` if the call had no args
      text) becomes an args delta, followed by an args finish with no text;
      unsettled calls settle at the end, in begin order;
    * a ``None`` artifact is absent, which decodes as ``None``;
    * an annotations chunk that holds exactly one AI SDK chunk of the kinds
      the format carries as an annotation comes back as that chunk (as in
      :func:`data_stream`).

    Assumes ``chunks`` encode without error (valid tool call ids).
    """
    chunks = _without_client_turn(chunks)
    out: list[Chunk] = []
    tools = ToolCallLedger()

    def settle(tool: ToolCall, rest: str) -> None:
        rest = tool.final_args(rest)
        if rest:
            out.append(ToolCallDeltaChunk(tool.tool_call_id, rest))
        out.append(ToolCallArgsTextFinishChunk(tool.tool_call_id))
        tools.settle(tool)

    for chunk in chunks:
        if isinstance(chunk, ToolCallArgsTextFinishChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if not tool.settled:
                settle(tool, chunk.args_text_delta)
            continue
        if isinstance(chunk, ToolCallDeltaChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if tool.settled:
                continue
            tools.record_args(tool, chunk.args_text_delta)
        elif isinstance(chunk, ReasoningPartStartChunk) and chunk.unstable_summary is None:
            continue
        elif isinstance(chunk, AnnotationsChunk):
            chunk = from_annotations(chunk.annotations) or chunk
        elif (
            isinstance(
                chunk,
                TextDeltaChunk
                | ReasoningDeltaChunk
                | ReasoningPartStartChunk
                | ToolCallBeginChunk
                | SourceChunk
                | FileChunk
                | SourceDocumentChunk,
            )
            and chunk.parent_id == ""
        ):
            chunk = msgspec.structs.replace(chunk, parent_id=None)
        out.append(chunk)
        if isinstance(chunk, ToolCallBeginChunk):
            tools.add(chunk.tool_call_id, chunk.tool_name)
        elif isinstance(chunk, ToolResultChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if not tool.settled:
                settle(tool, "")
    for tool in tools.unsettled():
        settle(tool, "")
    return out


def openai_chat(
    chunks: Iterable[Chunk],
    *,
    include_usage: bool = False,
    tool_results: Literal["drop", "delta"] = "drop",
) -> list[Chunk]:
    """Return what decoding the encoding of ``chunks`` gives back.

    Pass the encoder's ``include_usage`` and ``tool_results``. Assumes
    ``chunks`` encode without error (valid tool call ids). See the module
    documentation for the rules.
    """
    encoder = OpenAIChatEncoder(include_usage=include_usage, tool_results=tool_results)
    out: list[Chunk] = []
    calls: dict[str, list[bool]] = {}  # id -> [has_args, settled]

    def settle(call_id: str, trailing: str) -> None:
        state = calls[call_id]
        if state[1]:
            return
        text = trailing or ("" if state[0] else "{}")
        if text:
            out.append(ToolCallDeltaChunk(call_id, text))
        state[1] = True

    resumed: set[str] = set()
    for chunk in chunks:
        encoder.encode(chunk)  # tracks the finish reason and usage
        if _client_turn(chunk, resumed):
            continue
        match chunk:
            case TextDeltaChunk(text_delta=text) if text:
                out.append(TextDeltaChunk(text))
            case ReasoningDeltaChunk(reasoning_delta=text) if text:
                out.append(ReasoningDeltaChunk(text))
            case ToolCallBeginChunk():
                calls[chunk.tool_call_id] = [False, False]
                out.append(ToolCallBeginChunk(chunk.tool_call_id, chunk.tool_name))
            case ToolCallDeltaChunk(args_text_delta=text) if text:
                if not calls[chunk.tool_call_id][1]:
                    calls[chunk.tool_call_id][0] = True
                    out.append(ToolCallDeltaChunk(chunk.tool_call_id, text))
            case ToolCallArgsTextFinishChunk():
                settle(chunk.tool_call_id, chunk.args_text_delta)
            case ToolResultChunk():
                settle(chunk.tool_call_id, "")
                if tool_results == "delta":
                    out.append(chunk)
            case PreliminaryToolResultChunk() if tool_results == "delta":
                settle(chunk.tool_call_id, "")
                out.append(chunk)
            case ErrorChunk():
                out.append(chunk)
    for call_id in calls:
        settle(call_id, "")
    out.extend(ToolCallArgsTextFinishChunk(call_id) for call_id in calls)
    tokens = (0, 0)
    if include_usage:
        tokens = (
            encoder._message_tokens
            if encoder._message_tokens is not None
            else (encoder._step_tokens[0], encoder._step_tokens[1])
        )
    out.append(MessageFinishChunk(_FROM_OPENAI_FINISH[encoder.finish_reason], *tokens))
    return out


def ui_message_stream(
    chunks: Iterable[Chunk], *, message_id: str, state: Literal["transient", "drop"] = "transient"
) -> list[Chunk]:
    """Return what decoding the encoding of ``chunks`` gives back.

    ``message_id`` is the encoder's :attr:`~UIMessageStreamEncoder.message_id`.
    Rules: ``parent_id``, reasoning summaries, tool result artifacts, step
    message ids, step finish reasons and all token counts are lost; empty
    deltas vanish; every reasoning part starts with a ``reasoning-part-start``;
    a tool call's trailing args text becomes a delta (``"{}"`` when it had
    none), its args finish comes when it settles (args finish, result, step
    start or finish, message finish, error, a result or preliminary result, or
    the end); an error result's value becomes its text; a document source
    loses its ``parent_id``; the stream ends with one ``message-finish``.
    Assumes ``chunks`` encode without error.
    """
    out: list[Chunk] = []
    open_part: tuple[str, str | None] | None = None
    tools: dict[str, list[Any]] = {}  # id -> [has_args, settled, answered]
    resumed: set[str] = set()  # resumed calls the decoder has not met yet
    reason: str | None = None
    json = json_encoder()

    def settle(call_id: str, trailing: str) -> None:
        tool = tools[call_id]
        if tool[1]:
            return
        text = trailing or ("" if tool[0] else "{}")
        if text:
            out.append(ToolCallDeltaChunk(call_id, text))
        out.append(ToolCallArgsTextFinishChunk(call_id))
        tool[1] = True

    def settle_all() -> None:
        for call_id in tools:
            settle(call_id, "")

    for chunk in chunks:
        match chunk:
            case TextDeltaChunk(text_delta=text, parent_id=parent) if text:
                if open_part != ("text", parent or None):
                    open_part = ("text", parent or None)
                out.append(TextDeltaChunk(text))
            case ReasoningDeltaChunk(reasoning_delta=text, parent_id=parent) if text:
                if open_part != ("reasoning", parent or None):
                    open_part = ("reasoning", parent or None)
                    out.append(ReasoningPartStartChunk())
                out.append(ReasoningDeltaChunk(text))
            case ReasoningPartStartChunk(parent_id=parent):
                open_part = ("reasoning", parent or None)
                out.append(ReasoningPartStartChunk())
            case ToolCallBeginChunk(tool_call_id=call_id, tool_name=name):
                open_part = None
                tools[call_id] = [False, False, False]
                out.append(ToolCallBeginChunk(call_id, name))
            case ToolCallDeltaChunk(tool_call_id=call_id, args_text_delta=text) if text:
                if not tools[call_id][1]:
                    tools[call_id][0] = True
                    out.append(ToolCallDeltaChunk(call_id, text))
            case ToolCallArgsTextFinishChunk(tool_call_id=call_id, args_text_delta=text):
                settle(call_id, text)
            case ToolCallResumeChunk(tool_call_id=call_id):
                tools[call_id] = [True, True, False]
                resumed.add(call_id)
            case ToolApprovalRequestChunk(tool_call_id=call_id):
                settle(call_id, "")
                out.append(ToolApprovalRequestChunk(call_id, chunk.approval_id, chunk.reason))
            case ToolOutputDeniedChunk(tool_call_id=call_id):
                settle(call_id, "")
                tools[call_id][2] = True
                if call_id in resumed:  # the decoder meets the call at its answer
                    resumed.discard(call_id)
                    out.append(ToolCallResumeChunk(call_id))
                out.append(chunk)
            case ToolResultChunk(tool_call_id=call_id, result=result, is_error=is_error):
                settle(call_id, "")
                tools[call_id][2] = True
                if call_id in resumed:
                    resumed.discard(call_id)
                    out.append(ToolCallResumeChunk(call_id))
                if is_error and not isinstance(result, str):
                    result = json.encode(result).decode()
                out.append(ToolResultChunk(call_id, result, is_error=is_error))
            case SourceChunk():
                open_part = None
                out.append(SourceChunk(chunk.id, chunk.url, title=chunk.title))
            case FileChunk():
                open_part = None
                out.append(FileChunk(chunk.data, chunk.mime_type))
            case ErrorChunk():
                settle_all()
                out.append(chunk)
            case DataChunk() | AnnotationsChunk() | MessageMetadataChunk() | AbortChunk():
                out.append(chunk)
            case SourceDocumentChunk():
                open_part = None
                out.append(
                    SourceDocumentChunk(chunk.id, chunk.media_type, chunk.title, chunk.filename)
                )
            case PreliminaryToolResultChunk(tool_call_id=call_id):
                settle(call_id, "")
                if call_id in resumed:  # an output: the decoder meets the call here too
                    resumed.discard(call_id)
                    out.append(ToolCallResumeChunk(call_id))
                out.append(chunk)
            case UpdateStateChunk() if state == "transient":
                out.append(UpdateStateChunk([coerce_operation(op) for op in chunk.operations]))
            case StepStartChunk():
                open_part = None
                settle_all()
                out.append(StepStartChunk(message_id))
            case StepFinishChunk():
                open_part = None
                settle_all()
                reason = chunk.finish_reason
                out.append(StepFinishChunk("unknown"))
            case MessageFinishChunk():
                settle_all()
                reason = chunk.finish_reason
    settle_all()
    unanswered = any(not tool[2] for tool in tools.values())
    out.append(MessageFinishChunk(_finish_reason(reason, unanswered)))
    return out


def ag_ui(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Return what decoding the encoding of ``chunks`` gives back.

    AG-UI keeps every chunk's meaning; what changes is:

    * empty text, reasoning and args deltas disappear; an empty ``parent_id``
      becomes ``None``; values pass through JSON (tuples become lists,
      non-finite floats ``None``);
    * reasoning part starts come back, also without a summary (a delta that
      opens a reasoning message by itself adds no part start);
    * a tool call's end is a ``ToolCallArgsTextFinishChunk`` without text: its
      trailing text comes first as a delta, and a call that had no args text
      gets a ``"{}"`` delta; calls still open are ended before a tool result
      for them, a step finish, a message finish, an error and the end of the
      stream; args after a call ended are dropped;
    * the last message finish moves to the end (after the error, if any);
    * nothing follows the first error;
    * approval requests move to the end, before the message finish (the
      interrupts of ``RUN_FINISHED``), and vanish when the run ends in an
      error; a resumed call's resume comes back just before its first answer
      (a result or a denial), and not at all without one;
    * state chunks are kept as they are here, but the decoder gives back
      *equivalent* operations, not the same ones: applied in order they build
      the same states (``append-text`` comes back as ``append-text`` when it
      extends a non-empty string, a root ``set`` as a snapshot ``set`` of the
      whole state).

    Assumes ``chunks`` encode without error (valid tool call ids).
    """
    out: list[Chunk] = []
    tools = ToolCallLedger()
    finish: MessageFinishChunk | None = None
    interrupts: list[Chunk] = []
    waiting: set[str] = set()  # resumed calls the decoder has not met yet

    def meet(call_id: str) -> None:
        if call_id in waiting:
            waiting.discard(call_id)
            out.append(ToolCallResumeChunk(call_id))

    def end_tool(tool: ToolCall, rest: str) -> None:
        rest = tool.final_args(rest)
        if rest:
            out.append(ToolCallDeltaChunk(tool.tool_call_id, rest))
        out.append(ToolCallArgsTextFinishChunk(tool.tool_call_id))
        tools.settle(tool)

    def close_tools() -> None:
        for tool in tools.unsettled():
            end_tool(tool, "")

    for chunk in chunks:
        if isinstance(chunk, TextDeltaChunk):
            if not chunk.text_delta:
                continue
            out.append(TextDeltaChunk(chunk.text_delta, parent_or_none(chunk.parent_id)))
        elif isinstance(chunk, ReasoningDeltaChunk):
            if not chunk.reasoning_delta:
                continue
            out.append(ReasoningDeltaChunk(chunk.reasoning_delta, parent_or_none(chunk.parent_id)))
        elif isinstance(chunk, ReasoningPartStartChunk):
            out.append(
                ReasoningPartStartChunk(chunk.unstable_summary, parent_or_none(chunk.parent_id))
            )
        elif isinstance(chunk, ToolCallBeginChunk):
            tools.add(chunk.tool_call_id, chunk.tool_name)
            out.append(
                ToolCallBeginChunk(
                    chunk.tool_call_id, chunk.tool_name, parent_or_none(chunk.parent_id)
                )
            )
        elif isinstance(chunk, ToolCallDeltaChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if tool.settled or not chunk.args_text_delta:
                continue
            tools.record_args(tool, chunk.args_text_delta)
            out.append(chunk)
        elif isinstance(chunk, ToolCallArgsTextFinishChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if not tool.settled:
                end_tool(tool, chunk.args_text_delta)
        elif isinstance(chunk, ToolResultChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if not tool.settled:
                end_tool(tool, "")
            meet(chunk.tool_call_id)
            result = (
                chunk.result if isinstance(chunk.result, str) else _json_round_trip(chunk.result)
            )
            artifact = _json_round_trip(chunk.artifact)
            out.append(ToolResultChunk(chunk.tool_call_id, result, artifact, chunk.is_error))
        elif isinstance(chunk, StepFinishChunk):
            close_tools()
            out.append(chunk)
        elif isinstance(chunk, MessageFinishChunk):
            close_tools()
            finish = chunk
        elif isinstance(chunk, ErrorChunk):
            close_tools()
            out.append(chunk)
            break
        elif isinstance(chunk, DataChunk):
            out.append(DataChunk(_json_round_trip(chunk.data)))
        elif isinstance(chunk, AnnotationsChunk):
            out.append(AnnotationsChunk(_json_round_trip(chunk.annotations)))
        elif isinstance(chunk, SourceChunk):
            out.append(
                SourceChunk(
                    chunk.id,
                    chunk.url,
                    chunk.source_type,
                    chunk.title,
                    parent_or_none(chunk.parent_id),
                )
            )
        elif isinstance(chunk, FileChunk):
            out.append(FileChunk(chunk.data, chunk.mime_type, parent_or_none(chunk.parent_id)))
        elif isinstance(chunk, UpdateStateChunk):
            out.append(chunk)
        elif isinstance(chunk, MessageMetadataChunk):
            out.append(MessageMetadataChunk(_json_round_trip(chunk.metadata)))
        elif isinstance(chunk, SourceDocumentChunk):
            parent = parent_or_none(chunk.parent_id)
            out.append(msgspec.structs.replace(chunk, parent_id=parent))
        elif isinstance(chunk, PreliminaryToolResultChunk):
            out.append(
                PreliminaryToolResultChunk(chunk.tool_call_id, _json_round_trip(chunk.result))
            )
        elif isinstance(chunk, ToolApprovalRequestChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if not tool.settled:
                end_tool(tool, "")
            interrupts.append(chunk)
        elif isinstance(chunk, ToolCallResumeChunk):
            tools.resume(chunk.tool_call_id)
            waiting.add(chunk.tool_call_id)
        elif isinstance(chunk, ToolOutputDeniedChunk):
            tool = tools.get(chunk.type, chunk.tool_call_id)
            if not tool.settled:
                end_tool(tool, "")
            meet(chunk.tool_call_id)
            out.append(chunk)
        else:  # step start, abort
            out.append(chunk)
    else:
        close_tools()
        out.extend(interrupts)
    if finish is not None:
        out.append(finish)
    return out

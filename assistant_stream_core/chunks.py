"""The chunk types: what a run produces and what every protocol encodes.

Each chunk is a frozen :class:`msgspec.Struct`. :data:`Chunk` is their tagged
union (tag field ``type``, with upstream ``assistant-stream``'s type strings),
so ``msgspec.json.decode(data, type=list[Chunk])`` round-trips
``msgspec.json.encode(chunks)``.

Field names and order follow upstream's dataclasses, so upstream constructor
calls work unchanged, positional or keyword (``TextDeltaChunk("hi")``,
``ToolResultChunk(tool_call_id="t1", result=1)``). The ``type`` attribute is a
class constant (``TextDeltaChunk.type == "text-delta"``); it is not a
constructor argument. Code dispatches on the class with ``match``, never on the
``type`` string.

``parent_id`` groups parts under a parent (assistant-ui's ``parentId``); an
empty string means no parent, in every protocol.

:class:`MessageFinishChunk` has no upstream counterpart: it is the TS client's
``message-finish``, which ends a message with a finish reason and usage.
:class:`MessageMetadataChunk`, :class:`AbortChunk`,
:class:`SourceDocumentChunk` and :class:`PreliminaryToolResultChunk` have none
either: they are the Vercel AI SDK's ``message-metadata``, ``abort``,
``source-document`` and ``tool-output-available {preliminary: true}``; what
each protocol makes of them is in the protocol pages of the documentation.

:class:`ToolApprovalRequestChunk`, :class:`ToolCallResumeChunk` and
:class:`ToolOutputDeniedChunk` have none either: they carry a tool call that
waits for a person across two requests (see the human-in-the-loop guide).
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from .state import AppendTextOperation, Operation, SetOperation, check_path_depth

__all__ = [
    "AbortChunk",
    "AnnotationsChunk",
    "AppendTextOperation",
    "AssistantStreamChunk",
    "Chunk",
    "CHUNK_TYPES",
    "DataChunk",
    "ErrorChunk",
    "FileChunk",
    "MessageFinishChunk",
    "MessageMetadataChunk",
    "Operation",
    "PreliminaryToolResultChunk",
    "ReasoningDeltaChunk",
    "ReasoningPartStartChunk",
    "SetOperation",
    "SourceChunk",
    "SourceDocumentChunk",
    "StepFinishChunk",
    "StepStartChunk",
    "TextDeltaChunk",
    "ToolApprovalRequestChunk",
    "ToolCallArgsTextFinishChunk",
    "ToolCallBeginChunk",
    "ToolCallDeltaChunk",
    "ToolCallResumeChunk",
    "ToolOutputDeniedChunk",
    "ToolResultChunk",
    "UpdateStateChunk",
]


class _ChunkBase(msgspec.Struct, frozen=True, omit_defaults=True, tag_field="type"):
    type: ClassVar[str]


class TextDeltaChunk(_ChunkBase, frozen=True, tag="text-delta"):
    """A piece of the assistant's visible text."""

    type: ClassVar[str] = "text-delta"
    text_delta: str
    parent_id: str | None = None


class ReasoningPartStartChunk(_ChunkBase, frozen=True, tag="reasoning-part-start"):
    """Start a new reasoning part, optionally with a summary."""

    type: ClassVar[str] = "reasoning-part-start"
    unstable_summary: str | None = None
    parent_id: str | None = None


class ReasoningDeltaChunk(_ChunkBase, frozen=True, tag="reasoning-delta"):
    """A piece of reasoning ("thinking") text."""

    type: ClassVar[str] = "reasoning-delta"
    reasoning_delta: str
    parent_id: str | None = None


class ToolCallBeginChunk(_ChunkBase, frozen=True, tag="tool-call-begin"):
    """A tool call starts; its arguments follow as text deltas."""

    type: ClassVar[str] = "tool-call-begin"
    tool_call_id: str
    tool_name: str
    parent_id: str | None = None


class ToolCallDeltaChunk(_ChunkBase, frozen=True, tag="tool-call-delta"):
    """A piece of a tool call's JSON arguments text."""

    type: ClassVar[str] = "tool-call-delta"
    tool_call_id: str
    args_text_delta: str


class ToolCallArgsTextFinishChunk(_ChunkBase, frozen=True, tag="tool-call-args-text-finish"):
    """A tool call's arguments are complete (with optional trailing text)."""

    type: ClassVar[str] = "tool-call-args-text-finish"
    tool_call_id: str
    args_text_delta: str = ""


class ToolResultChunk(_ChunkBase, frozen=True, tag="tool-result"):
    """The result of a tool call (any JSON value), with an optional artifact."""

    type: ClassVar[str] = "tool-result"
    tool_call_id: str
    result: Any
    artifact: Any | None = None
    is_error: bool = False


class DataChunk(_ChunkBase, frozen=True, tag="data"):
    """Application data attached to the message (any JSON value)."""

    type: ClassVar[str] = "data"
    data: Any


class ErrorChunk(_ChunkBase, frozen=True, tag="error"):
    """An error message; the client marks the message as errored."""

    type: ClassVar[str] = "error"
    error: str


class UpdateStateChunk(_ChunkBase, frozen=True, tag="update-state"):
    """State operations, applied in order to the client's copy of the state.

    ``operations`` holds :class:`~assistant_stream_core.state.SetOperation` /
    :class:`~assistant_stream_core.state.AppendTextOperation` (read-only
    ``dict`` subclasses); upstream's plain dicts are accepted too (encoders
    write both the same way).
    """

    type: ClassVar[str] = "update-state"
    operations: list[Operation]

    def __post_init__(self) -> None:
        # Structs check their own path; upstream's dict form is checked here,
        # so no encoder meets a path deeper than the documented limit.
        for op in self.operations:
            if type(op) is dict:  # upstream's form (ours are dict subclasses)
                check_path_depth(op.get("path"))


class SourceChunk(_ChunkBase, frozen=True, tag="source"):
    """A cited source (a URL)."""

    type: ClassVar[str] = "source"
    id: str
    url: str
    source_type: str = "url"
    title: str | None = None
    parent_id: str | None = None


class FileChunk(_ChunkBase, frozen=True, tag="file"):
    """A file, as base64 ``data`` with its ``mime_type``."""

    type: ClassVar[str] = "file"
    data: str
    mime_type: str
    parent_id: str | None = None


class AnnotationsChunk(_ChunkBase, frozen=True, tag="annotations"):
    """Message annotations (a list of JSON values)."""

    type: ClassVar[str] = "annotations"
    annotations: list[Any]


class StepStartChunk(_ChunkBase, frozen=True, tag="step-start"):
    """A model step starts (for example, one LLM call in an agent loop)."""

    type: ClassVar[str] = "step-start"
    message_id: str


class StepFinishChunk(_ChunkBase, frozen=True, tag="step-finish"):
    """A model step ends, with its finish reason and token usage."""

    type: ClassVar[str] = "step-finish"
    finish_reason: str
    input_tokens: int = 0
    output_tokens: int = 0
    is_continued: bool = False


class MessageFinishChunk(_ChunkBase, frozen=True, tag="message-finish"):
    """The message ends, with its finish reason and total token usage.

    ``finish_reason`` is one of ``stop``, ``length``, ``content-filter``,
    ``tool-calls``, ``error``, ``other``, ``unknown``.
    """

    type: ClassVar[str] = "message-finish"
    finish_reason: str
    input_tokens: int = 0
    output_tokens: int = 0


class MessageMetadataChunk(_ChunkBase, frozen=True, tag="message-metadata"):
    """Metadata about the message (a JSON object), for the client to show or store.

    Later metadata is deep-merged into earlier metadata, as the AI SDK's
    ``useChat`` merges ``message-metadata`` chunks: objects merge key by key,
    anything else replaces.
    """

    type: ClassVar[str] = "message-metadata"
    metadata: dict[str, Any]


class AbortChunk(_ChunkBase, frozen=True, tag="abort"):
    """The run was aborted (for example, stopped by the user), with an optional reason."""

    type: ClassVar[str] = "abort"
    reason: str | None = None


class SourceDocumentChunk(_ChunkBase, frozen=True, tag="source-document"):
    """A cited source that is a document (no URL): its media type and title."""

    type: ClassVar[str] = "source-document"
    id: str
    media_type: str
    title: str
    filename: str | None = None
    parent_id: str | None = None


class PreliminaryToolResultChunk(_ChunkBase, frozen=True, tag="preliminary-tool-result"):
    """A tool's result so far (any JSON value); a later result replaces it.

    It does not settle the call: the final :class:`ToolResultChunk` still comes.
    """

    type: ClassVar[str] = "preliminary-tool-result"
    tool_call_id: str
    result: Any


class ToolApprovalRequestChunk(_ChunkBase, frozen=True, tag="tool-approval-request"):
    """A tool call of this stream waits for a person to approve or deny it.

    The call's arguments are complete; the run ends its turn without a
    result, and the answer arrives with the client's next request (the AI
    SDK's ``tool-approval-request``). ``reason`` says why approval is needed.
    """

    type: ClassVar[str] = "tool-approval-request"
    tool_call_id: str
    approval_id: str
    reason: str | None = None


class ToolCallResumeChunk(_ChunkBase, frozen=True, tag="tool-call-resume"):
    """This stream continues a tool call begun in an earlier response.

    The client answered the call (an approval, or a frontend tool's result)
    and sent the conversation back; a result or a denial for the call may
    follow in this stream. The call's arguments are not repeated.
    """

    type: ClassVar[str] = "tool-call-resume"
    tool_call_id: str


class ToolOutputDeniedChunk(_ChunkBase, frozen=True, tag="tool-output-denied"):
    """A tool call did not run: the person denied it (the AI SDK's ``tool-output-denied``)."""

    type: ClassVar[str] = "tool-output-denied"
    tool_call_id: str


Chunk = (
    TextDeltaChunk
    | ReasoningPartStartChunk
    | ReasoningDeltaChunk
    | ToolCallBeginChunk
    | ToolCallDeltaChunk
    | ToolCallArgsTextFinishChunk
    | ToolResultChunk
    | DataChunk
    | ErrorChunk
    | UpdateStateChunk
    | SourceChunk
    | FileChunk
    | AnnotationsChunk
    | StepStartChunk
    | StepFinishChunk
    | MessageFinishChunk
    | MessageMetadataChunk
    | AbortChunk
    | SourceDocumentChunk
    | PreliminaryToolResultChunk
    | ToolApprovalRequestChunk
    | ToolCallResumeChunk
    | ToolOutputDeniedChunk
)
"""Any chunk (a tagged union of the Structs above)."""

#: Upstream's name for :data:`Chunk`.
AssistantStreamChunk = Chunk

#: Every chunk class, keyed by its ``type`` string.
CHUNK_TYPES: dict[str, type[Chunk]] = {
    cls.type: cls
    for cls in (
        TextDeltaChunk,
        ReasoningPartStartChunk,
        ReasoningDeltaChunk,
        ToolCallBeginChunk,
        ToolCallDeltaChunk,
        ToolCallArgsTextFinishChunk,
        ToolResultChunk,
        DataChunk,
        ErrorChunk,
        UpdateStateChunk,
        SourceChunk,
        FileChunk,
        AnnotationsChunk,
        StepStartChunk,
        StepFinishChunk,
        MessageFinishChunk,
        MessageMetadataChunk,
        AbortChunk,
        SourceDocumentChunk,
        PreliminaryToolResultChunk,
        ToolApprovalRequestChunk,
        ToolCallResumeChunk,
        ToolOutputDeniedChunk,
    )
}

"""The chunk types under upstream's names (``assistant_stream.assistant_stream_chunk``).

They are the core's frozen msgspec Structs: upstream's constructor calls work,
positional or keyword, with the same attribute names and ``type`` strings, and
chunks compare equal by value. ``type`` is a class constant, not a constructor
argument.
"""

from __future__ import annotations

from assistant_stream_core.chunks import (
    AnnotationsChunk,
    AssistantStreamChunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    MessageFinishChunk,
    ReasoningDeltaChunk,
    ReasoningPartStartChunk,
    SourceChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.state import AppendTextOperation, Operation, SetOperation

#: Upstream's names for the state operations (TypedDicts there, Structs here;
#: they compare equal to upstream's dicts).
ObjectStreamSetOperation = SetOperation
ObjectStreamAppendTextOperation = AppendTextOperation
ObjectStreamOperation = Operation

__all__ = [
    "AnnotationsChunk",
    "AssistantStreamChunk",
    "DataChunk",
    "ErrorChunk",
    "FileChunk",
    "MessageFinishChunk",
    "ObjectStreamAppendTextOperation",
    "ObjectStreamOperation",
    "ObjectStreamSetOperation",
    "ReasoningDeltaChunk",
    "ReasoningPartStartChunk",
    "SourceChunk",
    "StepFinishChunk",
    "StepStartChunk",
    "TextDeltaChunk",
    "ToolCallArgsTextFinishChunk",
    "ToolCallBeginChunk",
    "ToolCallDeltaChunk",
    "ToolResultChunk",
    "UpdateStateChunk",
]

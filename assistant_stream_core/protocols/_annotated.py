"""Chunks assistant-ui has no frame for, carried as one tagged annotation.

What is written and what is read back: docs/protocols/index.rst (small-chunks).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ..chunks import (
    AbortChunk,
    Chunk,
    MessageMetadataChunk,
    PreliminaryToolResultChunk,
    SourceDocumentChunk,
)
from ..tool_calls import ToolCallLedger
from ._frames import parent_or_none, union, wire_types

__all__ = ["ANNOTATED", "checked_annotation", "from_annotations", "to_annotation"]


class _Wire(
    msgspec.Struct,
    omit_defaults=True,
    rename="camel",
    tag_field="type",
    forbid_unknown_fields=True,
):
    pass


class _MessageMetadata(_Wire, tag="message-metadata"):
    message_metadata: dict[str, Any]


class _Abort(_Wire, tag="abort"):
    reason: str | None = None


class _SourceDocument(_Wire, tag="source-document"):
    source_id: str
    media_type: str
    title: str
    filename: str | None = None
    parent_id: str | None = None


class _Preliminary(_Wire, tag="tool-output-available"):
    tool_call_id: str
    # UNSET, not None: a null output is still written.
    output: Any = msgspec.UNSET
    preliminary: bool = False


_WIRE: Final = wire_types(_Wire)
_ANY: Final = union(_WIRE.values())

#: The chunk kinds written as a tagged annotation.
ANNOTATED: Final = (
    MessageMetadataChunk,
    AbortChunk,
    SourceDocumentChunk,
    PreliminaryToolResultChunk,
)

AnnotatedChunk = (
    MessageMetadataChunk | AbortChunk | SourceDocumentChunk | PreliminaryToolResultChunk
)


def to_annotation(chunk: AnnotatedChunk) -> _Wire:
    """The one annotation item that carries ``chunk`` (encode it in a list)."""
    match chunk:
        case MessageMetadataChunk(metadata=metadata):
            return _MessageMetadata(metadata)
        case AbortChunk(reason=reason):
            return _Abort(reason)
        case SourceDocumentChunk():
            return _SourceDocument(
                chunk.id,
                chunk.media_type,
                chunk.title,
                chunk.filename,
                parent_or_none(chunk.parent_id),
            )
        case PreliminaryToolResultChunk(tool_call_id=call_id, result=result):
            return _Preliminary(call_id, result, preliminary=True)
    raise TypeError(f"not an annotated chunk: {chunk!r}")  # pragma: no cover


def checked_annotation(chunk: AnnotatedChunk, tools: ToolCallLedger) -> _Wire:
    """:func:`to_annotation` for an encoder: a preliminary result must name a
    call begun in ``tools`` (else the ledger raises, naming the chunk)."""
    if type(chunk) is PreliminaryToolResultChunk:
        tools.get(chunk.type, chunk.tool_call_id)
    return to_annotation(chunk)


def from_annotations(annotations: list[Any]) -> Chunk | None:
    """The chunk an annotations frame carries, or ``None`` for ordinary annotations."""
    if len(annotations) != 1:
        return None
    item = annotations[0]
    kind = item.get("type") if type(item) is dict else None
    if not isinstance(kind, str) or kind not in _WIRE:
        return None
    try:
        wire = msgspec.convert(item, _ANY)
    except msgspec.ValidationError:
        return None
    match wire:
        case _MessageMetadata(message_metadata=metadata):
            return MessageMetadataChunk(metadata)
        case _Abort(reason=reason):
            return AbortChunk(reason)
        case _SourceDocument():
            parent = parent_or_none(wire.parent_id)
            return SourceDocumentChunk(
                wire.source_id, wire.media_type, wire.title, wire.filename, parent
            )
        case _Preliminary(tool_call_id=call_id, output=output) if wire.preliminary:
            return PreliminaryToolResultChunk(call_id, None if output is msgspec.UNSET else output)
    return None

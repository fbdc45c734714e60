"""The accumulator with message metadata, aborts, document sources and preliminary results."""

from __future__ import annotations

import pytest

from assistant_stream_core.chunks import (
    AbortChunk,
    MessageMetadataChunk,
    PreliminaryToolResultChunk,
    SourceDocumentChunk,
    TextDeltaChunk,
)
from assistant_stream_core.message import (
    MessageAccumulator,
    MessageAccumulatorError,
    accumulate,
    merge_metadata,
)


def test_metadata_merges_as_the_ai_sdk_does() -> None:
    merged = merge_metadata({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "d": None})
    assert merged == {"a": {"b": 1, "c": [2]}, "d": None}  # lists replace; null is a value
    assert merge_metadata(None, {"__proto__": {"x": 1}, "k": 1}) == {"k": 1}
    assert merge_metadata({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}


def test_each_kind_is_an_annotation_and_does_not_end_the_open_part() -> None:
    message = accumulate(
        [
            TextDeltaChunk("a"),
            MessageMetadataChunk({"m": 1}),
            AbortChunk(),
            SourceDocumentChunk("d", "text/plain", "T", parent_id=""),
            TextDeltaChunk("b"),
        ]
    )
    assert [part.text for part in message.parts] == ["ab"]  # type: ignore[union-attr]
    assert message.metadata.unstable_annotations == (
        {"type": "message-metadata", "messageMetadata": {"m": 1}},
        {"type": "abort"},
        {"type": "source-document", "sourceId": "d", "mediaType": "text/plain", "title": "T"},
    )
    assert message.metadata.message_metadata == {"m": 1}
    assert "message_metadata" not in message.to_client_json()["metadata"]


def test_a_preliminary_result_for_an_unknown_call_is_a_problem() -> None:
    lenient = MessageAccumulator()
    lenient.add(PreliminaryToolResultChunk("nope", 1))
    assert [p.reason for p in lenient.problems] == ["unknown-tool-call-id"]
    assert lenient.message.metadata.unstable_annotations == ()
    with pytest.raises(MessageAccumulatorError, match="nope"):
        MessageAccumulator(strict=True).add(PreliminaryToolResultChunk("nope", 1))

"""Properties every protocol in the registry must have, over valid runs and any byte split.

* decode(encode(run)), fed in arbitrary pieces, equals normalise(run);
* the assembled message survives the wire: accumulate(run) == accumulate(decoded);
* encoders never emit an invalid frame, whatever chunks they are given;
* decoders given garbage raise only ProtocolError (and keep raising after).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import Chunk, DataChunk, TextDeltaChunk
from assistant_stream_core.errors import ChunkEncodeError, ProtocolError
from assistant_stream_core.message import MessageAccumulator, accumulate
from assistant_stream_core.testing.strategies import (
    byte_splits,
    chunk_sequences,
    chunks,
    client_turn_sequences,
    json_values,
    texts,
)
from tests.properties.protocols import PROTOCOLS, ProtocolEntry

# Bounded so the whole module stays well under 30 s on a shared machine.
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

protocols = pytest.mark.parametrize("protocol", PROTOCOLS, ids=str)


def encode(protocol: ProtocolEntry, run: list[Chunk]) -> bytes:
    encoder = protocol.encoder()
    return encoder.encode_many(run) + encoder.finish()


def decode_pieces(protocol: ProtocolEntry, pieces: list[bytes]) -> list[Chunk]:
    decoder = protocol.decoder()
    out: list[Chunk] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    out.extend(decoder.finish())
    return out


@protocols
@FAST
@given(data=st.data(), run=chunk_sequences())
def test_valid_runs_round_trip(
    protocol: ProtocolEntry, data: st.DataObject, run: list[Chunk]
) -> None:
    # One generated run serves several properties: generating runs is the
    # expensive part.
    body = encode(protocol, run)
    protocol.check_frames(body)

    one_by_one = protocol.encoder()
    assert b"".join(one_by_one.encode(c) for c in run) + one_by_one.finish() == body

    pieces = data.draw(byte_splits(body), label="pieces")
    decoded = decode_pieces(protocol, pieces)
    assert decoded == protocol.normalise(run)

    # The assembled message survives the wire, and a valid run has nothing a
    # strict accumulator would reject.
    assert accumulate(decoded, strict=True) == accumulate(run, strict=True)


@protocols
@FAST
@given(data=st.data(), run=client_turn_sequences())
def test_runs_that_wait_for_the_client_round_trip(
    protocol: ProtocolEntry, data: st.DataObject, run: list[Chunk]
) -> None:
    """Approval requests, denials and answers to calls of an earlier response."""
    body = encode(protocol, run)
    protocol.check_frames(body)
    decoded = decode_pieces(protocol, data.draw(byte_splits(body), label="pieces"))
    assert decoded == protocol.normalise(run)
    assert accumulate(decoded, strict=True) == accumulate(run, strict=True)


@protocols
@FAST
@given(arbitrary=st.lists(chunks(), max_size=12))
def test_encoders_emit_valid_frames_for_any_chunks(
    protocol: ProtocolEntry, arbitrary: list[Chunk]
) -> None:
    # A chunk the stream cannot carry (a tool call id never begun) raises
    # ChunkEncodeError before writing anything; the encoder stays usable.
    encoder = protocol.encoder()
    body = b""
    for chunk in arbitrary:
        try:
            body += encoder.encode(chunk)
        except ChunkEncodeError:
            continue
    body += encoder.finish()
    protocol.check_frames(body)


def _assert_only_protocol_errors(protocol: ProtocolEntry, pieces: list[bytes]) -> None:
    decoder = protocol.decoder()
    try:
        for piece in pieces:
            decoder.feed(piece)
        decoder.finish()
    except ProtocolError:
        # After an error the decoder stays failed.
        with pytest.raises(ProtocolError):
            decoder.feed(b'0:"x"\n\n' + b"data: [DONE]\n\n")


@protocols
@FAST
@given(pieces=st.lists(st.binary(max_size=40), max_size=6))
def test_decoders_raise_only_protocol_errors_on_random_bytes(
    protocol: ProtocolEntry, pieces: list[bytes]
) -> None:
    _assert_only_protocol_errors(protocol, pieces)


# Bytes that look almost right reach deeper into a decoder than random ones.
_FRAGMENTS = [
    b"\n",
    b"\r",
    b"\n\n",
    b"data: ",
    b"data: [DONE]\n\n",
    b"event: x\n",
    b": comment\n",
    b"0:",
    b"b:",
    b"c:",
    b"a:",
    b"aui-state:",
    b'{"type":"text-delta","path":[0],"textDelta":"x"}',
    b'{"type":"part-start","part":{"type":"text"},"path":[]}',
    b'{"type":"result","path":[1],"isError":"no"}',
    b'{"toolCallId":"t","toolName":"f"}',
    b'{"toolCallId":"t","argsTextDelta":"{"}',
    b'[{"type":"set","path":["__proto__"],"value":1}]',
    b'"\xff\xfe"',
    b"\xe2\x82",
    b"null",
    b"[]",
    b"{}",
]


@protocols
@FAST
@given(
    data=st.data(),
    run=chunk_sequences(max_size=8),
    garbage=st.lists(st.sampled_from(_FRAGMENTS) | st.binary(max_size=6), max_size=10),
)
def test_decoders_raise_only_protocol_errors_on_damaged_streams(
    protocol: ProtocolEntry, data: st.DataObject, run: list[Chunk], garbage: list[bytes]
) -> None:
    body = bytearray(encode(protocol, run))
    for fragment in garbage:
        at = data.draw(st.integers(0, len(body)), label="at")
        body[at:at] = fragment
    _assert_only_protocol_errors(protocol, data.draw(byte_splits(bytes(body), max_pieces=8)))


@FAST
@given(value=json_values(), text=texts())
def test_json_values_and_texts_survive_a_protocol(value: object, text: str) -> None:
    for protocol in PROTOCOLS:
        run: list[Chunk] = [TextDeltaChunk(text), DataChunk(value)]
        assert decode_pieces(protocol, [encode(protocol, run)]) == protocol.normalise(run)


@FAST
@given(arbitrary=st.lists(chunks(), max_size=15))
def test_lenient_accumulator_takes_any_chunks(arbitrary: list[Chunk]) -> None:
    # Whatever comes in, a lenient accumulator records problems and never raises.
    accumulator = MessageAccumulator()
    accumulator.add_many(arbitrary)
    message = accumulator.finish()
    assert message.status.type != "running"
    assert all(0 <= problem.index < len(arbitrary) for problem in accumulator.problems)

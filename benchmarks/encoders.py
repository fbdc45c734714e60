"""Encoder throughput: chunks per second for the core encoders.

Three workloads of the same number of chunks:

* **agent turns** (the headline, with the targets): many responses, one
  encoder each, every response one agent turn handed over in the batches a
  run's buffer drains (reasoning and text in merged deltas, two tool calls
  with streamed args and their results, state updates, a step): what
  ``create_run`` gives an encoder, one ``encode_many`` per batch;
* **text deltas** (stress, no target): one stream of 200,000 small adjacent
  text deltas in one batch (some non-ASCII, some needing JSON escapes). Real
  traffic never has this shape, since the buffer merges adjacent deltas;
* **one long mixed run** (stress, no target): unmerged agent turns in a
  single stream: its message reaches thousands of parts and tool calls, far
  past any real response, and shows what a stream's growing state costs.

Each runs through every protocol in :data:`PROTOCOLS`, encoded by:

* **floor**: no library at all. Our encoder's frames are parsed back into their
  JSON payloads before timing; the timed loop only writes each frame's prefix,
  ``encode_into`` of the payload with one reused :class:`msgspec.json.Encoder`,
  and the suffix into one ``bytearray`` per stream. It writes the same bytes
  as ours, and no encoder can do less work for them.
* **ours**: ``encode_many`` once per batch (what the serving loop does with
  each drain of a run; the floor writes one buffer per batch too), and
  ``encode`` once per chunk. The closing frames
  (``finish``) are timed too; like an adapter, the contenders hand back their
  pieces as they are, without joining them.
* **upstream**: ``assistant-stream`` 0.0.36 when it is importable (it is never a
  dependency), through ``encode_stream`` (the API its response classes use) in
  the async half, and, for the Data Stream, through its sync per-chunk
  ``encode_chunk`` (each ``str`` encoded to bytes) in the sync half, so that a
  sync row of ours is compared with a sync upstream. Upstream's Assistant
  Transport has no sync API: its sync rows fall back to ``encode_stream``
  (marked ``*``).

The second half of each table feeds every contender from an async generator,
one item per ``__anext__``: the shape of upstream's ``encode_stream(async_gen)``
API. The floor there is the cap any encoder fed that way can reach. An API of
that shape must also hand every frame to its consumer as a ``str`` (upstream's
contract; code written for it reads one frame per item), which the consumer
encodes back to bytes; the **str-per-frame floor** row does exactly that with
no library (the floor's frames, fed the same way, each yielded as one ``str``
through one async generator, read by the same consumer as ``encode_stream``'s
row), so it is the cap of ``encode_stream`` itself.

Timings on a shared machine move by several percent between runs. Under the
headline table, the Python bytecodes per chunk of the floor and of
``encode_many`` are counted exactly (``sys.settrace`` opcode events over the
first :data:`COUNTED_RESPONSES` responses): a change to the interpreter's
share of the work shows there even when the timings hide it. Each Python
version compiles to different bytecode, so counts compare only on one
version (the line names it).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import importlib.metadata
import itertools
import os
import platform
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Final

import msgspec

from assistant_stream_core.chunks import (
    Chunk,
    ReasoningDeltaChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.protocols.base import Encoder
from assistant_stream_core.state import AppendTextOperation, SetOperation

from ._opcodes import PYTHON, opcode_trace

__all__ = [
    "PROTOCOLS",
    "TARGETS",
    "UPSTREAM_VERSION",
    "Protocol",
    "agent_turns",
    "mixed_run",
    "run",
    "text_deltas",
]

#: The upstream release the comparison is pinned to.
UPSTREAM_VERSION: Final = "0.0.36"

# ---------------------------------------------------------------------------
# Workloads

_TEXT_PIECES: Final = (
    "Hello",
    " world",
    ",",
    " the",
    " weather",
    " in Paris",
    " is",
    " mild",
    ".",
    " café",
    " naïve",
    " 21 °C",
    " 🚀",
    " 你好",
    ' "quoted"',
    " C:\\path",
    "\n",
    "line\nbreak",
    "\ttab",
    " ok",
)

_REASONING_PIECES: Final = (
    "The user",
    " asks about",
    " the weather;",
    " call the tool",
    " first.",
    " Then answer",
    " in °C.",
)

_ARGS_PIECES: Final = ('{"city": ', '"Par', 'is", ', '"unit": ', '"°C"}')


def text_deltas(count: int, *, seed: int = 1) -> list[Chunk]:
    """Return ``count`` small text deltas drawn from a fixed mix of pieces."""
    rng = random.Random(seed)
    return [TextDeltaChunk(text_delta=rng.choice(_TEXT_PIECES)) for _ in range(count)]


#: The headline's targets per protocol: times upstream, and share of the floor.
TARGETS: Final = {"data_stream": (8.0, 1 / 1.5), "assistant_transport": (15.0, 1 / 1.5)}


def agent_turns(count: int, *, seed: int = 3) -> list[list[list[Chunk]]]:
    """Return responses of about ``count`` chunks in all: one agent turn each, in batches.

    A batch is what one drain of a run's buffer hands the encoder: adjacent
    deltas of a part are already merged (a few tokens' worth each), and a
    batch holds whatever the run produced since the last drain.
    """
    rng = random.Random(seed)
    responses: list[list[list[Chunk]]] = []
    total = 0
    while total < count:
        batches = _turn_batches(len(responses), rng)
        responses.append(batches)
        total += sum(map(len, batches))
    return responses


def _turn_batches(turn: int, rng: random.Random) -> list[list[Chunk]]:
    def text(pieces: tuple[str, ...], n: int) -> str:
        return "".join(rng.choice(pieces) for _ in range(n))

    first, second = f"call_{turn:06d}_a", f"call_{turn:06d}_b"
    weather = {"temp_c": 21.5, "conditions": "sunny", "hourly": [19, 21, 22, 20]}
    hits = {"hits": [{"title": "Paris weather", "url": "https://example.com/paris"}]}
    return [
        [StepStartChunk(f"msg_{turn}"), ReasoningDeltaChunk(text(_REASONING_PIECES, 4))],
        [ReasoningDeltaChunk(text(_REASONING_PIECES, 5))],
        [ReasoningDeltaChunk(text(_REASONING_PIECES, 3)), TextDeltaChunk(text(_TEXT_PIECES, 6))],
        [TextDeltaChunk(text(_TEXT_PIECES, 8))],
        [
            TextDeltaChunk(text(_TEXT_PIECES, 7)),
            ToolCallBeginChunk(first, "get_weather"),
            ToolCallDeltaChunk(first, '{"city": "Par'),
        ],
        [
            ToolCallDeltaChunk(first, 'is", "unit": "°C"}'),
            ToolCallBeginChunk(second, "search"),
            ToolCallDeltaChunk(second, '{"query": "weather Paris today"}'),
        ],
        [
            ToolResultChunk(first, weather),
            UpdateStateChunk([SetOperation(("status",), "searching")]),
        ],
        [
            ToolResultChunk(second, hits),
            UpdateStateChunk(
                [
                    AppendTextOperation(("log",), f" turn {turn}: 2 tools"),
                    SetOperation(("turns", str(turn)), {"city": "Paris", "ok": True}),
                ]
            ),
        ],
        [TextDeltaChunk(text(_TEXT_PIECES, 9))],
        [TextDeltaChunk(text(_TEXT_PIECES, 8))],
        [
            TextDeltaChunk(text(_TEXT_PIECES, 5)),
            StepFinishChunk(finish_reason="stop", input_tokens=420, output_tokens=77),
        ],
    ]


def mixed_run(count: int, *, seed: int = 2) -> list[Chunk]:
    """Return ``count`` chunks of agent turns, as a tool-using chat produces.

    Only chunk types that upstream 0.0.36 has are used, so every contender
    encodes the same run. Each turn is 36 chunks (see :func:`_agent_turn`).
    """
    rng = random.Random(seed)
    chunks: list[Chunk] = []
    turn = 0
    while len(chunks) < count:
        chunks.extend(_agent_turn(turn, rng))
        turn += 1
    return chunks[:count]


def _agent_turn(turn: int, rng: random.Random) -> Iterator[Chunk]:
    yield StepStartChunk(message_id=f"msg_{turn}")
    for _ in range(6):
        yield ReasoningDeltaChunk(reasoning_delta=rng.choice(_REASONING_PIECES))
    for _ in range(10):
        yield TextDeltaChunk(text_delta=rng.choice(_TEXT_PIECES))
    call_id = f"call_{turn:06d}"
    yield ToolCallBeginChunk(tool_call_id=call_id, tool_name="get_weather")
    for piece in _ARGS_PIECES:
        yield ToolCallDeltaChunk(tool_call_id=call_id, args_text_delta=piece)
    yield ToolResultChunk(
        tool_call_id=call_id,
        result={"temp_c": 21.5, "conditions": "sunny", "hourly": [19, 21, 22, 20]},
    )
    yield UpdateStateChunk(
        operations=[
            AppendTextOperation(path=("log",), value=f" turn {turn} done"),
            SetOperation(path=("status",), value="answering"),
            SetOperation(path=("turns", str(turn)), value={"city": "Paris", "ok": True}),
        ]
    )
    for _ in range(10):
        yield TextDeltaChunk(text_delta=rng.choice(_TEXT_PIECES))
    yield StepFinishChunk(finish_reason="stop", input_tokens=420, output_tokens=77)


# ---------------------------------------------------------------------------
# Protocols and the floor's view of their frames

#: A frame as the floor writes it: prefix, JSON payload (or ``_RAW``), suffix.
Frame = tuple[bytes, Any, bytes]
_RAW: Final = object()  # a frame without JSON, written as its prefix alone


def _line_frames(data: bytes) -> list[Frame]:
    """Split ``code:json`` lines (JSON strings never hold a raw newline)."""
    frames: list[Frame] = []
    for line in data.split(b"\n")[:-1]:
        code, _, payload = line.partition(b":")
        frames.append((code + b":", msgspec.json.decode(payload), b"\n"))
    return frames


def _sse_frames(data: bytes) -> list[Frame]:
    """Split ``data: <json>`` events; anything else is written verbatim."""
    frames: list[Frame] = []
    for event in data.split(b"\n\n")[:-1]:
        if event.startswith(b"data: ") and event != b"data: [DONE]":
            frames.append((b"data: ", msgspec.json.decode(event[6:]), b"\n\n"))
        else:
            frames.append((event + b"\n\n", _RAW, b""))
    return frames


@dataclass(frozen=True)
class Protocol:
    """Where one wire format's encoders live, ours and upstream's."""

    name: str
    module: str
    encoder_class: str
    upstream: str  # "module:Class" in the upstream package
    frames: Callable[[bytes], list[Frame]]
    #: Upstream's synchronous per-chunk method returning ``str``, if it has one.
    upstream_sync: str | None = None

    def encoder_type(self) -> Callable[[], Encoder]:
        """Return our encoder class: calling it makes a fresh encoder for one stream."""
        cls: Callable[[], Encoder] = getattr(
            importlib.import_module(self.module), self.encoder_class
        )
        return cls


#: The core encoders under test.
PROTOCOLS: Final = (
    Protocol(
        name="data_stream",
        module="assistant_stream_core.protocols.data_stream",
        encoder_class="DataStreamEncoder",
        upstream="assistant_stream.serialization.data_stream:DataStreamEncoder",
        frames=_line_frames,
        upstream_sync="encode_chunk",
    ),
    Protocol(
        name="assistant_transport",
        module="assistant_stream_core.protocols.assistant_transport",
        encoder_class="AssistantTransportEncoder",
        upstream="assistant_stream.serialization.assistant_transport:AssistantTransportEncoder",
        frames=_sse_frames,
    ),
)


# ---------------------------------------------------------------------------
# Contenders: each is a zero-argument callable that encodes a whole workload
# (a list of streams, each a list of chunks; for encode_many, each a list of
# batches) and returns what it wrote, in pieces, so it can be both checked
# and timed.

Streams = Sequence[Sequence[Any]]
Batched = Sequence[Sequence[Sequence[Chunk]]]
Produce = Callable[[], list[bytes]]


async def _feed(items: Iterable[Any]) -> AsyncIterator[Any]:
    """The async generator every async contender is fed from."""
    for item in items:
        yield item


def _floor(pieces_frames: Sequence[Sequence[Frame]]) -> Produce:
    """One buffer per piece of ours (per batch, and the closing frames)."""
    encoder = msgspec.json.Encoder()

    def produce() -> list[bytes]:
        pieces = []
        for frames in pieces_frames:
            buffer = bytearray()
            for prefix, payload, suffix in frames:
                buffer += prefix
                if payload is not _RAW:
                    encoder.encode_into(payload, buffer, -1)
                buffer += suffix
            pieces.append(b"" + buffer)  # as ours: cheaper than bytes()
        return pieces

    return produce


def _floor_async(streams: Sequence[Sequence[Frame]], loop: asyncio.AbstractEventLoop) -> Produce:
    encoder = msgspec.json.Encoder()

    async def produce() -> list[bytes]:
        pieces = []
        for frames in streams:
            buffer = bytearray()
            async for prefix, payload, suffix in _feed(frames):
                buffer += prefix
                if payload is not _RAW:
                    encoder.encode_into(payload, buffer, -1)
                buffer += suffix
            pieces.append(b"" + buffer)  # as ours: cheaper than bytes()
        return pieces

    return lambda: loop.run_until_complete(produce())


def _floor_str_frames(
    streams: Sequence[Sequence[Frame]], loop: asyncio.AbstractEventLoop
) -> Produce:
    encoder = msgspec.json.Encoder()
    dumps = encoder.encode

    async def frames_as_str(frames: Sequence[Frame]) -> AsyncIterator[str]:
        async for prefix, payload, suffix in _feed(frames):
            if payload is _RAW:
                yield prefix.decode()
            else:
                yield (b"%b%b%b" % (prefix, dumps(payload), suffix)).decode()

    async def produce() -> list[bytes]:
        pieces = []
        for frames in streams:
            buffer = bytearray()
            async for piece in frames_as_str(frames):
                buffer += piece if isinstance(piece, bytes) else piece.encode()
            pieces.append(bytes(buffer))
        return pieces

    return lambda: loop.run_until_complete(produce())


def _ours_many(protocol: Protocol, streams: Batched) -> Produce:
    make_encoder = protocol.encoder_type()

    def produce() -> list[bytes]:
        pieces = []
        for batches in streams:
            encoder = make_encoder()
            encode_many = encoder.encode_many
            for batch in batches:
                pieces.append(encode_many(batch))
            pieces.append(encoder.finish())
        return pieces

    return produce


def _ours_each(protocol: Protocol, streams: Streams) -> Produce:
    make_encoder = protocol.encoder_type()

    def produce() -> list[bytes]:
        pieces = []
        for chunks in streams:
            encoder = make_encoder()
            encode = encoder.encode
            buffer = bytearray()
            for chunk in chunks:
                buffer += encode(chunk)
            buffer += encoder.finish()
            pieces.append(bytes(buffer))
        return pieces

    return produce


def _ours_each_async(
    protocol: Protocol, streams: Streams, loop: asyncio.AbstractEventLoop
) -> Produce:
    make_encoder = protocol.encoder_type()

    async def produce() -> list[bytes]:
        pieces = []
        for chunks in streams:
            encoder = make_encoder()
            encode = encoder.encode
            buffer = bytearray()
            async for chunk in _feed(chunks):
                buffer += encode(chunk)
            buffer += encoder.finish()
            pieces.append(bytes(buffer))
        return pieces

    return lambda: loop.run_until_complete(produce())


def _ours_encode_stream(
    protocol: Protocol, streams: Streams, loop: asyncio.AbstractEventLoop
) -> Produce | None:
    """The upstream-shaped ``encoder.encode_stream(async_iterable)`` of ``assistant_stream_ce``.

    It yields ``str``, as upstream's does.
    """
    facade = {
        "data_stream": "assistant_stream_ce.serialization.data_stream:DataStreamEncoder",
        "assistant_transport": (
            "assistant_stream_ce.serialization.assistant_transport:AssistantTransportEncoder"
        ),
    }.get(protocol.name)
    if facade is None:
        return None
    module_name, class_name = facade.split(":")
    facade_class = getattr(importlib.import_module(module_name), class_name)

    async def produce() -> list[bytes]:
        pieces = []
        for chunks in streams:
            encoder: Any = facade_class()
            buffer = bytearray()
            async for piece in encoder.encode_stream(_feed(chunks)):
                buffer += piece if isinstance(piece, bytes) else piece.encode()
            pieces.append(bytes(buffer))
        return pieces

    return lambda: loop.run_until_complete(produce())


def _upstream_version() -> str | None:
    try:
        importlib.import_module("assistant_stream")
        return importlib.metadata.version("assistant-stream")
    except (ImportError, importlib.metadata.PackageNotFoundError):
        return None


def _to_upstream(chunks: Sequence[Chunk]) -> list[Any]:
    """Rebuild ``chunks`` as upstream's dataclasses (same class names).

    Raises ``LookupError`` naming a chunk class upstream does not have.
    """
    module = importlib.import_module("assistant_stream.assistant_stream_chunk")
    converted: list[Any] = []
    for chunk in chunks:
        name = type(chunk).__name__
        cls = getattr(module, name, None)
        if cls is None:
            raise LookupError(f"upstream has no {name}")
        fields = msgspec.structs.asdict(chunk)
        if isinstance(chunk, UpdateStateChunk):
            # Upstream's operations are plain dicts.
            fields["operations"] = [operation.to_dict() for operation in chunk.operations]
        converted.append(cls(**fields))
    return converted


def _upstream(protocol: Protocol, streams: Streams, loop: asyncio.AbstractEventLoop) -> Produce:
    module_name, class_name = protocol.upstream.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)

    async def produce() -> list[bytes]:
        pieces = []
        for chunks in streams:
            buffer = bytearray()
            # Upstream yields str; its response encodes each one, so do we.
            async for text in cls().encode_stream(_feed(chunks)):
                buffer += text.encode()
            pieces.append(bytes(buffer))
        return pieces

    return lambda: loop.run_until_complete(produce())


def _upstream_sync(protocol: Protocol, streams: Streams) -> Produce | None:
    """Upstream's own sync API, where it has one: a ``str`` per chunk, encoded to bytes."""
    method = protocol.upstream_sync
    if method is None:
        return None
    module_name, class_name = protocol.upstream.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)

    def produce() -> list[bytes]:
        pieces = []
        for chunks in streams:
            encode_chunk = getattr(cls(), method)
            buffer = bytearray()
            for chunk in chunks:
                text = encode_chunk(chunk)
                if text is not None:
                    buffer += text.encode()
            pieces.append(bytes(buffer))
        return pieces

    return produce


# ---------------------------------------------------------------------------
# Measuring


@dataclass
class _Row:
    """One contender across protocols: best time per protocol, or why none."""

    label: str
    role: str  # "floor", "cap" (the str-per-frame floor), "ours" or "upstream"
    section: str  # "sync" or "async"
    produce: dict[str, Produce | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    best: dict[str, float] = field(default_factory=dict)


def _timed(produce: Produce) -> float:
    gc.collect()
    gc.disable()  # as timeit does: collections would land on random contenders
    try:
        # CPU time of this process: everything a contender does is CPU work
        # here, and on a shared machine wall time would count other processes.
        start = time.process_time()
        produce()
        return time.process_time() - start
    finally:
        gc.enable()


def _build_rows(
    batched: Batched,
    loop: asyncio.AbstractEventLoop,
    upstream_version: str | None,
) -> list[_Row]:
    streams = [[chunk for batch in batches for chunk in batch] for batches in batched]
    labels = [
        ("floor: msgspec encode_into", "floor", "sync"),
        ("ours: encode_many()", "ours", "sync"),
        ("ours: encode() per chunk", "ours", "sync"),
        (f"upstream {upstream_version or UPSTREAM_VERSION}: encode_chunk()", "upstream", "sync"),
        ("floor: msgspec encode_into", "floor", "async"),
        ("ours: encode() per chunk", "ours", "async"),
        ("floor: one str per frame", "cap", "async"),
        ("ours: encode_stream()", "ours", "async"),
        (f"upstream {upstream_version or UPSTREAM_VERSION}: encode_stream()", "upstream", "async"),
    ]
    rows = [_Row(label, role, section) for label, role, section in labels]
    floor_sync, many, each, upstream_sync, floor_async, each_async, cap, stream, upstream = rows

    upstream_streams: list[list[Any]] | None = None
    upstream_missing = f"not installed (pip install assistant-stream=={UPSTREAM_VERSION})"
    if upstream_version is not None:
        try:
            upstream_streams = [_to_upstream(chunks) for chunks in streams]
        except LookupError as exc:
            upstream_missing = str(exc)

    for protocol in PROTOCOLS:
        name = protocol.name
        pieces = _ours_many(protocol, batched)()
        # Each stream's bytes: its encode_many pieces, then its finish piece.
        ends = itertools.accumulate(len(batches) + 1 for batches in batched)
        starts = [0, *ends]
        references = [b"".join(pieces[a:b]) for a, b in itertools.pairwise(starts)]
        frames = [protocol.frames(reference) for reference in references]
        floor_sync.produce[name] = _floor([protocol.frames(piece) for piece in pieces])
        many.produce[name] = _ours_many(protocol, batched)
        each.produce[name] = _ours_each(protocol, streams)
        floor_async.produce[name] = _floor_async(frames, loop)
        each_async.produce[name] = _ours_each_async(protocol, streams, loop)
        cap.produce[name] = _floor_str_frames(frames, loop)
        stream.produce[name] = _ours_encode_stream(protocol, streams, loop)
        if stream.produce[name] is None:
            stream.missing[name] = "n/a (not yet)"
        if upstream_streams is not None:
            upstream.produce[name] = _upstream(protocol, upstream_streams, loop)
            upstream_sync.produce[name] = _upstream_sync(protocol, upstream_streams)
            if upstream_sync.produce[name] is None:
                upstream_sync.missing[name] = "n/a (no sync API)"
        else:
            upstream.produce[name] = upstream_sync.produce[name] = None
            upstream.missing[name] = upstream_sync.missing[name] = upstream_missing

        # Every contender of ours must write exactly the reference bytes.
        reference = b"".join(references)
        for row in rows:
            produce = row.produce[name]
            if row.role == "upstream" or produce is None:
                continue
            if b"".join(produce()) != reference:
                raise AssertionError(f"{row.label} ({row.section}) differs on {name}")
    return rows


def _measure(rows: list[_Row], repeat: int) -> None:
    # Interleaved: every contender runs once per round, so slow drifts of a
    # shared machine spread over all of them instead of landing on one.
    for _ in range(repeat):
        for row in rows:
            for name, produce in row.produce.items():
                if produce is not None:
                    elapsed = _timed(produce)
                    row.best[name] = min(elapsed, row.best.get(name, elapsed))


# ---------------------------------------------------------------------------
# Counting: what a timing on a shared machine cannot show exactly

#: Responses of the headline workload whose bytecodes are counted.
COUNTED_RESPONSES: Final = 100


def _bytecodes(produce: Produce) -> int:
    """The Python bytecodes ``produce`` executes (``sys.settrace`` opcode events).

    Exact and independent of the machine's load, but blind to C: a JSON
    encode, a buffer copy or an allocation counts nothing, so it measures
    the interpreter's share of the work, not all of it.
    """
    count = 0

    def opcode(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "opcode":
            count += 1
        return opcode

    with opcode_trace(opcode):
        produce()
    return count


def _print_bytecodes(batched: Batched) -> None:
    """Print the floor's and encode_many()'s bytecodes per chunk on ``batched``."""
    chunks = sum(len(batch) for batches in batched for batch in batches)
    cells = []
    for protocol in PROTOCOLS:
        many = _ours_many(protocol, batched)
        floor = _floor([protocol.frames(piece) for piece in many()])
        ours, least = _bytecodes(many) / chunks, _bytecodes(floor) / chunks
        cells.append(
            f"{protocol.name} floor {least:.1f}, encode_many() {ours:.1f} ({least / ours:.0%})"
        )
    print(
        f"  Python bytecodes per chunk, counted on Python {PYTHON} "
        f"(first {len(batched)} responses; "
        "C work uncounted): " + "; ".join(cells)
    )


# ---------------------------------------------------------------------------
# Reporting

_LABEL_WIDTH = 34
_CELL = "{:>10}{:>10}{:>11}"


def _rate(count: int, seconds: float) -> str:
    per_second = count / seconds
    return f"{per_second / 1e6:.2f}M" if per_second >= 1e6 else f"{per_second / 1e3:.0f}k"


def _print_table(title: str, count: int, rows: list[_Row], *, targets: bool = False) -> None:
    names = [protocol.name for protocol in PROTOCOLS]
    print(f"\n{title}")
    print(" " * _LABEL_WIDTH + "".join(f"{name:>31}" for name in names))
    print(" " * _LABEL_WIDTH + _CELL.format("chunks/s", "of floor", "vs upstr.") * len(names))
    sections = {"sync": "encoding a list (sync)", "async": "fed by an async generator"}
    upstreams = {row.section: row for row in rows if row.role == "upstream"}

    def upstream_for(section: str, name: str) -> _Row:
        """Upstream's row of the same section, or its encode_stream() if it has no sync API."""
        same = upstreams[section]
        return same if name in same.best else upstreams["async"]

    notes: dict[str, None] = {}  # a missing cell's text, when it does not fit the cell
    for section, heading in sections.items():
        print(f"  {heading}")
        floor = next(row for row in rows if row.role == "floor" and row.section == section)
        for row in (row for row in rows if row.section == section):
            cells = []
            for name in names:
                if name not in row.best:
                    missing = row.missing.get(name, "n/a")
                    if len(missing) > 30:
                        notes[f"{row.label}: {missing}"] = None
                        missing = missing.split(" (")[0][:30]
                    cells.append(f"{missing:>31}")
                    continue
                seconds = row.best[name]
                of_floor = f"{floor.best[name] / seconds:.0%}"
                versus = ""
                upstream = upstream_for(section, name)
                if row.role == "ours" and name in upstream.best:
                    mark = "" if upstream.section == section else "*"
                    versus = f"{upstream.best[name] / seconds:.1f}x{mark}"
                cells.append(_CELL.format(_rate(count, seconds), of_floor, versus))
            print(f"    {row.label:<{_LABEL_WIDTH - 4}}" + "".join(cells))
    for note in notes:
        print(f"  {note}")
    cap = next(row for row in rows if row.role == "cap")
    stream = next(row for row in rows if row.label == "ours: encode_stream()")
    shares = [
        f"{name} {cap.best[name] / stream.best[name]:.0%}"
        for name in names
        if name in cap.best and name in stream.best
    ]
    if shares:
        print("  encode_stream() as a share of the str-per-frame floor: " + ", ".join(shares))
    if targets:
        many = next(row for row in rows if row.label == "ours: encode_many()")
        floor = next(row for row in rows if row.role == "floor" and row.section == "sync")
        for name, (times, share) in TARGETS.items():
            upstream = upstream_for("sync", name)
            if name not in many.best or name not in upstream.best:
                continue
            got_times = upstream.best[name] / many.best[name]
            got_share = floor.best[name] / many.best[name]
            verdict = "met" if got_times >= times and got_share >= share else "MISSED"
            api = upstream.label.split(": ")[-1]
            print(
                f"  target {name}: encode_many() >= {times:.0f}x upstream ({api}) and within "
                f"1.5x of the floor: {got_times:.1f}x, {got_share:.0%} of the floor: {verdict}"
            )


def _describe_text(chunks: Sequence[Chunk]) -> str:
    texts = [chunk.text_delta for chunk in chunks if isinstance(chunk, TextDeltaChunk)]
    non_ascii = sum(not text.isascii() for text in texts)
    escaped = sum(any(c in text for c in '"\\\n\t') for text in texts)
    return f"{non_ascii / len(texts):.0%} non-ASCII, {escaped / len(texts):.0%} needing escapes"


def run(*, repeat: int = 5, chunk_count: int = 200_000) -> None:
    """Run both workloads through every protocol and print the tables."""
    upstream_version = _upstream_version()
    print(
        f"Encoder throughput, best of {repeat}: Python {platform.python_version()}, "
        f"msgspec {msgspec.__version__}, {os.cpu_count()} CPUs, "
        f"upstream assistant-stream {upstream_version or 'not installed'}"
    )
    if upstream_version not in (None, UPSTREAM_VERSION):
        print(f"  (upstream {upstream_version} is not the pinned {UPSTREAM_VERSION})")
    print("  'of floor': speed as a share of the floor in the same section;")
    print("  'vs upstr.': how many times faster than upstream in the same section: its sync")
    print("  encode_chunk() (Data Stream only) or its encode_stream(); * marks a sync row")
    print("  compared with encode_stream() because upstream has no sync API for that format.")
    print("  'floor: one str per frame' is the cap of any encode_stream()-shaped API.")

    turns = agent_turns(chunk_count)
    turn_chunks = sum(len(batch) for batches in turns for batch in batches)
    texts = text_deltas(chunk_count)
    workloads: list[tuple[str, Batched, bool]] = [
        (
            f"Agent turns (headline): {turn_chunks:,} chunks in {len(turns):,} responses, each "
            f"one turn in {len(turns[0])} batches as create_run drains them (merged deltas, "
            "two tool calls, state, a step)",
            turns,
            True,
        ),
        (
            f"Text deltas (stress, no target): {chunk_count:,} adjacent deltas in one batch "
            f"({_describe_text(texts)})",
            [[texts]],
            False,
        ),
        (
            f"One long mixed run (stress, no target): {chunk_count:,} unmerged chunks in one "
            "stream",
            [[mixed_run(chunk_count)]],
            False,
        ),
    ]
    loop = asyncio.new_event_loop()
    try:
        for title, batched, targets in workloads:
            rows = _build_rows(batched, loop, upstream_version)
            _measure(rows, repeat)
            count = sum(len(batch) for batches in batched for batch in batches)
            _print_table(title, count, rows, targets=targets)
            if targets:
                _print_bytecodes(batched[:COUNTED_RESPONSES])
    finally:
        loop.close()

"""What the five encoders share: one write path, the open → finished state, all or nothing.

A protocol's encoder subclasses :class:`EncoderBase` and gives it:

* ``_writers``, a class-level table from each chunk class to the method that
  appends that chunk's frames to ``out`` (``write(self, out, chunk)``): the
  one place per chunk kind that writes bytes, found with one dict lookup on
  the chunk's class (a chunk of no class in the table is not a chunk). An
  encoder that handles every kind in one ``match`` maps them all to it with
  :func:`every_kind`. A writer must **encode first, then commit**: raise (a
  :class:`ChunkEncodeError`, or the ``TypeError``/``ValueError``/
  ``OverflowError`` of a value JSON cannot hold) before it changes any state,
  and change state only once the chunk's frames are in ``out``, which must
  depend only on that state and the chunk. The base cuts ``out`` back to the
  chunk's start on a failure (found by writing the chunk again), so a chunk
  that cannot be encoded changes nothing: no bytes, no state.
* ``_close(out)``, which appends the closing frames.

``encode``, ``encode_many`` and ``encode_frames`` are thin loops over the
writers. After :meth:`EncoderBase.finish`, every call raises
:class:`ChunkEncodeError` ("the stream is closed"), in every protocol: the
closing frames are out, and anything written after them would reach a client
that has stopped reading, or break the stream's end marker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from ..chunks import CHUNK_TYPES, Chunk
from ..errors import ChunkEncodeError
from ._frames import encode_error, json_encoder, split_frames

__all__ = ["EncoderBase", "Writers", "encode_into", "every_kind", "json_encode"]

# A buffer becomes ``bytes`` as ``b"" + out``: ``bytes(out)`` goes through
# the constructor's argument parsing and the generic buffer path, about 45 ns
# more per call (one agent turn's response makes a dozen such calls).

# What a value JSON cannot hold raises from msgspec; a value nested deeper than
# the interpreter's stack (only a chunk built by hand: the controller bounds
# depth) raises RecursionError.
_VALUE_ERRORS = (TypeError, ValueError, OverflowError, RecursionError)
# What a writer may raise for a chunk (a KeyError: a chunk of no class in the
# table; from inside a writer, a bug).
_CHUNK_ERRORS = (ChunkEncodeError, KeyError, *_VALUE_ERRORS)

# One JSON encoder for every stream: a msgspec Encoder keeps no state between
# calls (each call has its own), so sharing it is safe across streams and
# threads, and a response does not pay for building one. Its methods are bound
# once: a writer calls them as globals, with no attribute lookup per chunk.
_JSON = json_encoder()
#: ``encode_into(value, buffer, -1)`` appends ``value``'s JSON to ``buffer``.
encode_into = _JSON.encode_into
#: ``json_encode(value)`` returns ``value``'s JSON as ``bytes``.
json_encode = _JSON.encode

#: A chunk class → writer table: ``writers[type(chunk)](encoder, out, chunk)``.
Writers = Mapping[type[Any], Callable[[Any, bytearray, Any], None]]


def every_kind(write: Callable[[Any, bytearray, Any], None]) -> Writers:
    """The table of an encoder whose one ``write`` handles every chunk kind."""
    return dict.fromkeys(CHUNK_TYPES.values(), write)


class EncoderBase:
    """The shared half of an encoder: the loops, the state, the frame helpers."""

    #: The response's media type.
    media_type: str
    #: Every response header the protocol needs.
    headers: Mapping[str, str]
    #: Bytes that keep an idle connection open, or ``None``.
    keepalive: bytes | None
    #: What ends one frame: ``b"\n"`` for lines, ``b"\n\n"`` for SSE.
    frame_end: ClassVar[bytes] = b"\n\n"
    #: The writer of each chunk class (see the module's docstring).
    _writers: ClassVar[Writers]

    # The class's writers while the stream is open, ``None`` once finished:
    # ``encode_many`` learns both from one load (it runs once per batch of a
    # chunk or two, where a second attribute lookup shows).
    __slots__ = ("_open_writers",)

    def __init__(self) -> None:
        self._open_writers: Writers | None = self._writers

    # --- public API ---------------------------------------------------------

    def encode(self, chunk: Chunk) -> bytes:
        """Return the frames for one chunk (possibly ``b""``).

        Raises as :meth:`encode_many` does for a batch of this one chunk.
        """
        # encode_many's loop for one chunk, without the tuple and the loop (a
        # paced stream encodes one token per call). A failure goes to
        # encode_many, which fails the same way (a failed writer changed
        # nothing) and raises the chunk's error.
        writers = self._open_writers
        if writers is not None:
            out = bytearray()
            try:
                writers[type(chunk)](self, out, chunk)
                return b"" + out
            except _CHUNK_ERRORS:
                pass
        self.encode_many((chunk,))
        raise RuntimeError(  # the writer changed state before it failed: a bug
            f"encoding a {chunk.type} chunk failed, then succeeded on a second try: "
            "a writer must encode first, then commit"
        )

    def encode_many(self, chunks: Iterable[Chunk]) -> bytes:
        """Return the frames for several chunks as one buffer.

        Raises :class:`ChunkEncodeError` for a chunk that cannot be encoded;
        its ``partial`` holds the frames of the chunks before it, and the
        encoder is as if the bad chunk had never been given.
        """
        writers = self._open_writers
        if writers is None:
            raise _closed()
        out = bytearray()
        for chunk in chunks:
            try:
                writers[type(chunk)](self, out, chunk)
            except _CHUNK_ERRORS as exc:
                failure = exc
                break  # handled below: a small loop body costs less per chunk
        else:
            return b"" + out
        write = writers.get(type(chunk))
        if write is None:  # not a chunk: nothing was written
            error = not_a_chunk(chunk)
            error.partial = bytes(out)
            raise error from None
        if isinstance(failure, KeyError):
            raise failure  # from inside a writer: a bug, not the chunk's fault
        # Cut ``out`` back to where this chunk's frames started. No mark is
        # taken per chunk (on batches of a chunk or two it shows): a writer's
        # bytes depend only on the encoder's state and the chunk, and a
        # failure changed neither (encode first, then commit), so writing the
        # chunk again into an empty buffer, here at the same stack depth (a
        # RecursionError fails at a depth), fails at the same byte.
        again = bytearray()
        try:
            write(self, again, chunk)
        except _CHUNK_ERRORS:
            pass
        else:  # the writer changed state before it failed: a bug
            raise RuntimeError(
                f"{write.__qualname__} failed on a {chunk.type} chunk, then wrote it "
                "on a second try: a writer must encode first, then commit"
            ) from failure
        del out[len(out) - len(again) :]
        if isinstance(failure, ChunkEncodeError):
            failure.partial = bytes(out)
            raise failure
        raise encode_error(chunk, failure, bytes(out)) from failure

    def encode_frames(self, chunk: Chunk) -> bytes | list[bytes]:
        """Return the frames for one chunk, one item per frame.

        A single frame comes back as ``bytes`` itself (APIs that hand out one
        frame at a time, like upstream's ``encode_stream``, then pay nothing
        for the common case); zero frames or several as a list.
        """
        return split_frames(self.encode_many((chunk,)), self.frame_end)

    def finish(self) -> bytes:
        """Return the closing frames. Any later call raises :class:`ChunkEncodeError`."""
        if self._open_writers is None:
            raise _closed()
        out = bytearray()
        self._close(out)
        self._open_writers = None
        return b"" + out if out else b""

    # --- for subclasses -----------------------------------------------------

    def _close(self, out: bytearray) -> None:
        raise NotImplementedError

    def _sse(self, out: bytearray, payload: Any) -> None:
        """Append one SSE frame, ``data: <json>`` and a blank line."""
        out += b"data: "
        encode_into(payload, out, -1)
        out += b"\n\n"

    def _line(self, out: bytearray, code: bytes, payload: Any) -> None:
        """Append one ``<code>:<json>`` line (``code`` includes the colon)."""
        out += code
        encode_into(payload, out, -1)
        out += b"\n"


def not_a_chunk(chunk: object) -> ChunkEncodeError:
    """The error for an item that is not one of the chunk types."""
    return ChunkEncodeError(f"cannot encode {type(chunk).__name__!s}: not a chunk")


def _closed() -> ChunkEncodeError:
    return ChunkEncodeError("cannot encode after finish(): the stream is closed")

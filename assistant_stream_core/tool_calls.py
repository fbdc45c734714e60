"""The tool-call ledger: one record per tool call of a stream, and its rules.

Every protocol, the message accumulator and the test helpers that predict a
round trip follow one lifecycle per call:

* **begin** opens it (an id may begin once per stream);
* **args** text streams in; args text after the call settled is dropped;
* it **settles** once, at its args finish or when a result or a closing frame
  comes first. The settling text is the finish's trailing text, or ``"{}"``
  when the call never got any args text, so a client always parses an object;
* a result **answers** it (so does a denial);
* a call begun in an earlier response of the same message is **resumed**
  (:class:`~assistant_stream_core.chunks.ToolCallResumeChunk`): it is
  recorded settled, and only its answer may follow.

:class:`ToolCallLedger` keeps those records in begin order and raises the
two errors every encoder raises, with the same words: a chunk naming an id
that never began, and a second begin for an id. A record also carries the
bytes an encoder prebuilds for the call (``head``) and the call's place in
its message (``index``); a ledger made with ``keep_args=True`` keeps the args
text itself, for those that must parse it.

An encoder's writers run once per chunk, so the ledger's two dicts are
readable attributes (:attr:`ToolCallLedger.calls`, :attr:`ToolCallLedger.open`):
a hot writer looks a call up with one ``dict.get`` and asks whether any call
is open with one truth test, where a method call would cost more than the
lookup itself. Changes still go through the methods.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from .errors import ChunkEncodeError

__all__ = ["ToolCall", "ToolCallLedger"]


class ToolCall(msgspec.Struct, gc=False):
    """One tool call: its id and name, how far it got, and its owner's extras.

    A Struct without GC tracking: built in C, small, once per call.
    """

    tool_call_id: str
    name: str
    #: The call's place in its message (a part index, an OpenAI ``index``).
    index: int = 0
    #: Bytes an encoder prebuilt for the call's frames.
    head: bytes = b""
    #: Whether any non-empty args text arrived.
    has_args: bool = False
    settled: bool = False
    answered: bool = False
    #: Begun in an earlier response (a resume), not in this stream.
    resumed: bool = False
    #: The args text so far, when the ledger keeps it.
    args: list[str] | None = None
    #: Anything else its owner keeps per call (the accumulator: its args parser).
    data: Any = None

    def final_args(self, rest: str) -> str:
        """The text that settles the call: ``rest``, or ``"{}"`` if it had no args at all."""
        if not rest and not self.has_args:
            return "{}"
        return rest

    @property
    def args_text(self) -> str:
        """The args text so far (a ledger with ``keep_args=True``)."""
        return "".join(self.args) if self.args else ""


class ToolCallLedger(msgspec.Struct, kw_only=True):
    """The tool calls of one stream, in begin order.

    Encoders use it so that a chunk that fails to encode changes nothing:
    :meth:`get` (or :meth:`check_new`) before writing frames, :meth:`add`,
    :meth:`record_args` and :meth:`settle` once they are written. :meth:`add`
    raises for an id that already began without recording anything, so a
    writer may also write a begin's frames first and let :meth:`add` refuse
    them (the encoder then drops the frames, see
    :class:`~assistant_stream_core.protocols._encoder.EncoderBase`).

    A Struct, so that making one (an encoder makes one per response) runs no
    Python ``__init__``.
    """

    #: Every call by id, in begin order. Read only: change it through the methods.
    calls: dict[str, ToolCall] = msgspec.field(default_factory=dict)
    #: The calls not settled yet, by id, in begin order. Read only, like
    #: :attr:`calls`; kept apart so that closing them never scans every call.
    open: dict[str, ToolCall] = msgspec.field(default_factory=dict)
    #: Whether each call keeps its args text (:attr:`ToolCall.args`).
    keep_args: bool = False

    def __len__(self) -> int:
        return len(self.calls)

    def __contains__(self, tool_call_id: object) -> bool:
        return tool_call_id in self.calls

    def __iter__(self) -> Iterator[ToolCall]:
        return iter(self.calls.values())

    def check_new(self, tool_call_id: str) -> None:
        """Raise :class:`ChunkEncodeError` if ``tool_call_id`` already began."""
        if tool_call_id in self.calls:
            raise ChunkEncodeError(
                f"cannot encode tool-call-begin chunk: tool_call_id {tool_call_id!r} "
                "was already used in this stream"
            )

    def add(self, tool_call_id: str, name: str, index: int = 0, head: bytes = b"") -> ToolCall:
        """Record a begun call; return its record.

        Raises :class:`ChunkEncodeError` (as :meth:`check_new`), recording
        nothing, if ``tool_call_id`` already began.
        """
        if tool_call_id in self.calls:
            self.check_new(tool_call_id)
        call = ToolCall(tool_call_id, name, index, head)
        if self.keep_args:
            call.args = []
        self.calls[tool_call_id] = self.open[tool_call_id] = call
        return call

    def resume(self, tool_call_id: str) -> ToolCall:
        """Record a call resumed from an earlier response: settled, without a name."""
        self.check_new(tool_call_id)
        call = ToolCall(tool_call_id, "", settled=True, resumed=True)
        self.calls[tool_call_id] = call
        return call

    def get(self, chunk_type: str, tool_call_id: str) -> ToolCall:
        """The call ``tool_call_id``; :class:`ChunkEncodeError` naming ``chunk_type`` if unknown."""
        call = self.calls.get(tool_call_id)
        if call is None:
            error = ChunkEncodeError(
                f"cannot encode {chunk_type} chunk: unknown tool_call_id {tool_call_id!r} "
                "(no tool-call-begin for it in this stream)"
            )
            error.chunk_type = chunk_type
            raise error
        return call

    def find(self, tool_call_id: str) -> ToolCall | None:
        """The call ``tool_call_id``, or ``None``."""
        return self.calls.get(tool_call_id)

    def record_args(self, call: ToolCall, text: str) -> None:
        """Record args text written for an unsettled call."""
        if text:
            call.has_args = True
            if call.args is not None:
                call.args.append(text)

    def settle(self, call: ToolCall) -> None:
        """Mark ``call`` settled (its final args frames are written)."""
        call.settled = True
        self.open.pop(call.tool_call_id, None)

    def unsettled(self) -> list[ToolCall]:
        """The calls not settled yet, in begin order (a copy: settle them while iterating)."""
        return list(self.open.values())

    @property
    def any_unsettled(self) -> bool:
        """Whether some call has not settled."""
        return bool(self.open)

    @property
    def any_unanswered(self) -> bool:
        """Whether some call has no result."""
        return any(not call.answered for call in self.calls.values())

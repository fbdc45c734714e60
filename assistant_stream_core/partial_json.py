"""Parse JSON that is still streaming: a tool call's args text, cut anywhere.

The accumulator shows a tool call's arguments while they stream, as the TS
client does: the text so far is completed (open strings and containers
closed, an unfinished literal finished, a key without a value dropped) and
parsed. :class:`PartialJson` does it incrementally for one call.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from .limits import MAX_JSON_DEPTH, json_depth

__all__ = ["PartialJson", "parse_partial_json"]

_JSON = msgspec.json.Decoder()

_LITERALS = {"t": "true", "f": "false", "n": "null"}
_WHITESPACE = frozenset(" \t\r\n")
_NUMBER = re.compile(r"[-+0-9.eE]*")
# A string's body up to its closing quote (or a lone backslash at the end).
_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)


def _cut_partial_escape(body: str) -> str:
    """Drop an escape sequence cut short at the end of a string's body."""
    k = 0
    while k < len(body):
        if body[k] == "\\":
            width = 6 if body[k + 1 : k + 2] == "u" else 2
            if k + width > len(body):
                return body[:k]
            k += width
        else:
            k += 1
    return body


class _JsonCompleter:
    """Closes JSON text cut anywhere, incrementally.

    Each call gets the text so far (an extension of the previous call's) and
    scans only what it has not scanned: whole tokens are consumed for good, a
    token the end of the text cuts short is looked at again next time. So
    streaming args text of length n costs O(n) here, not O(n²).
    """

    __slots__ = ("_broken", "_closers", "_expect_key", "_pos", "_safe")

    def __init__(self) -> None:
        self._pos = 0
        self._closers: list[str] = []  # the open containers' closing brackets
        self._expect_key: list[bool] = []  # per open container: is the next string a key?
        # The longest prefix that is valid JSON once the containers open at
        # that point close: (end, closing brackets).
        self._safe: tuple[int, str] | None = None
        self._broken = False

    def _closing(self) -> str:
        return "".join(reversed(self._closers))

    def complete(self, text: str) -> str | None:
        """Return ``text`` closed as valid JSON, or ``None`` if it cannot be."""
        if self._broken:
            return None
        closers, expect_key = self._closers, self._expect_key
        i, n = self._pos, len(text)
        while i < n:
            self._pos = i  # everything before ``i`` is consumed
            c = text[i]
            if c in _WHITESPACE:
                i += 1
            elif c in "{[":
                closers.append("}" if c == "{" else "]")
                expect_key.append(c == "{")
                i += 1
                self._safe = (i, self._closing())
            elif c in "}]":
                if not closers or closers[-1] != c:
                    self._broken = True
                    return None
                closers.pop()
                expect_key.pop()
                i += 1
                self._safe = (i, self._closing())
            elif c == ",":
                if closers and closers[-1] == "}":
                    expect_key[-1] = True
                i += 1
            elif c == ":":
                if expect_key:
                    expect_key[-1] = False
                i += 1
            elif c == '"':
                is_key = bool(expect_key) and expect_key[-1]
                end = _STRING_BODY.match(text, i + 1).end()  # type: ignore[union-attr]
                if end >= n or text[end] != '"':  # cut inside the string
                    if is_key:  # a key without its value is dropped
                        break
                    body = _cut_partial_escape(text[i + 1 :])
                    return text[: i + 1] + body + '"' + self._closing()
                i = end + 1
                if not is_key:
                    self._safe = (i, self._closing())
            elif c in _LITERALS:
                literal = _LITERALS[c]
                found = text[i : i + len(literal)]
                if not literal.startswith(found):
                    self._broken = True
                    return None
                if len(found) < len(literal):  # cut inside the literal
                    return text + literal[len(found) :] + self._closing()
                i += len(literal)
                self._safe = (i, self._closing())
            elif c in "-+0123456789.eE":
                end = _NUMBER.match(text, i).end()  # type: ignore[union-attr]
                if end == n:  # the number may go on: finish it here, keep it open
                    number = text[i:end].rstrip("+-.eE")
                    if number and number[-1].isdigit():
                        return text[:i] + number + self._closing()
                    break
                i = end
                self._safe = (i, self._closing())
            else:
                self._broken = True
                return None
        else:
            self._pos = n
        if self._safe is None:
            return None
        end, suffix = self._safe
        return text[:end] + suffix


class PartialJson:
    """Parses one tool call's args text as it streams; see :func:`parse_partial_json`.

    Each :meth:`parse` gets the text so far, an extension of the previous
    call's: only what is new is scanned.
    """

    __slots__ = ("_completer",)

    def __init__(self) -> None:
        self._completer = _JsonCompleter()

    def parse(self, text: str) -> Any | None:
        """The value of ``text``, completed if cut short, or ``None``."""
        if text == "":
            return {}
        if json_depth(text, MAX_JSON_DEPTH):
            # Counted, not left to the parser's guard: the interpreter's
            # recursion limit, which differs by Python version.
            return None
        try:
            value = _JSON.decode(text)
        except msgspec.DecodeError:
            completed = self._completer.complete(text)
            if completed is None:
                return None
            try:
                value = _JSON.decode(completed)
            except msgspec.DecodeError:
                return None
        return value if isinstance(value, (dict, list)) else None


def parse_partial_json(text: str) -> Any | None:
    """Parse tool-call args text that may still be streaming.

    Complete JSON is parsed as is; JSON cut short is completed first (open
    strings and containers closed, an unfinished literal finished, a key
    without a value dropped). Like the TS client, only an object or array
    counts; anything else (or text that cannot be completed, or that nests
    deeper than :data:`~assistant_stream_core.limits.MAX_JSON_DEPTH`) returns
    ``None``. ``""`` gives ``{}``.
    """
    return PartialJson().parse(text)

"""The bounds the library puts on hostile or careless input, and the checks behind them.

Two bounds on nesting, one rule for text; ``docs/errors.rst`` lists them with
the line and event size limits of the decoders.

* :data:`MAX_JSON_DEPTH` — the deepest JSON a decoder accepts in one line or
  event, and the deepest request body a request reader accepts. Deeper input
  raises :class:`~assistant_stream_core.errors.ProtocolError` and fails the
  decoder, or :class:`~assistant_stream_core.errors.RequestError` (a 400).
  Without the bound, a few kilobytes of ``[[[[…`` would exhaust the
  interpreter's stack and escape as :class:`RecursionError` — at a depth
  that differs by interpreter (about 1,000 on Python 3.10 and 3.11, 1,500 on
  3.12, far more on 3.13), so the bound is counted, never left to the stack.
* :data:`MAX_STATE_DEPTH` — the deepest state path, counting its segments
  plus the nesting of the value written there, and the deepest JSON value a
  run's controller accepts (``add_data``, tool results, annotations). Deeper
  state raises :class:`~assistant_stream_core.errors.StateError`; a deeper
  value a :class:`ValueError`. Twice it (a path and a value each at the
  bound) is still below :data:`MAX_JSON_DEPTH`, so every frame a run
  produces can be read back by this library's decoders.
* Text: a Python ``str`` can hold a lone surrogate (``"\\ud800"``, which
  ``json.loads('"\\\\ud800"')`` produces), but UTF-8 cannot carry it. Every
  string that enters the library through a run's controller or an encoder's
  constructor is checked with :func:`check_text`; the error names the
  argument, so the callback learns of it at the call and the stream goes on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import accumulate
from typing import Any, Final

import msgspec

from .errors import ProtocolError

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_STATE_DEPTH",
    "TOO_DEEP",
    "check_frame_depth",
    "check_json_value",
    "check_optional_text",
    "check_text",
    "json_depth",
    "lone_surrogate",
    "value_depth",
]

#: The deepest JSON nesting a decoder accepts in one frame (``[[1]]`` is 2).
MAX_JSON_DEPTH: Final = 512

#: The deepest state (path segments plus the value's nesting) and JSON value
#: a run's controller accepts.
MAX_STATE_DEPTH: Final = 200

#: The message of the :class:`~assistant_stream_core.errors.ProtocolError` for too deep JSON.
TOO_DEEP: Final = f"JSON nested deeper than the limit of {MAX_JSON_DEPTH} levels"

_STEP: Final = {ord("["): 1, ord("]"): -1}
_SAME_BRACKETS: Final = bytes.maketrans(b"{}", b"[]")
_ESCAPE: Final = re.compile(rb"\\.", re.DOTALL)
_NOT_OPENING: Final = bytes(b for b in range(256) if b not in b"[{")
_NOT_BRACKET_OR_QUOTE: Final = bytes(b for b in range(256) if b not in b'[]{}"')


def json_depth(text: str | bytes | bytearray, limit: int) -> int:
    """The nesting depth of the JSON ``text`` if it is above ``limit``, else ``0``.

    Linear in the length of ``text`` and cheap in the common case: when
    ``text`` holds no more than ``limit`` opening brackets it cannot nest
    deeper, and only those are counted. Brackets inside JSON strings do not
    count. Invalid JSON gives some depth or ``0``; the JSON parser that runs
    next rejects it either way.
    """
    if isinstance(text, str):
        if text.count("[") + text.count("{") <= limit:
            return 0
        text = text.encode("utf-8", "surrogatepass")
    elif len(text.translate(None, _NOT_OPENING)) <= limit:  # one pass, not two counts
        return 0
    # Everything here runs in C. Escapes go first, a backslash and the byte
    # after it, as a JSON string reads them from the left; then all but
    # brackets and quotes. What is left of each string is a quote, brackets
    # or nothing, a quote.
    if b"\\" in text:
        text = _ESCAPE.sub(b"", text)
    kept = text.translate(_SAME_BRACKETS, _NOT_BRACKET_OR_QUOTE)
    # Dropping two quotes in a row leaves every other byte on its side of
    # the string boundaries, and drops each string without brackets whole.
    # What is left of strings that hold brackets goes by splitting at the
    # quotes: every other piece was inside a string.
    brackets = kept.replace(b'""', b"")
    if b'"' in brackets:
        brackets = b"".join(brackets.split(b'"')[::2])
    # Each pass removes the innermost pairs, one level of nesting; passes go
    # on while they shrink the text by a quarter (so they cost at most four
    # times its length), and a running count finishes what is left.
    peeled = 0
    while brackets:
        inner = brackets.replace(b"[]", b"")
        if len(inner) * 4 > len(brackets) * 3:
            break
        brackets, peeled = inner, peeled + 1
    depth = peeled + max(accumulate(map(_STEP.__getitem__, brackets)), default=0)
    return depth if depth > limit else 0


def value_depth(value: Any, limit: int) -> int:
    """``limit + 1`` if the parsed JSON ``value`` nests deeper than ``limit``, else ``0``.

    For a value that arrives already parsed (dicts and lists), where
    :func:`json_depth` has no text to count. Walked with a stack of its own,
    never the interpreter's, so the answer is the same on every Python; the
    walk stops at the first container past ``limit``, which also ends it on
    a value that contains itself. A scalar is depth 0, ``[]`` depth 1.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Iterable[Any] = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return 0


def check_frame_depth(text: str, offset: int | None = None) -> None:
    """Raise :class:`~assistant_stream_core.errors.ProtocolError` for JSON deeper than
    :data:`MAX_JSON_DEPTH` (``offset``: where the frame starts in the stream)."""
    depth = json_depth(text, MAX_JSON_DEPTH)
    if depth:
        raise ProtocolError(f"{TOO_DEEP} (found {depth})", offset=offset)


def lone_surrogate(text: str) -> int:
    """The index of the first surrogate code point in ``text``, or ``-1``.

    A Python ``str`` never holds a valid surrogate *pair* (those are decoded
    into one code point), so any surrogate is a lone one.
    """
    if text.isascii():  # constant time: CPython keeps the flag
        return -1
    try:
        # Surrogates are the only code points strict UTF-8 refuses, and the
        # codec scans several times faster than a regular expression.
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return -1


def check_text(text: str, name: str) -> None:
    """Raise :class:`ValueError` naming ``name`` if ``text`` holds a lone surrogate."""
    index = lone_surrogate(text)
    if index >= 0:
        raise ValueError(
            f"{name} holds the lone surrogate {text[index]!r} at index {index}, "
            "which UTF-8 cannot carry"
        )


def check_optional_text(text: str | None, name: str) -> None:
    """:func:`check_text`, letting ``None`` through."""
    if text is not None:
        check_text(text, name)


def check_json_value(value: Any, name: str, max_depth: int = MAX_STATE_DEPTH) -> None:
    """Raise unless ``value`` can go on the wire as JSON: for encoders' arguments.

    :raises TypeError: ``value`` holds something JSON cannot carry.
    :raises ValueError: a string in it holds a lone surrogate, or it nests
        deeper than ``max_depth``.
    """
    if value is None or type(value) in (int, bool, float):
        return
    if type(value) is str:
        check_text(value, name)
        return
    try:
        data = msgspec.json.encode(value)
    except UnicodeEncodeError:
        raise ValueError(f"{name} holds a lone surrogate, which UTF-8 cannot carry") from None
    except RecursionError:
        raise ValueError(f"{name} nests deeper than the limit of {max_depth} levels") from None
    except TypeError as exc:
        raise TypeError(f"{name} is not JSON-serialisable: {exc}") from None
    depth = json_depth(data, max_depth)
    if depth:
        raise ValueError(f"{name} nests {depth} levels deep, deeper than the limit of {max_depth}")

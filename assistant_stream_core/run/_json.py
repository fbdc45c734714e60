"""Call-site checks that a value can go on the wire as JSON.

Values are checked with one reused :class:`msgspec.json.Encoder` — the same
library the encoders use, so "accepted here" means "encodable there". msgspec
writes non-finite floats as ``null``; the wire must never carry them silently
(docs/architecture.rst, "Compact JSON"), so when the encoded bytes contain ``null`` the value
is walked once more to tell a real ``None`` from a ``NaN``/``Infinity``. The
common case — no ``null`` at all — costs one encode. The encoded bytes also
bound the value's nesting (:data:`~assistant_stream_core.limits.MAX_STATE_DEPTH`);
a string holding a lone surrogate, which UTF-8 cannot carry, fails the encode
and is then named.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import msgspec

from ..limits import MAX_STATE_DEPTH, check_text, json_depth

__all__ = ["check_json", "json_copy", "make_encoder", "unencodable"]


def unencodable(obj: Any) -> TypeError:
    """The error for a value JSON cannot carry, with the fix when there is a usual one."""
    # A Pydantic model (FastAPI's request and response types) is the common case.
    hint = "; pass its .model_dump(mode='json')" if hasattr(obj, "model_dump") else ""
    return TypeError(f"objects of type {type(obj).__name__} are not JSON-serialisable{hint}")


def _default_hook(obj: Any) -> Any:
    raise unencodable(obj)


def make_encoder(enc_hook: Callable[[Any], Any] = _default_hook) -> msgspec.json.Encoder:
    """A reusable encoder whose hook rejects unknown types with a clear message."""
    return msgspec.json.Encoder(enc_hook=enc_hook)


_ENCODER = make_encoder()


def _check_finite(value: Any, what: str) -> None:
    if type(value) is float:
        if not math.isfinite(value):
            raise ValueError(
                f"{what} contains the non-finite number {value!r}, which JSON cannot carry"
            )
    elif isinstance(value, dict):
        for item in value.values():
            _check_finite(item, what)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_finite(item, what)


def check_json(
    value: Any,
    what: str,
    encoder: msgspec.json.Encoder = _ENCODER,
    path_depth: int = 0,
    error: type[ValueError] = ValueError,
) -> bytes | None:
    """Raise unless ``value`` encodes as JSON; return the encoded bytes (``None`` for scalars).

    :raises TypeError: ``value`` holds something JSON cannot carry (``what``
        names the argument).
    :raises ValueError: ``value`` holds ``NaN`` or an infinity, or a string
        with a lone surrogate; ``error`` (a :class:`ValueError` subclass) if
        it nests deeper than :data:`~assistant_stream_core.limits.MAX_STATE_DEPTH`
        less ``path_depth`` (the segments of the state path it is written at).
    """
    kind = type(value)
    if kind is str:
        check_text(value, what)
        return None
    if kind is int or kind is bool or value is None:
        return None
    if kind is float:
        _check_finite(value, what)
        return None
    try:
        data = encoder.encode(value)
    except TypeError as exc:
        raise TypeError(f"{what} is not JSON-serialisable: {exc}") from None
    except UnicodeEncodeError:
        with contextlib.suppress(RecursionError):
            _check_strings(msgspec.to_builtins(value), what)  # names the string
        raise ValueError(f"{what} holds a lone surrogate, which UTF-8 cannot carry") from None
    except RecursionError:
        raise error(_too_deep(what, None, path_depth)) from None
    depth = json_depth(data, MAX_STATE_DEPTH - path_depth)
    if depth:
        raise error(_too_deep(what, depth, path_depth))
    if b"null" in data:
        _check_finite(msgspec.to_builtins(value), what)
    return data


def _too_deep(what: str, depth: int | None, path_depth: int) -> str:
    nesting = "nests too deep to encode" if depth is None else f"nests {depth} levels"
    where = f" under a path of {path_depth} segments" if path_depth else ""
    return f"{what} {nesting}{where}, deeper than the limit of {MAX_STATE_DEPTH} levels"


def _check_strings(value: Any, what: str) -> None:
    # Only reached when encoding failed, to name the string that made it fail.
    if isinstance(value, str):
        check_text(value, f"a string in {what}")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, f"a key in {what}")
            _check_strings(item, what)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_strings(item, what)


def json_copy(
    value: Any,
    what: str,
    encoder: msgspec.json.Encoder = _ENCODER,
    path_depth: int = 0,
    error: type[ValueError] = ValueError,
) -> Any:
    """Check ``value`` like :func:`check_json` and return a deep copy made of JSON types."""
    data = check_json(value, what, encoder, path_depth, error)
    if data is None:
        return value
    return msgspec.json.decode(data)

"""Call-site checks that a value can go on the wire as JSON.

Values are checked with one reused :class:`msgspec.json.Encoder` — the same
library the encoders use, so "accepted here" means "encodable there". msgspec
writes non-finite floats as ``null``; the wire must never carry them silently
(docs/architecture.rst, "Compact JSON"), so when the encoded bytes contain ``null`` the value
is walked once more to tell a real ``None`` from a ``NaN``/``Infinity``. The
common case — no ``null`` at all — costs one encode.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["check_json", "json_copy", "make_encoder"]


def _default_hook(obj: Any) -> Any:
    raise TypeError(f"objects of type {type(obj).__name__} are not JSON-serialisable")


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


def check_json(value: Any, what: str, encoder: msgspec.json.Encoder = _ENCODER) -> bytes | None:
    """Raise unless ``value`` encodes as JSON; return the encoded bytes (``None`` for scalars).

    :raises TypeError: ``value`` holds something JSON cannot carry (``what``
        names the argument).
    :raises ValueError: ``value`` holds ``NaN`` or an infinity.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return None
    if kind is float:
        _check_finite(value, what)
        return None
    try:
        data = encoder.encode(value)
    except TypeError as exc:
        raise TypeError(f"{what} is not JSON-serialisable: {exc}") from None
    if b"null" in data:
        _check_finite(msgspec.to_builtins(value), what)
    return data


def json_copy(value: Any, what: str, encoder: msgspec.json.Encoder = _ENCODER) -> Any:
    """Check ``value`` like :func:`check_json` and return a deep copy made of JSON types."""
    data = check_json(value, what, encoder)
    if data is None:
        return value
    return msgspec.json.decode(data)

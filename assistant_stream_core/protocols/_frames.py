"""Helpers the encoders and decoders share: the JSON encoder, errors that name
the field at fault, frame splitting and JSON decoding."""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from ..chunks import Chunk
from ..errors import ChunkEncodeError, ProtocolError, StateError
from ..state import Operation, coerce_operation

__all__ = [
    "decode_frame",
    "decode_object",
    "decode_operations",
    "encode_error",
    "json_encoder",
    "parent_or_none",
    "split_frames",
    "union",
    "wire_types",
]

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)


def _enc_hook(value: Any) -> Any:
    raise TypeError(f"objects of type {type(value).__name__} are not JSON-serialisable")


def json_encoder() -> msgspec.json.Encoder:
    """The encoder every protocol reuses: compact UTF-8, NaN and infinities as ``null``."""
    return msgspec.json.Encoder(enc_hook=_enc_hook)


def parent_or_none(parent_id: str | None) -> str | None:
    """An empty ``parent_id`` means no parent: return ``None`` for it."""
    return parent_id or None


def split_frames(data: bytes, end: bytes) -> bytes | list[bytes]:
    """Split encoded bytes at ``end`` (JSON payloads never hold a raw newline).

    Exactly one frame comes back as ``bytes`` itself, anything else as a list
    (empty for ``b""``): the shape of the encoders' ``encode_frames``.
    """
    parts = data.split(end)
    if len(parts) == 2:
        return data
    return [part + end for part in parts[:-1]]


def encode_error(chunk: Chunk, exc: Exception, partial: bytes) -> ChunkEncodeError:
    """Describe why ``chunk`` could not be encoded, naming its type and field."""
    fields = [name for name in chunk.__struct_fields__ if _unencodable(getattr(chunk, name))]
    where = f" field {fields[0]!r}" if fields else ""
    error = ChunkEncodeError(f"cannot encode {chunk.type} chunk:{where} {exc}")
    error.chunk_type = chunk.type
    error.field = fields[0] if fields else None
    error.partial = partial
    return error


def _unencodable(value: Any) -> bool:
    try:
        msgspec.json.encode(value, enc_hook=_enc_hook)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return True
    return False


def wire_types(base: type[S]) -> dict[str | int | None, type[S]]:
    """The tagged Structs deriving from ``base`` that have no subclass, by tag.

    Every frame of a module derives from one base: this lists them for the
    decoder without writing the list a second time.
    """
    return {cls.__struct_config__.tag: cls for cls in _leaves(base)}


def _leaves(cls: type[S]) -> list[type[S]]:
    subclasses = cls.__subclasses__()
    return [leaf for sub in subclasses for leaf in _leaves(sub)] if subclasses else [cls]


def union(types: Iterable[type[Any]]) -> Any:
    """``A | B | ...``: the type that decodes any of ``types`` (a tagged union)."""
    return functools.reduce(operator.or_, types)


def decode_frame(
    decoder: msgspec.json.Decoder[T], text: str, what: str, offset: int | None = None
) -> T:
    """Decode one frame's JSON, turning every failure into :class:`ProtocolError`."""
    try:
        return decoder.decode(text)
    except msgspec.ValidationError as exc:
        # msgspec validates while parsing: tell "not JSON" apart from "wrong shape".
        try:
            msgspec.json.decode(text)
        except msgspec.DecodeError as syntax:
            raise ProtocolError(f"{what} is not valid JSON: {syntax}", offset=offset) from None
        raise ProtocolError(f"invalid {what}: {exc}", offset=offset) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"{what} is not valid JSON: {exc}", offset=offset) from None


_OBJECT = msgspec.json.Decoder(dict[str, Any])


def decode_object(data: str | bytes, what: str, offset: int | None = None) -> dict[str, Any]:
    """Decode a frame that must be a JSON object, or raise :class:`ProtocolError`."""
    try:
        return _OBJECT.decode(data)
    except msgspec.ValidationError:
        raise ProtocolError(f"{what} is not a JSON object", offset=offset) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"{what} is not valid JSON ({exc})", offset=offset) from None


def decode_operations(
    raw: list[dict[str, Any]], what: str, offset: int | None = None
) -> list[Operation]:
    """Turn a frame's decoded state operations into Structs, or raise :class:`ProtocolError`."""
    try:
        return [coerce_operation(op) for op in raw]
    except (StateError, TypeError, ValueError, KeyError) as exc:
        raise ProtocolError(f"invalid {what} operation: {exc}", offset=offset) from None

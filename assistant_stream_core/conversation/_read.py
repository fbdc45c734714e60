"""Reading a request body: the size limit, JSON, and errors that name the field."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from ..errors import RequestError
from ..limits import MAX_JSON_DEPTH, json_depth, value_depth
from .model import FilePart

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "Body",
    "convert",
    "data_url",
    "file_from_url",
    "json_text",
    "parse_args",
    "read_request",
]

#: The largest request body read by default: 8 MiB (a few inline images).
DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024

#: A request body: the raw bytes (or text) of the JSON, or the parsed object.
Body = bytes | bytearray | memoryview | str | Mapping[str, Any]

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)

_AT = re.compile(r"^(.*) - at `\$(.*)`$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(.*)`$")
_DATA_URL = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*?);base64,(.*)$", re.DOTALL | re.IGNORECASE)

_TOO_DEEP = f"the request body nests deeper than the limit of {MAX_JSON_DEPTH} levels"

_top_level = msgspec.json.Decoder(dict[str, msgspec.Raw])
_encoder = msgspec.json.Encoder()


def _join(prefix: str, rest: str) -> str:
    path = f"{prefix}{rest}"
    return path[1:] if path.startswith(".") else path


def _field_error(exc: msgspec.ValidationError, path: str) -> RequestError:
    """The :class:`RequestError` for ``exc``, naming its field under ``path``."""
    message, field = str(exc), path
    match = _AT.match(message)
    if match:
        message, field = match.group(1), _join(path, match.group(2))
    missing = _MISSING.match(message)
    if missing:
        message = "required field is missing"
        field = _join(field, f".{missing.group(1)}") if field else missing.group(1)
    return RequestError(message, field=field or None)


def convert(obj: Any, type_: type[T], path: str) -> T:
    """``msgspec.convert``, raising :class:`RequestError` that names the field under ``path``."""
    try:
        return msgspec.convert(obj, type_)
    except msgspec.ValidationError as exc:
        raise _field_error(exc, path) from None
    except RecursionError:  # only on a caller's own deep stack: read_request bounds depth
        raise RequestError("the value is nested too deeply", field=path or None) from None


def read_request(
    body: Body, type_: type[S], known: frozenset[str], *, max_bytes: int
) -> tuple[S, dict[str, Any]]:
    """Check the size and depth of ``body`` and read it as the JSON object ``type_``.

    Returns the request and the top-level fields not in ``known`` (the
    extras) as parsed JSON.
    """
    if isinstance(body, Mapping):
        if value_depth(body, MAX_JSON_DEPTH):
            raise RequestError(_TOO_DEEP)
        obj = dict(body)
        return convert(obj, type_, ""), {k: v for k, v in obj.items() if k not in known}
    if isinstance(body, str):
        body = body.encode()
    elif isinstance(body, memoryview):
        body = body.tobytes()
    if len(body) > max_bytes:
        raise RequestError(
            f"the request body is {len(body)} bytes, more than the limit of {max_bytes}",
            status=413,
        )
    # Counted before parsing: the parser's own guard is the interpreter's
    # recursion limit, which differs by Python version (see limits.py).
    depth = json_depth(body, MAX_JSON_DEPTH)
    if depth:
        raise RequestError(f"{_TOO_DEEP} (found {depth})")
    try:
        # The top level is split without parsing its values; the fields of
        # ``type_`` go back together (msgspec writes Raw values as they are) to
        # be parsed once, straight into typed structs; the extras into dicts.
        fields = _top_level.decode(body)
    except msgspec.ValidationError:
        raise RequestError("the request body is not a JSON object") from None
    except msgspec.DecodeError as exc:
        raise RequestError(f"the request body is not valid JSON ({exc})") from None
    names = {field.encode_name for field in msgspec.structs.fields(type_)}
    ours = _encoder.encode({k: v for k, v in fields.items() if k in names})
    try:
        extras = {k: msgspec.json.decode(v) for k, v in fields.items() if k not in known}
        return msgspec.json.decode(ours, type=type_), extras
    except msgspec.ValidationError as exc:
        raise _field_error(exc, "") from None
    except msgspec.DecodeError as exc:
        raise RequestError(f"the request body is not valid JSON ({exc})") from None
    except RecursionError:  # only on a caller's own deep stack
        raise RequestError(_TOO_DEEP) from None


def json_text(value: Any) -> str:
    """``value`` as compact JSON text."""
    return _encoder.encode(value).decode()


def parse_args(text: str) -> tuple[Any, str | None]:
    """Tool-call arguments text → ``(args, None)``, or ``(None, text)`` when it is not JSON."""
    if not text:
        return {}, None
    try:
        return msgspec.json.decode(text), None
    except msgspec.DecodeError:
        return None, text


def args_text(args: Any, raw: str | None) -> str:
    """The arguments of a tool call as the JSON text a model wrote."""
    return raw if raw is not None else json_text({} if args is None else args)


def file_from_url(url: str, media_type: str | None, filename: str | None, field: str) -> FilePart:
    """A file given as a URL: a ``data:`` URL is read into base64 ``data``."""
    match = _DATA_URL.match(url)
    if match:
        payload = match.group(3)
        try:
            base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError("the data URL does not hold valid base64", field=field) from None
        return FilePart(
            media_type=media_type or match.group(1) or "application/octet-stream",
            data=payload,
            filename=filename,
        )
    return FilePart(media_type=media_type or "application/octet-stream", url=url, filename=filename)


def data_url(part: FilePart) -> str:
    """The file as one URL: its ``url``, or a base64 ``data:`` URL of its data."""
    if part.url is not None:
        return part.url
    return f"data:{part.media_type};base64,{part.data or ''}"

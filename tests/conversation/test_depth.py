"""A request body's nesting is bounded by a count, the same on every Python.

The bound used to be the interpreter's recursion limit: about 1,000 levels on
Python 3.10 and 3.11, 1,500 on 3.12 and far more on 3.13, so the same body was
a 400 on one and a Conversation on another.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from assistant_stream_core.conversation import REQUEST_PROTOCOLS, Conversation, decode_request
from assistant_stream_core.errors import RequestError
from assistant_stream_core.limits import MAX_JSON_DEPTH, value_depth

PROTOCOLS = sorted(REQUEST_PROTOCOLS)


def nested(levels: int) -> Any:
    """A JSON value of ``levels`` levels, objects and arrays in turn (``1`` is ``{}``)."""
    value: Any = {}
    for level in range(levels - 1):
        value = [value] if level % 2 else {"k": value}
    return value


def body_of_depth(depth: int) -> dict[str, Any]:
    """A valid request for every protocol whose JSON nests ``depth`` levels."""
    return {"messages": [], "commands": [], "state": nested(depth - 1)}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("form", ["bytes", "bytearray", "str", "memoryview", "mapping"])
def test_a_body_at_the_limit_is_read(protocol: str, form: str) -> None:
    body = body_of_depth(MAX_JSON_DEPTH)
    data = msgspec.json.encode(body)
    assert data.count(b"{") + data.count(b"[") > MAX_JSON_DEPTH  # so the depth is counted
    given: Any = {
        "bytes": data,
        "str": data.decode(),
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "mapping": body,
    }[form]
    assert isinstance(decode_request(protocol, given), Conversation)


# 513 is below every interpreter's recursion limit, 5,000 below 3.13's: the
# old code accepted both there (test_roundtrip has 100,000).
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000])
@pytest.mark.parametrize("form", ["bytes", "mapping"])
def test_a_body_past_the_limit_is_a_400_naming_it(protocol: str, depth: int, form: str) -> None:
    body = body_of_depth(depth)
    given: Any = body if form == "mapping" else _encode_deep(depth)
    with pytest.raises(RequestError) as info:
        decode_request(protocol, given)
    assert info.value.status == 400
    assert f"deeper than the limit of {MAX_JSON_DEPTH} levels" in str(info.value)


def _encode_deep(depth: int) -> bytes:
    """:func:`body_of_depth` as JSON, written out: msgspec cannot encode a
    value deeper than the interpreter's stack."""
    levels = range(depth - 2)
    opens = b"".join(b"[" if level % 2 else b'{"k":' for level in reversed(levels))
    closes = b"".join(b"]" if level % 2 else b"}" for level in levels)
    return b'{"messages":[],"commands":[],"state":' + opens + b"{}" + closes + b"}"


def test_the_written_out_body_is_the_value() -> None:
    assert msgspec.json.decode(_encode_deep(40)) == body_of_depth(40)


def test_a_body_that_contains_itself_is_a_400() -> None:
    body: dict[str, Any] = {"messages": [], "commands": []}
    body["state"] = body
    with pytest.raises(RequestError, match="deeper than the limit"):
        decode_request("assistant_transport", body)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 0),
        ("[[[[", 0),
        (nested(MAX_JSON_DEPTH), 0),
        (nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH + 1),
        ([[], [nested(MAX_JSON_DEPTH)]], MAX_JSON_DEPTH + 1),
        ((nested(10),), 0),
    ],
)
def test_value_depth(value: Any, expected: int) -> None:
    assert value_depth(value, MAX_JSON_DEPTH) == expected

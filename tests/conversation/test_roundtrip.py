"""decode(encode(c)) == c for every request protocol; fuzzed bodies raise only RequestError."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_stream_core.conversation import (
    REQUEST_PROTOCOLS,
    Conversation,
    Message,
    decode_request,
    encode_request,
    render_history,
)
from assistant_stream_core.errors import RequestError

from .strategies import CONVERSATIONS, json_value, thread_messages

PROTOCOLS = sorted(REQUEST_PROTOCOLS)
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_round_trip(protocol: str) -> None:
    @SETTINGS
    @given(CONVERSATIONS[protocol]())
    def check(conversation: Conversation) -> None:
        body = msgspec.json.encode(encode_request(protocol, conversation))
        assert decode_request(protocol, body) == conversation
        # The parsed object reads the same as its bytes.
        assert decode_request(protocol, msgspec.json.decode(body)) == conversation

    check()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_conversation_is_storable(protocol: str) -> None:
    @settings(max_examples=30, deadline=None)
    @given(CONVERSATIONS[protocol]())
    def check(conversation: Conversation) -> None:
        stored = msgspec.json.encode(conversation)
        assert msgspec.json.decode(stored, type=Conversation) == conversation

    check()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*path, index))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_mutated_bodies_raise_only_request_error(protocol: str) -> None:
    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(CONVERSATIONS[protocol](), st.data())
    def check(conversation: Conversation, data: st.DataObject) -> None:
        body = encode_request(protocol, conversation)
        path = data.draw(st.sampled_from(_paths(body)))
        mutated = _replace(body, path, data.draw(json_value))
        raw = msgspec.json.encode(mutated)
        try:
            decode_request(protocol, raw)
        except RequestError as exc:
            error = exc
        else:
            return
        assert error.status == 400
        assert msgspec.json.decode(error.to_json())["error"]["message"]

    check()


@pytest.mark.parametrize("protocol", PROTOCOLS)
@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=64) | json_value.map(msgspec.json.encode))
def test_arbitrary_bytes_raise_only_request_error(protocol: str, body: bytes) -> None:
    try:
        decode_request(protocol, body)
    except RequestError as exc:
        error = exc
    else:
        return
    assert error.status == 400


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_oversized_body_is_413(protocol: str) -> None:
    body = msgspec.json.encode({"messages": [], "commands": [], "pad": "x" * 100})
    with pytest.raises(RequestError) as info:
        decode_request(protocol, body, max_bytes=50)
    assert info.value.status == 413
    assert msgspec.json.decode(info.value.to_json())["error"]["type"] == "request_too_large"


def test_unknown_protocol() -> None:
    with pytest.raises(ValueError, match="unknown protocol"):
        decode_request("smoke_signals", b"{}")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    "body",
    [
        b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"state": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b', "messages": []}',
        b'{"messages": [{"role": "user", "content": "\\ud800"}]}',
        b'\xef\xbb\xbf{"messages": []}',
        b'{"messages": [], "x": NaN}',
    ],
    ids=["deep-array", "deep-object", "lone-surrogate", "bom", "nan"],
)
def test_pathological_bodies_are_400(protocol: str, body: bytes) -> None:
    with pytest.raises(RequestError) as info:
        decode_request(protocol, body)
    assert info.value.status == 400


def test_assistant_transport_thread_round_trip() -> None:
    """read_thread(render_history(m)) == m for the messages a ThreadMessageLike thread holds."""
    from assistant_stream_core.conversation.assistant_transport import read_thread

    @SETTINGS
    @given(thread_messages())
    def check(messages: list[Message]) -> None:
        history = msgspec.json.decode(
            msgspec.json.encode(render_history("assistant_transport", messages))
        )
        assert read_thread(history) == messages

    check()

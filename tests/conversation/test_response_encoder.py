"""response_encoder: what a response needs from the request it answers."""

from __future__ import annotations

from typing import Any

import pytest

from assistant_stream_core.chunks import TextDeltaChunk
from assistant_stream_core.conversation import decode_request, response_encoder
from assistant_stream_core.protocols.ui_message_stream import UIMessageStreamDecoder
from assistant_stream_core.run.http import make_encoder

MESSAGES = [
    {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Hi"}]},
    {"id": "a1", "role": "assistant", "parts": [{"type": "text", "text": "Hello"}]},
]


def _answer_id(body: dict[str, Any]) -> str:
    encoder = make_encoder(
        response_encoder("ui_message_stream", decode_request("ui_message_stream", body))
    )
    wire = encoder.encode(TextDeltaChunk(text_delta="Hi again")) + encoder.finish()
    decoder = UIMessageStreamDecoder()
    decoder.feed(wire)
    assert isinstance(decoder.message_id, str)
    return decoder.message_id


def test_a_regenerated_message_keeps_its_id() -> None:
    body = {"id": "c", "messages": MESSAGES[:1], "trigger": "regenerate-message", "messageId": "a1"}
    assert _answer_id(body) == "a1"


@pytest.mark.parametrize(
    "extras",
    [
        {"trigger": "submit-message"},
        {"trigger": "submit-message", "messageId": "u1"},  # an edited user message
        {"trigger": "regenerate-message"},
        {"trigger": "regenerate-message", "messageId": 7},
    ],
)
def test_every_other_answer_gets_a_new_id(extras: dict[str, Any]) -> None:
    # A request that ends with an assistant message continues it (a tool
    # answered in it; see test_a_continued_message_keeps_its_id), so these end
    # with the user's message, as ai sends them.
    answer = _answer_id({"id": "c", "messages": MESSAGES[:1], **extras})
    assert answer.startswith("msg-")
    assert answer not in ("u1", "a1")


def test_a_continued_message_keeps_its_id() -> None:
    assert _answer_id({"id": "c", "messages": MESSAGES, "trigger": "submit-message"}) == "a1"


def test_a_message_id_the_wire_cannot_carry_gets_a_new_id() -> None:
    body = {"messages": MESSAGES, "trigger": "regenerate-message", "messageId": "\ud800"}
    assert _answer_id(body).startswith("msg-")

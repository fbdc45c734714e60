"""chat_request's output checked against the openai SDK's own request types."""

from __future__ import annotations

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from assistant_stream_core.conversation import REQUEST_PROTOCOLS, Conversation, chat_request
from tests.conversation.strategies import CONVERSATIONS

MESSAGES = pydantic.TypeAdapter(list[ChatCompletionMessageParam])
TOOLS = pydantic.TypeAdapter(list[ChatCompletionToolParam])


@pytest.mark.parametrize("protocol", sorted(REQUEST_PROTOCOLS))
def test_the_request_has_the_sdks_types(protocol: str) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(CONVERSATIONS[protocol]())
    def check(conversation: Conversation) -> None:
        request = chat_request(conversation)
        # Strict: a value of the wrong type is an error, not converted.
        MESSAGES.validate_python(request["messages"], strict=True)
        TOOLS.validate_python(request.get("tools", []), strict=True)

    check()

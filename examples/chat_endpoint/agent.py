"""The half of a chat endpoint no front end changes: the model, the tools, the answer.

:func:`answer` calls an OpenAI-compatible model with the conversation a client
sent and every tool (the client's and the server's), streams its answer into a
run, runs the server's tools and calls the model again with their results,
and ends the turn when the model asks for a tool the browser runs: the
client answers it, and its next request continues the conversation.
"""

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
from openai import AsyncOpenAI

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.conversation import Conversation, Tool, chat_request
from assistant_stream_core.run import RunController, create_run, stream_chat_completion

client = AsyncOpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL"), api_key=os.environ.get("OPENAI_API_KEY", "-")
)
MODEL = os.environ.get("MODEL", "gpt-4o-mini")
#: How many times one turn may call the model (each call after server tools ran).
MAX_MODEL_CALLS = 5

#: Each front end and the protocol its client speaks.
FRONT_ENDS = {"assistant-ui": "data_stream", "ai-sdk": "ui_message_stream", "ag-ui": "ag_ui"}


def get_weather(city: str) -> dict[str, Any]:
    return {"city": city, "temp_c": 21, "sky": "clear"}


#: The tools the server runs itself, with what the model is told about them.
SERVER_TOOLS: dict[str, tuple[Callable[..., Any], Tool]] = {
    "get_weather": (
        get_weather,
        Tool(
            name="get_weather",
            description="The current weather in a city",
            parameters={
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        ),
    ),
}


def answer(conversation: Conversation) -> AsyncIterator[Chunk]:
    """The run that answers ``conversation``, as chunks for any response class."""

    async def run(controller: RunController) -> None:
        history = conversation
        tokens = [0, 0]  # input, output: the whole answer's usage
        for _ in range(MAX_MODEL_CALLS):
            stream = await client.chat.completions.create(
                model=MODEL,
                stream=True,
                stream_options={"include_usage": True},
                **chat_request(history, tools=[tool for _, tool in SERVER_TOOLS.values()]),
            )
            result = await stream_chat_completion(controller, stream, finish=None)
            ours = [call for call in result.tool_calls if call.name in SERVER_TOOLS]
            outputs = {call.id: SERVER_TOOLS[call.name][0](**(call.args or {})) for call in ours}
            for call_id, output in outputs.items():
                controller.add_tool_result(call_id, output)
            # A step: one model call and the tools it asked for.
            usage = (result.input_tokens, result.output_tokens)
            controller.add_step_finish(result.finish_reason, *usage)
            tokens = [tokens[0] + usage[0], tokens[1] + usage[1]]
            if not result.tool_calls or len(ours) < len(result.tool_calls):
                break  # the answer is complete, or the browser runs a tool
            message = result.to_message(outputs)
            history = msgspec.structs.replace(history, messages=(*history.messages, message))
        controller.add_message_finish(result.finish_reason, *tokens)

    # The run starts from the client's state: state updates go out as changes to it.
    return create_run(run, state=conversation.state)

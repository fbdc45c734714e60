"""A chat endpoint whose model must ask a person before a tool runs, in every UI protocol.

The server's ``delete_file`` tool needs approval: when the model calls it, the
run asks for approval and ends its turn. The client's next request carries
the decision; the run deletes (or not), tells the client, and lets the model
go on. Tools the client offers (frontend tools) go to the model as well; the
browser runs them and sends their results back the same way.

POST /api/{protocol}: ui_message_stream (useChat), ag_ui, data_stream, openai_chat.
Run: OPENAI_BASE_URL=http://127.0.0.1:8001/v1 uvicorn examples.human_in_the_loop:app
"""

import os

import msgspec
from assistant_stream_starlette import (
    REQUEST_ERROR_HANDLERS,
    AssistantStreamResponse,
    read_conversation,
)
from openai import AsyncOpenAI
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from assistant_stream_core.conversation import (
    REQUEST_PROTOCOLS,
    Tool,
    response_encoder,
    tool_answers,
    with_tool_results,
)
from assistant_stream_core.conversation.openai_chat import chat_request
from assistant_stream_core.run import RunController, create_run, stream_chat_completion

client = AsyncOpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL"), api_key=os.environ.get("OPENAI_API_KEY", "-")
)
MODEL = os.environ.get("MODEL", "gpt-4o-mini")

DELETE_FILE = Tool(
    name="delete_file",
    description="Delete a file",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}},
)
NEEDS_APPROVAL = {"delete_file"}


def delete_file(path: str) -> dict[str, object]:
    return {"deleted": path}


async def chat(request: Request) -> AssistantStreamResponse:
    protocol = request.path_params["protocol"]
    if protocol not in REQUEST_PROTOCOLS:
        raise HTTPException(404, f"no protocol {protocol!r}; one of {', '.join(REQUEST_PROTOCOLS)}")
    conversation = await read_conversation(request, protocol)
    # The decisions and frontend results the client sent for the last turn.
    answers = tool_answers(conversation, approval_tools=NEEDS_APPROVAL)

    async def run(controller: RunController) -> None:
        results: dict[str, object] = {}
        for answer in answers:
            if answer.approved is None:
                continue  # a frontend tool's result: the model reads it from the conversation
            controller.resume_tool_call(answer.tool_call_id)
            if answer.approved:
                results[answer.tool_call_id] = delete_file(**answer.args)
                controller.add_tool_result(answer.tool_call_id, results[answer.tool_call_id])
            else:
                controller.deny_tool_call(answer.tool_call_id)
                results[answer.tool_call_id] = f"The user denied this: {answer.reason or '-'}"
        history = with_tool_results(conversation, results)
        offered = msgspec.structs.replace(history, tools=(*history.tools, DELETE_FILE))
        stream = await client.chat.completions.create(
            model=MODEL, stream=True, **chat_request(offered)
        )
        reply = await stream_chat_completion(controller, stream)
        for call in reply.tool_calls:
            if call.name in NEEDS_APPROVAL:
                controller.request_approval(call.id, f"{call.name} cannot be undone")

    return AssistantStreamResponse(
        create_run(run, state=conversation.state), response_encoder(protocol, conversation)
    )


app = Starlette(
    routes=[Route("/api/{protocol}", chat, methods=["POST"])],
    exception_handlers=REQUEST_ERROR_HANDLERS,
)

"""A scripted assistant served in every protocol, on one port, with a chat page.

    python examples/server.py --port 8000        # then open http://127.0.0.1:8000/

No model and no API key: :func:`scripted_assistant` plays a fake model that
thinks (reasoning), answers token by token, calls a ``get_weather`` tool with
streamed arguments, records the result in the run's state and writes a final
answer. The same run function is served by one Starlette app in every wire
protocol:

=============================== ================================================
Route                           Protocol (response class)
=============================== ================================================
``/api/chat/data-stream``       assistant-ui Data Stream (``DataStreamResponse``)
``/api/chat/assistant-transport`` Assistant Transport (``AssistantTransportResponse``)
``/v1/chat/completions`` (POST) OpenAI chat completions (``OpenAIChatResponse``)
``/api/chat/ui-message-stream`` Vercel AI SDK UI Message Stream (``UIMessageStreamResponse``)
``/api/chat/ag-ui``             AG-UI events (``AGUIResponse``)
=============================== ================================================

Every chat route takes ``GET`` (``?q=…``) and ``POST`` (the body its client
sends, read by the library's request decoders: a malformed one gets a 400
with a JSON error naming the field), plus
``?fail=1`` to make the run raise midway, and ``?delay=<seconds>`` for the
pause between tokens. ``/`` is a plain-JS page that streams the Data Stream
and renders it as it arrives. ``/apps/`` links the two front ends of
``examples/frontends`` once built (``scripts/build-frontends.sh``): an
assistant-ui thread at ``/apps/assistant-ui/`` and a Vercel AI SDK
``useChat`` page at ``/apps/ai-sdk/``; pages on another local origin (Vite's
dev server) may call the routes (CORS). Try::

    curl -N 'http://127.0.0.1:8000/api/chat/data-stream?q=Weather+in+Paris'
    curl -N http://127.0.0.1:8000/v1/chat/completions -d '{"messages": []}'
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec
from assistant_stream_starlette import (
    REQUEST_ERROR_HANDLERS,
    AGUIResponse,
    AssistantStreamResponse,
    AssistantTransportResponse,
    DataStreamResponse,
    OpenAIChatResponse,
    RequestRejected,
    UIMessageStreamResponse,
    read_body,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from assistant_stream_core.chunks import (
    ReasoningDeltaChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.conversation import (
    Conversation,
    Message,
    TextPart,
    decode_request,
    render_history,
    response_encoder,
)
from assistant_stream_core.errors import RequestError
from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.state import AppendTextOperation

__all__ = ["DEFAULT_DELAY", "FAIL_MESSAGE", "create_app", "main", "scripted_assistant"]

#: Seconds between two tokens of the fake model.
DEFAULT_DELAY = 0.04
#: The message of the exception a run raises with ``?fail=1``.
FAIL_MESSAGE = "The weather service is unreachable (simulated failure)."

STATIC_DIR = Path(__file__).parent / "static"
#: Where ``examples/frontends`` builds its apps (``npm run build`` there).
FRONTENDS_DIST = Path(__file__).parent / "frontends" / "dist"
#: Pages served from any port of this machine (Vite's dev server) may call the routes.
LOCAL_ORIGINS = r"http://(localhost|127\.0\.0\.1)(:\d+)?"
_CITY = re.compile(r"\bin ([A-Z][\w-]*(?: [A-Z][\w-]*)*)")
_WEATHER = {"temp_c": 21, "sky": "clear", "wind_kmh": 12}


def _tokens(text: str) -> list[str]:
    """Split ``text`` into word-sized tokens that keep their leading space."""
    return re.findall(r"\s*\S+", text)


async def _say(append: Callable[[str], None], text: str, delay: float) -> None:
    for token in _tokens(text):
        append(token)
        # The pause is what makes the page render token by token.
        await anyio.sleep(delay)


async def scripted_assistant(
    controller: RunController, question: str, *, fail: bool = False, delay: float = DEFAULT_DELAY
) -> None:
    """The fake model: reasoning, text, a ``get_weather`` call, state, a final text.

    :param controller: the run's controller.
    :param question: the user's last message; a city after "in" is looked up.
    :param fail: raise :class:`RuntimeError` (:data:`FAIL_MESSAGE`) after the
        first sentence, to show how a failing run reaches the client.
    :param delay: seconds between tokens.
    """
    match = _CITY.search(question)
    city = match.group(1) if match else "Paris"
    controller.state["status"] = "thinking"
    await _say(
        controller.append_reasoning,
        f"The user asks: “{question}”. I need the current weather in {city}; "
        "the get_weather tool has it.",
        delay,
    )
    await _say(controller.append_text, f"Let me check the weather in {city}.", delay)
    if fail:
        raise RuntimeError(FAIL_MESSAGE)

    controller.state["status"] = "calling get_weather"
    tool = await controller.add_tool_call("get_weather")
    # Arguments stream as JSON text, as a model writes them.
    for piece in ('{"city": ', json.dumps(city), ', "unit": ', '"celsius"', "}"):
        tool.append_args_text(piece)
        await anyio.sleep(delay)
    await anyio.sleep(delay * 5)  # the "tool" takes a moment
    weather = {"city": city, **_WEATHER}
    tool.set_response(weather)
    await anyio.sleep(delay)

    controller.state["weather"] = weather
    controller.state["status"] = "done"
    await anyio.sleep(delay)
    await _say(
        controller.append_text,
        f" It is {weather['temp_c']} °C and {weather['sky']} in {city}, "
        f"with a light wind of {weather['wind_kmh']} km/h.",
        delay,
    )


#: What the assistant is asked when the request does not say.
DEFAULT_QUESTION = "What is the weather in Paris?"


async def read_request(request: Request, protocol: str) -> tuple[Conversation, str]:
    """What the client sent, and the protocol its body was read as.

    A POST body is read as ``protocol``'s request (a malformed one gets a 400
    naming the field). The plain page at ``/`` posts the Data Stream runtime's
    body (``{"messages": [...]}``) to the Assistant Transport route too, so
    an Assistant Transport body without ``commands`` is read as that. A GET
    asks ``?q=``; ``?q=`` also overrides the question of a POST.
    """
    conversation, read_as = Conversation(), protocol
    if request.method == "POST":
        body = await read_body(request)
        try:
            conversation = decode_request(protocol, body)
        except RequestError as error:
            if protocol != "assistant_transport" or error.field != "commands":
                raise RequestRejected(error) from None
            read_as = "data_stream"
            try:
                conversation = decode_request(read_as, body)
            except RequestError as again:
                raise RequestRejected(again) from None
    if "q" in request.query_params:
        asked = Message(role="user", parts=(TextPart(text=request.query_params["q"]),))
        conversation = msgspec.structs.replace(
            conversation, messages=(*conversation.messages, asked)
        )
    return conversation, read_as


def _delay(request: Request, default: float) -> float:
    try:
        delay = float(request.query_params.get("delay", default))
    except ValueError:
        return default
    # Bounded: a request must not be able to hold a run open for long.
    return min(max(delay, 0.0), 1.0) if math.isfinite(delay) else default


def create_app(*, delay: float = DEFAULT_DELAY) -> Starlette:
    """The example app: the chat page at ``/`` and one chat route per protocol.

    :param delay: the default pause between tokens, in seconds.
    """

    def chat(response_class: type[AssistantStreamResponse]) -> Callable[[Request], Any]:
        protocol = str(response_class.protocol)  # the protocol the route answers in

        async def endpoint(request: Request) -> Response:
            conversation, read_as = await read_request(request, protocol)
            question = conversation.last_user_text or DEFAULT_QUESTION
            # The front ends ask for a failure in the body ({"fail": true}).
            fail = (
                request.query_params.get("fail", "") not in ("", "0")
                or conversation.extras.get("fail") is True
            )
            pause = _delay(request, delay)

            async def run(controller: RunController) -> None:
                await scripted_assistant(controller, question, fail=fail, delay=pause)

            if read_as == "assistant_transport" and request.method == "POST":
                # An Assistant Transport front end: the thread lives in the state.
                return _thread_response(response_class, conversation, fail=fail, delay=pause)
            # The run starts from the client's state, if it sent one.
            state = conversation.state if isinstance(conversation.state, dict) else {}
            # expose_headers: a page on another origin can read the protocol headers.
            return response_class(
                create_run(run, state=state),
                response_encoder(protocol, conversation),
                expose_headers=True,
            )

        return endpoint

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    both = ["GET", "POST"]
    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/chat/data-stream", chat(DataStreamResponse), methods=both),
            Route("/api/chat/assistant-transport", chat(AssistantTransportResponse), methods=both),
            Route("/v1/chat/completions", chat(OpenAIChatResponse), methods=["POST"]),
            Route("/api/chat/ui-message-stream", chat(UIMessageStreamResponse), methods=both),
            Route("/api/chat/ag-ui", chat(AGUIResponse), methods=both),
            *_frontend_routes(),
        ],
        # A malformed request body gets a 400 with a JSON error naming the field.
        exception_handlers=REQUEST_ERROR_HANDLERS,
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origin_regex=LOCAL_ORIGINS,
                allow_methods=both,
                allow_headers=["content-type"],
            )
        ],
    )


# -- the front ends of examples/frontends ---------------------------------------


def _frontend_routes() -> list[BaseRoute]:
    """``/apps/assistant-ui/`` and ``/apps/ai-sdk/``: the built front ends, or how to build them."""
    if FRONTENDS_DIST.is_dir():
        return [Mount("/apps", StaticFiles(directory=FRONTENDS_DIST, html=True))]

    async def not_built(request: Request) -> Response:
        return PlainTextResponse(
            "The front ends are not built: run scripts/build-frontends.sh (needs Node >= 20.19).",
            status_code=404,
        )

    return [Route("/apps/{rest:path}", not_built)]


def _thread_response(
    response_class: type[AssistantStreamResponse],
    conversation: Conversation,
    *,
    fail: bool,
    delay: float,
) -> Response:
    """Answer an Assistant Transport request: its commands, and the state holding the thread."""
    state = dict(conversation.state) if isinstance(conversation.state, dict) else {}
    state.setdefault("messages", [])
    # The user messages of the add-message commands, in the thread's shape.
    asked = render_history("assistant_transport", conversation.messages)
    question = conversation.last_user_text or DEFAULT_QUESTION

    async def run(controller: RunController) -> None:
        await thread_in_state(
            controller,
            asked,
            lambda inner: scripted_assistant(inner, question, fail=fail, delay=delay),
        )

    # The run starts from the client's state: the operations apply to what it holds.
    return response_class(create_run(run, state=state), expose_headers=True)


async def thread_in_state(
    controller: RunController,
    asked: list[dict[str, Any]],
    assistant: Callable[[RunController], Any],
) -> None:
    """Keep an Assistant Transport thread in the run's state, as its front end expects.

    ``useAssistantTransportRuntime`` keeps only the state a run streams (its
    ``converter`` turns the state into messages), so the thread lives at
    ``state["messages"]`` in the shape of assistant-ui's ``ThreadMessageLike``.
    The messages ``asked`` (the ``add-message`` commands' user messages, as
    ``render_history("assistant_transport", ...)`` writes them) are appended,
    then one assistant message that follows the chunks of ``assistant`` (run
    as an inner run) part by part; that run's own state operations go to the
    outer state. A failure is recorded on the message (``status``) and re-raised.
    """
    messages = controller.state["messages"]
    for message in asked:
        messages.append(message)
    messages.append({"role": "assistant", "content": []})
    path: list[str | int] = ["messages", len(messages) - 1, "content"]
    parts = controller.state["messages"][-1]["content"]
    tools: dict[str, int] = {}  # tool call id -> part index
    args: dict[str, str] = {}
    try:
        async for chunk in create_run(assistant, state={}):
            match chunk:
                case TextDeltaChunk(text_delta=delta) | ReasoningDeltaChunk(reasoning_delta=delta):
                    kind = "text" if isinstance(chunk, TextDeltaChunk) else "reasoning"
                    if len(parts) and parts[-1]["type"] == kind:
                        controller.append_state_text([*path, len(parts) - 1, "text"], delta)
                    else:
                        parts.append({"type": kind, "text": delta})
                case ToolCallBeginChunk(tool_call_id=call_id, tool_name=name):
                    tools[call_id], args[call_id] = len(parts), ""
                    part = {"type": "tool-call", "toolCallId": call_id, "toolName": name}
                    parts.append({**part, "argsText": ""})
                case ToolCallDeltaChunk(tool_call_id=call_id, args_text_delta=delta) if delta:
                    args[call_id] += delta
                    controller.append_state_text([*path, tools[call_id], "argsText"], delta)
                case ToolCallArgsTextFinishChunk(tool_call_id=call_id, args_text_delta=delta):
                    args[call_id] += delta
                    parts[tools[call_id]]["args"] = json.loads(args[call_id] or "{}")
                case ToolResultChunk(tool_call_id=call_id, result=result, is_error=is_error):
                    parts[tools[call_id]]["result"] = result
                    parts[tools[call_id]]["isError"] = is_error
                case UpdateStateChunk(operations=operations):
                    for op in operations:
                        if isinstance(op, AppendTextOperation):
                            controller.append_state_text(op.path, op.value)
                        else:
                            *parents, key = op.path
                            target = controller.state
                            for segment in parents:
                                target = target[segment]
                            target[key] = op.value
    except Exception as exc:
        messages[-1]["status"] = {"type": "incomplete", "reason": "error", "error": str(exc)}
        raise
    messages[-1]["status"] = {"type": "complete", "reason": "stop"}


def main(argv: list[str] | None = None) -> None:
    """Serve :func:`create_app` with uvicorn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="default 8000")
    parser.add_argument("--delay", type=float, default=DEFAULT_DELAY, help="seconds between tokens")
    args = parser.parse_args(argv)
    import uvicorn

    print(f"Open http://{args.host}:{args.port}/ (Ctrl+C stops the server)", flush=True)
    uvicorn.run(create_app(delay=args.delay), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()

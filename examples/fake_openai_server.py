"""A scripted OpenAI-compatible chat completions server, for running examples offline.

It answers ``POST /v1/chat/completions`` (``stream: true``) the way vLLM,
Ollama or llama.cpp's server do, with hand-written SSE: reasoning in
``reasoning_content`` (``?reasoning_field=reasoning`` for Ollama's name), then
``Echo: <last user text>`` a few characters at a time, usage and
``finish_reason: stop``. When the request offers a ``get_weather`` tool and the
user mentions the weather, or offers a tool the user names, it calls that tool
instead with ``{"city": <the word after "in", or Paris>}`` (arguments streamed
in pieces, ``finish_reason: tool_calls``; ids such as ``call_weather_1``,
numbered across the conversation); once the request ends with the tool's
result, it answers with the result in the text. A ``delete_file`` tool and a
user message mentioning "delete" give a call to delete ``notes.txt`` (the
human-in-the-loop example asks for approval before it runs). A user message containing
``slow`` gets an endless answer, one token every 20 ms, until the client
hangs up, and one containing ``fail`` an error frame after a few words.
``GET /stats`` tells what it saw: the request bodies, and how many
streams ended because the client disconnected.

Run it with ``python examples/fake_openai_server.py`` (port 8001).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODEL = "fake-model"


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _call(call_id: str, name: str, pieces: list[str]) -> list[bytes]:
    """A tool call whose arguments arrive in ``pieces``."""
    function = {"name": name, "arguments": ""}
    head = {"index": 0, "id": call_id, "type": "function", "function": function}
    return [
        _chunk({"tool_calls": [head]}),
        *(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces),
    ]


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "".join(p.get("text", "") for p in content or () if p.get("type") == "text")
    return ""


def _tool_asked_for(text: str, tools: set[str]) -> str | None:
    """The tool to call: ``get_weather`` for the weather, or any tool the user names."""
    if "get_weather" in tools and "weather" in text.lower():
        return "get_weather"
    return next((name for name in sorted(tools) if name in text), None)


def _city(text: str) -> str:
    """The capitalised word after the last "in" of ``text`` (Paris if none)."""
    words = text.replace("?", " ").replace(".", " ").split()
    after = [b for a, b in itertools.pairwise(words) if a == "in" and b[:1].isupper()]
    return after[-1] if after else "Paris"


def _pieces(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


class FakeModel:
    """The server's script and what it recorded."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.disconnects = 0
        self.completed = 0

    async def answer(self, body: dict[str, Any], reasoning_field: str) -> AsyncIterator[bytes]:
        messages = body.get("messages", [])
        text = _last_user_text(messages)
        tools = {t["function"]["name"] for t in body.get("tools") or ()}
        usage = body.get("stream_options", {}).get("include_usage", False)
        last = messages[-1] if messages else {}
        try:
            yield _chunk({"role": "assistant", "content": ""})
            if "slow" in text:
                for n in range(100_000):
                    yield _chunk({"content": f"tick {n} "})
                    await asyncio.sleep(0.02)
            if "fail" in text:
                yield _chunk({"content": "Let me"})
                error = {"message": "model overloaded", "type": "server_error", "code": None}
                yield f"data: {json.dumps({'error': error})}\n\n".encode()
                return
            for piece in _pieces("Thinking it over."):
                yield _chunk({reasoning_field: piece})
            if last.get("role") == "tool":
                answer, finish = f"The tool said: {last.get('content')}", "stop"
            elif "delete_file" in tools and "delete" in text.lower():
                pieces = ['{"pa', 'th": "notes', '.txt"}']
                for frame in _call("call_delete_1", "delete_file", pieces):
                    yield frame
                answer, finish = "", "tool_calls"
            elif (name := _tool_asked_for(text, tools)) is not None:
                # Numbered across the conversation, as a model's ids are unique.
                number = 1 + sum(len(m.get("tool_calls") or ()) for m in messages)
                call_id = f"call_{name.removeprefix('get_')}_{number}"
                function = {"name": name, "arguments": ""}
                call = {"index": 0, "id": call_id, "type": "function", "function": function}
                yield _chunk({"tool_calls": [call]})
                for piece in _pieces(json.dumps({"city": _city(text)}), 5):
                    yield _chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                answer, finish = "", "tool_calls"
            else:
                answer, finish = f"Echo: {text}", "stop"
            for piece in _pieces(answer):
                yield _chunk({"content": piece})
            yield _chunk({}, finish)
            if usage:
                yield _chunk(
                    None, usage={"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
                )
            yield b"data: [DONE]\n\n"
            self.completed += 1
        except (asyncio.CancelledError, GeneratorExit):
            self.disconnects += 1
            raise


def create_app(model: FakeModel | None = None) -> Starlette:
    """The server as a Starlette app around ``model`` (a fresh :class:`FakeModel` by default)."""
    fake = model or FakeModel()

    async def completions(request: Request) -> Response:
        body = await request.json()
        fake.requests.append(body)
        if not body.get("stream"):
            return JSONResponse({"error": {"message": "only stream: true is scripted"}}, 400)
        field = request.query_params.get("reasoning_field", "reasoning_content")
        return StreamingResponse(fake.answer(body, field), media_type="text/event-stream")

    async def stats(request: Request) -> Response:
        return JSONResponse(
            {
                "requests": fake.requests,
                "disconnects": fake.disconnects,
                "completed": fake.completed,
            }
        )

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/stats", stats),
        ]
    )
    app.state.fake = fake
    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8001)

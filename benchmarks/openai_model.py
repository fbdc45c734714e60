"""A model's stream into a run: ``stream_chat_completion`` per chunk, against a hand-written loop.

One model answer — reasoning deltas, text deltas, a tool call whose arguments
stream in pieces, the finish reason and usage — fed to a run as

* **hand-written loop**: the ``openai`` SDK's ``ChatCompletionChunk`` objects
  read by the loop people write without the library (``delta.content`` to
  ``append_text``, the reasoning field to ``append_reasoning``, tool calls by
  index, ``drain()`` after each chunk, the finish at the end): the reference;
* **stream_chat_completion** over the same SDK objects, over chunk dicts, and
  over the raw SSE bytes of a server (one network read per chunk).

Each contender runs a whole run (``create_run``, batches drained as an
adapter drains them, nothing encoded) and is timed best-of-N, interleaved.
The figure is microseconds per model chunk; the ratio is to the hand-written
loop, the cost of what the library adds (every reasoning variant, tool-call
ids made up, the answer returned, cancellation reaching the model stream).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from assistant_stream_core.run import RunController, create_run, stream_chat_completion

#: Tool-call argument pieces in the answer.
ARG_PIECES = 20


def answer(chunk_count: int) -> list[dict[str, Any]]:
    """A model answer of about ``chunk_count`` chunks, as dicts."""

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> Any:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                "model": "m", "choices": choices, **extra}  # fmt: skip

    reasoning = max(1, chunk_count // 10)
    text = max(1, chunk_count - reasoning - ARG_PIECES - 3)
    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"reasoning_content": "hmm "}) for _ in range(reasoning)]
    out += [chunk({"content": "tok "}) for _ in range(text)]
    call = {"index": 0, "id": "call_1", "type": "function"}
    out.append(chunk({"tool_calls": [{**call, "function": {"name": "f", "arguments": ""}}]}))
    piece = {"index": 0, "function": {"arguments": '"x",'}}
    out += [chunk({"tool_calls": [piece]}) for _ in range(ARG_PIECES)]
    out.append(chunk({}, "tool_calls"))
    usage = {"prompt_tokens": 10, "completion_tokens": len(out), "total_tokens": len(out) + 10}
    out.append(chunk(None, usage=usage))
    return out


async def _items(values: list[Any]) -> AsyncIterator[Any]:
    for value in values:
        yield value


async def _hand_written(controller: RunController, stream: AsyncIterator[Any]) -> None:
    tools: dict[int, Any] = {}
    finish, usage = "unknown", None
    async for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            delta = choice.delta
            reasoning = (delta.model_extra or {}).get("reasoning_content")
            if reasoning:
                controller.append_reasoning(reasoning)
            if delta.content:
                controller.append_text(delta.content)
            for call in delta.tool_calls or ():
                if call.index not in tools:
                    tools[call.index] = await controller.add_tool_call(call.function.name, call.id)
                if call.function and call.function.arguments:
                    tools[call.index].append_args_text(call.function.arguments)
            finish = choice.finish_reason or finish
        await controller.drain()
    for tool in tools.values():
        tool.close()
    tokens = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
    controller.add_message_finish(finish.replace("_", "-"), *tokens)


async def _library(controller: RunController, stream: AsyncIterator[Any]) -> None:
    await stream_chat_completion(controller, stream)


async def _consume(
    read: Callable[[RunController, AsyncIterator[Any]], Any], values: list[Any]
) -> int:
    async def run(controller: RunController) -> None:
        await read(controller, _items(values))

    batches = 0
    async for _ in create_run(run).batches():
        batches += 1
    return batches


def _contenders(chunks: list[dict[str, Any]]) -> list[tuple[str, Callable[..., Any], list[Any]]]:
    raw = [b"data: " + msgspec.json.encode(c) + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]
    contenders: list[tuple[str, Callable[..., Any], list[Any]]] = []
    try:
        from openai.types.chat import ChatCompletionChunk
    except ImportError:
        print("  (the openai SDK is not installed: its rows are left out)")
    else:
        objects = [ChatCompletionChunk.model_validate(c) for c in chunks]
        contenders += [
            ("hand-written loop, SDK objects", _hand_written, objects),
            ("stream_chat_completion, SDK objects", _library, objects),
        ]
    contenders += [
        ("stream_chat_completion, dicts", _library, chunks),
        ("stream_chat_completion, raw SSE bytes", _library, raw),
    ]
    return contenders


def run(repeat: int = 5, chunk_count: int = 20_000) -> None:
    """Print microseconds per model chunk for each contender, and the ratio to the loop."""
    chunks = answer(chunk_count)
    contenders = _contenders(chunks)
    print(f"\nA model stream into a run: {len(chunks):,} chunks, best of {repeat} (µs per chunk)")
    best = [float("inf")] * len(contenders)
    for _ in range(repeat):  # interleaved: a slow moment hurts every contender alike
        for index, (_, read, values) in enumerate(contenders):
            gc.collect()
            start = time.perf_counter()
            asyncio.run(_consume(read, values))
            best[index] = min(best[index], time.perf_counter() - start)
    reference = best[0]
    for (label, _, _), seconds in zip(contenders, best, strict=True):
        per_chunk = seconds / len(chunks) * 1e6
        print(f"  {label:<40}{per_chunk:>8.2f} µs{seconds / reference:>8.2f}x")

"""Reading requests: what ``decode_request`` costs on a long conversation.

A chat client sends the whole conversation with every turn, so the body grows
with the thread: the workload is one conversation of :data:`DEFAULT_TURNS`
turns (a user question with quotes, backslashes and non-ASCII text; an answer
with reasoning, text and a tool call whose arguments and result are JSON),
written by :func:`~assistant_stream_core.conversation.encode_request` as each
protocol's client would send it. Each row reads that body once per run:

* **msgspec decode**: ``msgspec.json.decode`` of the body and nothing else,
  the floor any reader of JSON pays;
* **depth count**: :func:`~assistant_stream_core.limits.json_depth`, the
  nesting count every body passes before it is parsed (it bounds depth the
  same on every Python version);
* **decode_request**: the whole read, count and parse and conversion into a
  typed :class:`~assistant_stream_core.conversation.Conversation`.

The table gives milliseconds per body (best run) and each row's time as a
multiple of the floor's.
"""

from __future__ import annotations

import functools
import gc
import time
from collections.abc import Callable

import msgspec

from assistant_stream_core.conversation import (
    REQUEST_PROTOCOLS,
    Conversation,
    Message,
    ReasoningPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResult,
    decode_request,
    encode_request,
)
from assistant_stream_core.limits import MAX_JSON_DEPTH, json_depth

__all__ = ["DEFAULT_TURNS", "conversation", "run"]

#: Turns in the benchmark's conversation: a long thread, a few hundred KB.
DEFAULT_TURNS = 400

_QUESTION = 'What is the "weather" in Paris today? Path C:\\data\\paris, 21 °C, café 🚀 '
_ANSWER = "It is sunny and mild, with a light breeze from the west. " * 4


def conversation(turns: int = DEFAULT_TURNS) -> Conversation:
    """A conversation of ``turns`` question-and-answer pairs, each answer calling a tool."""
    messages: list[Message] = []
    for turn in range(turns):
        messages.append(Message(role="user", parts=(TextPart(text=_QUESTION * 2),)))
        call = ToolCallPart(
            tool_call_id=f"call_{turn}",
            tool_name="weather",
            args={"city": "Paris", "unit": "°C", "days": [1, 2, 3]},
            result=ToolResult(value={"temperatures": [21, 19, 23], "sky": "clear", "ok": True}),
        )
        messages.append(
            Message(
                role="assistant",
                id=f"msg_{turn}",
                parts=(
                    ReasoningPart(text="The user asks about the weather; call the tool."),
                    call,
                    TextPart(text=_ANSWER),
                ),
            )
        )
    messages.append(Message(role="user", parts=(TextPart(text=_QUESTION),)))
    tool = Tool(
        name="weather",
        description="The forecast for a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    return Conversation(messages=tuple(messages), tools=(tool,))


def _best(repeat: int, call: Callable[[], object]) -> float:
    """The best of ``repeat`` timings of ``call``, in seconds, the collector off."""
    best = float("inf")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            call()
            best = min(best, time.perf_counter() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


def run(*, repeat: int = 5, turns: int = DEFAULT_TURNS) -> None:
    """Print, per request protocol, the time to read one body of ``turns`` turns."""
    source = conversation(turns)
    print(f"\nReading requests: one conversation of {turns:,} turns, per protocol")
    print(f"  ms per body, best of {repeat}; in brackets, as a multiple of msgspec decode's")
    heads = ("body", "msgspec decode", "depth count", "decode_request")
    print(f"  {'protocol':<22}" + "".join(f"{head:>17}" for head in heads))
    for protocol in REQUEST_PROTOCOLS:
        body = msgspec.json.encode(encode_request(protocol, source))
        last = decode_request(protocol, body).messages[-1]
        if last.text != _QUESTION:  # the body must read back
            raise AssertionError(f"{protocol}: the last message read back is {last!r}")
        floor = _best(repeat, functools.partial(msgspec.json.decode, body))
        depth = _best(repeat, functools.partial(json_depth, body, MAX_JSON_DEPTH))
        whole = _best(repeat, functools.partial(decode_request, protocol, body))
        cells = [f"{len(body) / 1024:.0f} KB", f"{floor * 1000:.2f}"]
        cells += [f"{seconds * 1000:.2f} ({seconds / floor:.1f}x)" for seconds in (depth, whole)]
        print(f"  {protocol:<22}" + "".join(f"{cell:>17}" for cell in cells))

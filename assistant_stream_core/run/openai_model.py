"""Feed an OpenAI-compatible chat completions stream into a run.

:func:`stream_chat_completion` reads a model's streamed answer — the
``openai`` SDK's ``AsyncStream`` of ``ChatCompletionChunk``, an ``httpx``
response, or any async iterable of SSE bytes, of text, or of chunk dicts —
and writes it to a :class:`~assistant_stream_core.run.RunController`, so one
model stream reaches whichever protocol the client speaks::

    async def run(controller):
        stream = await client.chat.completions.create(
            model="…", stream=True, stream_options={"include_usage": True},
            **chat_request(conversation),
        )
        answer = await stream_chat_completion(controller, stream)

All inputs read alike (the SDK's objects by attribute, dicts and raw bytes
decoded into one typed chunk; nothing is serialised again): ``content`` is
text; ``reasoning_content``, ``reasoning`` (vLLM, DeepSeek, LM Studio, Ollama,
OpenRouter), ``thinking`` and OpenRouter's ``reasoning_details`` are
reasoning, and, with ``think_tags=True``, so is ``<think>…</think>`` inside
``content`` (models served without a reasoning parser); ``tool_calls``
become tool calls whose arguments stream as they arrive and which are closed
(arguments complete) when the stream ends (a call without an id, or with an
id already used in this run, gets a fresh one); the finish reason and the
usage end the message (``finish="message"``), the step (``finish="step"``)
or nothing (``finish=None``); an error frame becomes an error chunk.

Pacing and cancellation: after each piece of the model stream the function
awaits :meth:`~assistant_stream_core.run.RunController.drain`, so a slow
client slows the model read instead of filling memory. When the client leaves
(the run is cancelled) the read stops at once — even while waiting for the
model — and the model stream is closed (``aclose()``/``close()``), which
closes the HTTP request to the model server.

A malformed stream raises :class:`~assistant_stream_core.errors.ProtocolError`
(so does a raw stream that ends without ``data: [DONE]``, unless an error
frame came first: servers close the connection after one), and exceptions of
the model client, such as ``openai.APIError``, propagate: the run turns them
into an error chunk, as for any exception in a run.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any, Literal

import anyio
import msgspec

from ..chunks import (
    Chunk,
    ErrorChunk,
    MessageFinishChunk,
    ReasoningDeltaChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
)
from ..conversation.model import (
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResult,
)
from ..limits import MAX_JSON_DEPTH, json_depth
from ._model_stream import ModelStreamReader
from .controller import RunController, ToolCallController

__all__ = ["ChatCompletionResult", "ModelToolCall", "stream_chat_completion"]

#: How long closing the model stream may take once the client has left.
_CLOSE_TIMEOUT_S = 5.0


class ModelToolCall(msgspec.Struct, kw_only=True):
    """A tool call the model made: its id, name and arguments.

    ``args`` is the parsed ``arguments`` text, or ``None`` when the model wrote
    something that is not JSON, or JSON nested deeper than
    :data:`~assistant_stream_core.limits.MAX_JSON_DEPTH`. Report its result with
    ``controller.add_tool_result(call.id, result)``.
    """

    id: str
    name: str
    arguments: str = ""
    args: Any = None


class ChatCompletionResult(msgspec.Struct, kw_only=True):
    """What the model answered, once its stream has ended (or the client left)."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ModelToolCall] = msgspec.field(default_factory=list)
    #: ``stop``, ``length``, ``tool-calls``, ``content-filter``, ``other``, or
    #: ``unknown`` when the model gave none.
    finish_reason: str = "unknown"
    input_tokens: int = 0
    output_tokens: int = 0
    #: The message of the model's error frame, if it sent one.
    error: str | None = None
    #: True when the read stopped because the client left.
    cancelled: bool = False

    def to_message(self, tool_results: Mapping[str, Any] | None = None) -> Message:
        """The answer as an assistant :class:`~assistant_stream_core.conversation.Message`.

        Append it to the conversation's messages for the next model call of an
        agent loop; ``tool_results`` maps tool call ids to what the tools
        returned, so :func:`~assistant_stream_core.conversation.openai_chat.chat_request`
        sends the calls and their results.
        """
        results = tool_results or {}
        parts: list[Part] = []
        if self.reasoning:
            parts.append(ReasoningPart(text=self.reasoning))
        if self.text:
            parts.append(TextPart(text=self.text))
        for call in self.tool_calls:
            result = ToolResult(value=results[call.id]) if call.id in results else None
            # The arguments as the model wrote them: byte-identical history keeps
            # the server's prompt cache warm.
            raw = call.arguments or None
            parts.append(
                ToolCallPart(
                    tool_call_id=call.id,
                    tool_name=call.name,
                    args=call.args,
                    args_text=raw,
                    result=result,
                )
            )
        return Message(role="assistant", parts=tuple(parts))


class _ThinkTags:
    """Splits ``<think>…</think>`` out of streamed text, tags split anywhere."""

    _OPEN, _CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self.inside = False
        self.pending = ""

    def feed(self, text: str) -> list[tuple[bool, str]]:
        """Return ``(is_reasoning, text)`` pieces; a possible partial tag is held back."""
        out: list[tuple[bool, str]] = []
        text = self.pending + text
        self.pending = ""
        while text:
            tag = self._CLOSE if self.inside else self._OPEN
            at = text.find(tag)
            if at >= 0:
                if at:
                    out.append((self.inside, text[:at]))
                text = text[at + len(tag) :]
                self.inside = not self.inside
                continue
            keep = next(
                (
                    n
                    for n in range(min(len(tag) - 1, len(text)), 0, -1)
                    if tag.startswith(text[-n:])
                ),
                0,
            )
            if len(text) > keep:
                out.append((self.inside, text[: len(text) - keep]))
            self.pending = text[len(text) - keep :]
            break
        return out

    def flush(self) -> list[tuple[bool, str]]:
        text, self.pending = self.pending, ""
        return [(self.inside, text)] if text else []


def _parse_args(text: str) -> Any:
    """A call's arguments text → its value; ``None`` if not JSON or too deep."""
    if not text:
        return {}
    # Counted, not left to the parser's guard (the interpreter's recursion
    # limit, which differs by Python version and raises RecursionError).
    if json_depth(text, MAX_JSON_DEPTH):
        return None
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return None


async def _close(stream: Any) -> None:
    for name in ("aclose", "close"):
        method = getattr(stream, name, None)
        if method is not None:
            result = method()
            if inspect.isawaitable(result):
                await result
            return


class _Writer:
    """Applies decoded chunks to the controller and records the answer."""

    def __init__(self, controller: RunController, finish: str | None, think_tags: bool) -> None:
        self.controller = controller
        self.finish = finish
        self.think = _ThinkTags() if think_tags else None
        self.result = ChatCompletionResult()
        self.tools: dict[str, ToolCallController] = {}
        self.calls: dict[str, ModelToolCall] = {}
        # Joined once by answer(): adding to a string per token copies it each time.
        self.text: list[str] = []
        self.reasoning: list[str] = []

    def _text(self, reasoning: bool, text: str) -> None:
        if reasoning:
            self.controller.append_reasoning(text)
            self.reasoning.append(text)
        else:
            self.controller.append_text(text)
            self.text.append(text)

    def answer(self) -> ChatCompletionResult:
        """The answer so far."""
        self.result.text = "".join(self.text)
        self.result.reasoning = "".join(self.reasoning)
        return self.result

    async def apply(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            # The common chunks first, without awaiting: most of a stream is text.
            if type(chunk) is TextDeltaChunk and self.think is None:
                self._text(False, chunk.text_delta)
                continue
            match chunk:
                case TextDeltaChunk(text_delta=text):
                    if self.think is None:
                        self._text(False, text)
                    else:
                        for reasoning, piece in self.think.feed(text):
                            self._text(reasoning, piece)
                case ReasoningDeltaChunk(reasoning_delta=text):
                    self._text(True, text)
                case ToolCallBeginChunk(tool_call_id=call_id, tool_name=name):
                    try:
                        tool = await self.controller.add_tool_call(name, call_id)
                    except ValueError:
                        # The id is taken in this run (an earlier model call in an
                        # agent loop used it): the call gets a fresh one.
                        tool = await self.controller.add_tool_call(name)
                    self.tools[call_id] = tool
                    self.calls[call_id] = call = ModelToolCall(id=tool.tool_call_id, name=name)
                    self.result.tool_calls.append(call)
                case ToolCallDeltaChunk(tool_call_id=call_id, args_text_delta=text):
                    self.tools[call_id].append_args_text(text)
                    self.calls[call_id].arguments += text
                case ToolCallArgsTextFinishChunk(tool_call_id=call_id):
                    self._settle(call_id)
                case MessageFinishChunk():
                    self._flush_think()
                    self.result.finish_reason = chunk.finish_reason
                    self.result.input_tokens = chunk.input_tokens
                    self.result.output_tokens = chunk.output_tokens
                    if self.finish == "message":
                        self.controller.add_message_finish(
                            chunk.finish_reason, chunk.input_tokens, chunk.output_tokens
                        )
                    elif self.finish == "step":
                        self.controller.add_step_finish(
                            chunk.finish_reason, chunk.input_tokens, chunk.output_tokens
                        )
                case ErrorChunk(error=message):
                    self.result.error = message
                    self.controller.add_error(message)

    def _settle(self, call_id: str) -> None:
        tool = self.tools[call_id]
        if not tool.closed:
            tool.close()
        call = self.calls[call_id]
        call.args = _parse_args(call.arguments)

    def _flush_think(self) -> None:
        if self.think is not None:
            for reasoning, piece in self.think.flush():
                self._text(reasoning, piece)

    def parse_open_calls(self) -> None:
        """Parse the arguments of calls the stream left open (the client left)."""
        for model_id, call in self.calls.items():
            if call.args is None and not self.tools[model_id].closed:
                call.args = _parse_args(call.arguments)


async def stream_chat_completion(
    controller: RunController,
    stream: AsyncIterable[Any] | Any,
    *,
    finish: Literal["message", "step"] | None = "message",
    think_tags: bool = False,
) -> ChatCompletionResult:
    """Write an OpenAI-compatible chat completions stream to ``controller``; return the answer.

    :param stream: the ``openai`` SDK's ``AsyncStream`` (from
        ``chat.completions.create(..., stream=True)``), an ``httpx.Response``
        of a streaming request (read with ``aiter_bytes``), or any async
        iterable of SSE ``bytes``/``str``, chunk dicts or ``ChatCompletionChunk``
        objects. It is closed when this returns, raises or is cancelled.
    :param finish: what the finish reason and usage end: the message
        (``add_message_finish``), the step (``add_step_finish``, for a loop of
        several model calls in one message), or nothing (``None``).
    :param think_tags: read ``<think>…</think>`` in the text as reasoning.
    :raises ~assistant_stream_core.errors.ProtocolError: the stream is not a
        valid chat completions stream.
    """
    if finish not in ("message", "step", None):
        raise ValueError(f"finish must be 'message', 'step' or None, got {finish!r}")
    writer = _Writer(controller, finish, think_tags)
    reader = ModelStreamReader()
    source = stream.aiter_bytes() if hasattr(stream, "aiter_bytes") else stream
    if not hasattr(source, "__aiter__"):
        raise TypeError(f"stream must be an async iterable, got {type(stream).__name__}")
    iterator: AsyncIterator[Any] = aiter(source)
    parsed = False
    error: Exception | None = None
    try:
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                await controller.cancelled_event.wait()
                group.cancel_scope.cancel()

            group.start_soon(watch)
            try:
                async for item in iterator:
                    out: list[Chunk] = []
                    if isinstance(item, (bytes, bytearray, memoryview)):
                        reader.feed(bytes(item), out)
                    elif isinstance(item, str):
                        reader.feed(item.encode(), out)
                    elif isinstance(item, dict):
                        parsed = True
                        reader.read_dict(item, out)
                    elif hasattr(item, "choices"):  # an openai SDK ChatCompletionChunk
                        parsed = True
                        reader.read_chunk(item, out)
                    else:
                        raise TypeError(
                            "the model stream must yield bytes, str, dicts or "
                            f"ChatCompletionChunk objects, got {type(item).__name__}"
                        )
                    if out:
                        await writer.apply(out)
                    await controller.drain()
                if parsed:  # the openai SDK consumed ``[DONE]``: the chunks it implies
                    out = []
                    reader.end(out)
                    await writer.apply(out)
                elif writer.result.error is None:
                    # A stream cut short is an error, unless the server said why.
                    reader.finish()
                else:
                    writer.parse_open_calls()
            except Exception as exc:
                error = exc  # raised below as itself, not in an exception group
            finally:
                group.cancel_scope.cancel()
    finally:
        with anyio.move_on_after(_CLOSE_TIMEOUT_S, shield=True):
            if iterator is not stream:
                await _close(iterator)
            await _close(stream)
    if error is not None:
        raise error
    if controller.is_cancelled:
        # Nothing more goes to a run whose client has left.
        writer.result.cancelled = True
        writer.parse_open_calls()
    return writer.answer()

"""The runs every adapter serves in the shared scenario suite.

Each scenario is a source built per request. Most are a small stand-in for a
run (``batches()`` + ``aclose()``), so the suite exercises the batched path
adapters use for real runs; ``finally:`` blocks record into :data:`FINISHED`
so a test can check that the server stopped the run.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import anyio
import anyio.lowlevel

from assistant_stream_core.chunks import (
    Chunk,
    DataChunk,
    ErrorChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.protocols.ag_ui import AGUIEncoder
from assistant_stream_core.protocols.base import Encoder
from assistant_stream_core.protocols.openai_chat import OpenAIChatEncoder
from assistant_stream_core.protocols.ui_message_stream import UIMessageStreamEncoder
from assistant_stream_core.run import ErrorMessage, Run, RunController, create_run, internal_error
from assistant_stream_core.run.serve import make_encoder
from assistant_stream_core.state import AppendTextOperation, SetOperation

#: Request id -> set when that request's run reached its ``finally:``.
FINISHED: dict[str, threading.Event] = {}
#: Request id -> set when that request's run started producing.
STARTED: dict[str, threading.Event] = {}
_lock = threading.Lock()


def finished(rid: str) -> threading.Event:
    """The event a run with request id ``rid`` sets when it ends."""
    with _lock:
        return FINISHED.setdefault(rid, threading.Event())


def started(rid: str) -> threading.Event:
    """The event a run with request id ``rid`` sets when it starts."""
    with _lock:
        return STARTED.setdefault(rid, threading.Event())


class ScriptRun:
    """A stand-in for a run: yields prepared batches, records its end."""

    def __init__(self, script: Callable[[], AsyncIterator[list[Chunk]]], rid: str) -> None:
        self._script = script
        self._rid = rid
        self._iterator: AsyncIterator[list[Chunk]] | None = None

    async def _batches(self) -> AsyncIterator[list[Chunk]]:
        try:
            async with aclosing(self._script()) as script:
                async for batch in script:
                    yield batch
        finally:
            finished(self._rid).set()

    def batches(self) -> AsyncIterator[list[Chunk]]:
        started(self._rid).set()
        self._iterator = self._batches()
        return self._iterator

    async def aclose(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()  # type: ignore[attr-defined]
        finished(self._rid).set()


async def text() -> AsyncIterator[list[Chunk]]:
    yield [TextDeltaChunk("Hello")]
    yield [TextDeltaChunk(", "), TextDeltaChunk("world")]


async def tool() -> AsyncIterator[list[Chunk]]:
    yield [TextDeltaChunk("Checking.")]
    yield [ToolCallBeginChunk(tool_call_id="t1", tool_name="get_weather")]
    yield [ToolCallDeltaChunk(tool_call_id="t1", args_text_delta='{"city": ')]
    yield [ToolCallDeltaChunk(tool_call_id="t1", args_text_delta='"Paris"}')]
    yield [
        ToolCallArgsTextFinishChunk(tool_call_id="t1"),
        ToolResultChunk(tool_call_id="t1", result={"temp_c": 21}),
    ]


async def state() -> AsyncIterator[list[Chunk]]:
    yield [UpdateStateChunk(operations=[SetOperation(path=("status",), value="busy")])]
    yield [
        UpdateStateChunk(
            operations=[
                SetOperation(path=("log",), value=""),
                AppendTextOperation(path=("log",), value="a"),
            ]
        )
    ]
    yield [TextDeltaChunk("done")]


async def error() -> AsyncIterator[list[Chunk]]:
    yield [TextDeltaChunk("partial")]
    raise RuntimeError("boom")


async def add_error() -> AsyncIterator[list[Chunk]]:
    yield [TextDeltaChunk("partial"), ErrorChunk(error="tool failed")]


async def empty() -> AsyncIterator[list[Chunk]]:
    return
    yield


async def bad_encode() -> AsyncIterator[list[Chunk]]:
    # A tool result every protocol carries, holding a value JSON cannot.
    yield [TextDeltaChunk("ok")]
    yield [
        ToolCallBeginChunk(tool_call_id="t1", tool_name="f"),
        ToolResultChunk(tool_call_id="t1", result=object()),
    ]
    yield [TextDeltaChunk("never sent")]


#: Request id -> set when a real run saw ``controller.is_cancelled``.
SAW_CANCEL: dict[str, threading.Event] = {}
#: Request id -> what a paced run's own call raised (nothing may).
APPEND_ERRORS: dict[str, BaseException] = {}
#: Seconds between two writes of the paced runs (more than write-through's quiet time).
PACE = 0.005
#: The paced big run: how many writes, of how many characters.
BIG_WRITES = 40
BIG_WRITE = 256 * 1024
#: Writes of the bulk run (a ``sleep(0)`` every 1,000).
BULK_WRITES = 20_000


async def _unencodable() -> AsyncIterator[Chunk]:
    yield TextDeltaChunk(" and then")
    await anyio.sleep(PACE)
    yield DataChunk(data=object())
    await anyio.sleep(PACE)
    yield TextDeltaChunk("never sent")


def saw_cancel(rid: str) -> threading.Event:
    """The event a real run with request id ``rid`` sets when it saw cancellation."""
    with _lock:
        return SAW_CANCEL.setdefault(rid, threading.Event())


def real_run(name: str, rid: str) -> Run:
    """A run from the run layer (``create_run``) for scenario ``name``."""

    async def weather(controller: RunController) -> None:
        try:
            controller.append_text("Checking the weather")
            tool = await controller.add_tool_call("get_weather", "call_1")
            tool.append_args_text('{"city": ')
            tool.append_args_text('"Paris"}')
            tool.set_response({"temp_c": 21})
            controller.state = {"status": "done"}
            controller.append_text("It is 21 C.")
            if name == "run_error":
                raise RuntimeError("boom")
        finally:
            finished(rid).set()

    async def waiting(controller: RunController) -> None:
        started(rid).set()
        try:
            controller.append_text("Thinking")
            # Silent, as while waiting on a slow model: only is_cancelled tells.
            while not controller.is_cancelled:  # noqa: ASYNC110 - polling is the point
                await anyio.sleep(0.005)
            saw_cancel(rid).set()
        finally:
            finished(rid).set()

    async def drain_loop(controller: RunController) -> None:
        # The documented flow control, in a loop that never looks at
        # is_cancelled: only drain() can end it once the client has gone.
        started(rid).set()
        try:
            while True:
                controller.append_text("x" * 1024)
                await controller.drain()
        finally:
            finished(rid).set()

    async def stubborn(controller: RunController) -> None:
        # Swallows every cancellation: the run must give up on it.
        started(rid).set()
        controller.append_text("hello ")
        while True:
            try:
                await anyio.sleep(0.2)
            except anyio.get_cancelled_exc_class():
                saw_cancel(rid).set()

    async def paced(controller: RunController) -> None:
        # A model's pace: each write a few milliseconds after the last, so
        # each goes through from the callback's own call (write-through).
        try:
            for i in range(4):
                controller.append_text(f"token {i} ")
                await anyio.sleep(PACE)
            controller.append_reasoning("thinking")
            await anyio.sleep(PACE)
            tool = await controller.add_tool_call("get_weather", "call_1")
            await anyio.sleep(PACE)
            tool.append_args_text('{"city": ')
            await anyio.sleep(PACE)
            tool.append_args_text('"Paris"}')
            await anyio.sleep(PACE)
            tool.set_response({"temp_c": 21})
            await anyio.sleep(PACE)
            controller.state = {"status": "done"}
            await anyio.sleep(PACE)
            controller.append_text("It is 21 C.")
            if name == "run_paced_bad":
                # A merged stream's chunk the wire cannot carry, mid-stream.
                controller.add_stream(_unencodable())
        finally:
            finished(rid).set()

    async def paced_endless(controller: RunController) -> None:
        started(rid).set()
        try:
            i = 0
            while not controller.is_cancelled:
                controller.append_text(f"token {i} ")
                i += 1
                await anyio.sleep(PACE)
            saw_cancel(rid).set()
        except Exception as exc:
            APPEND_ERRORS[rid] = exc
            raise
        finally:
            finished(rid).set()

    async def paced_then_silent(controller: RunController) -> None:
        try:
            for i in range(3):
                controller.append_text(f"token {i} ")
                await anyio.sleep(PACE)
            await anyio.sleep(1.5)  # several keepalive intervals of the test's 0.4 s
            controller.append_text("after the silence")
        finally:
            finished(rid).set()

    async def paced_big(controller: RunController) -> None:
        # Writes bigger than a socket takes at once: a client that does not
        # read pauses the server's writes (flow control) mid write-through.
        started(rid).set()
        try:
            for i in range(BIG_WRITES):
                controller.append_text(f"{i:04d}" + "x" * (BIG_WRITE - 4))
                await anyio.sleep(PACE)
        finally:
            finished(rid).set()

    async def bulk(controller: RunController) -> None:
        try:
            for i in range(BULK_WRITES):
                controller.append_text(f"{i} ")
                if i % 1000 == 999:
                    await anyio.lowlevel.checkpoint()
        finally:
            finished(rid).set()

    if name == "run_readme":
        # The README's first snippet, served as its comment says to serve it.
        return create_run(readme_headline().run, state={}, run_id="run_test")
    callbacks = {
        "run_waiting": waiting,
        "run_drain_loop": drain_loop,
        "run_stubborn": stubborn,
        "run_paced": paced,
        "run_paced_bad": paced,
        "run_paced_endless": paced_endless,
        "run_paced_then_silent": paced_then_silent,
        "run_paced_big": paced_big,
        "run_bulk": bulk,
    }
    close_timeout = 1.0 if name == "run_stubborn" else 5.0
    return create_run(callbacks.get(name, weather), run_id="run_test", close_timeout=close_timeout)


@cache
def readme_headline() -> ModuleType:
    """``examples/snippets/headline.py``, the README's first snippet, as a module."""
    path = Path(__file__).resolve().parents[2] / "examples" / "snippets" / "headline.py"
    spec = importlib.util.spec_from_file_location("readme_headline", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def encoder_for(protocol: str) -> Encoder:
    """A fresh encoder for ``protocol`` with fixed ids, so bodies are comparable."""
    match protocol:
        case "openai_chat":
            return OpenAIChatEncoder(completion_id="chatcmpl-test", created=0, tool_results="delta")
        case "ui_message_stream":
            return UIMessageStreamEncoder(message_id="msg_test")
        case "ag_ui":
            return AGUIEncoder(thread_id="thread_test", run_id="run_test", message_id="msg_test")
        case _:
            return make_encoder(protocol)


@dataclass(frozen=True)
class Options:
    """Per-request knobs, read from the query string."""

    gap: float = 0.0
    keepalive: float | None = 15.0
    send_timeout: float | None = 30.0
    #: ``?errors=safe``: the responses' ``error_message=internal_error``.
    error_message: ErrorMessage | None = None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Options:
        def number(name: str, default: float | None) -> float | None:
            value = query.get(name)
            if value is None:
                return default
            return None if value == "none" else float(value)

        return cls(
            gap=number("gap", 0.0) or 0.0,
            keepalive=number("keepalive", 15.0),
            send_timeout=number("send_timeout", 30.0),
            error_message=internal_error if query.get("errors") == "safe" else None,
        )


def build(name: str, query: Mapping[str, str]) -> tuple[ScriptRun | Run, Options]:
    """The source for scenario ``name`` and the response options."""
    options = Options.parse(query)
    rid = query.get("rid", "")
    if name.startswith("run"):
        return real_run(name, rid), options

    async def silent() -> AsyncIterator[list[Chunk]]:
        yield [TextDeltaChunk("before")]
        await anyio.sleep(options.gap)
        yield [TextDeltaChunk("after")]

    async def endless() -> AsyncIterator[list[Chunk]]:
        # Ticks, then silence: a disconnect must be noticed in both phases.
        for i in range(5):
            yield [TextDeltaChunk(f"tick {i} ")]
            await anyio.sleep(0.01)
        await anyio.sleep(3600)
        yield []

    async def flood() -> AsyncIterator[list[Chunk]]:
        block = "x" * 65536
        while True:
            yield [TextDeltaChunk(block)]

    scripts: dict[str, Callable[[], AsyncIterator[list[Chunk]]]] = {
        "text": text,
        "tool": tool,
        "state": state,
        "error": error,
        "add_error": add_error,
        "empty": empty,
        "bad_encode": bad_encode,
        "silent": silent,
        "endless": endless,
        "flood": flood,
    }
    return ScriptRun(scripts[name], rid), options

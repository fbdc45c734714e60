"""Graceful shutdown in the core: a cancelled response's end, and drain().

The same behaviour on real servers under SIGTERM is in tests/shutdown/.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from typing import Any

import anyio
import pytest

from assistant_stream_core.protocols.assistant_transport import AssistantTransportEncoder
from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.resumable import ResumableStreams
from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run.serve import INTERRUPTED_MESSAGE, stream_encoded
from assistant_stream_core.run.shutdown import (
    RESPONSE_WAIT,
    drain,
    drain_on_shutdown,
    in_flight,
    interrupt_responses,
    track_response,
    untrack_response,
)

pytestmark = pytest.mark.anyio


def _slow(outcome: list[str], n: int = 1000) -> object:
    async def run(controller: RunController) -> None:
        try:
            for i in range(n):
                controller.append_text(f"t{i} ")
                await anyio.sleep(0.01)
            outcome.append("done")
        except anyio.get_cancelled_exc_class():
            outcome.append("cancelled")
            raise

    return run


async def test_a_cancelled_response_ends_with_an_error_frame_and_its_end() -> None:
    sent: list[bytes] = []
    ended: list[bool] = []
    outcome: list[str] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    async def end_body() -> None:
        ended.append(True)

    async def start() -> None:
        pass

    with anyio.move_on_after(0.1):  # as a server's graceful timeout cancels
        await stream_encoded(
            create_run(_slow(outcome)),
            AssistantTransportEncoder(),
            send,
            start=start,
            end_body=end_body,
        )
    body = b"".join(sent)
    assert INTERRUPTED_MESSAGE.encode() in body
    assert body.rstrip().endswith(b"data: [DONE]")
    assert ended == [True]
    assert outcome == ["cancelled"]
    assert in_flight() == (0, 0)


async def test_no_error_frame_before_the_head_was_sent() -> None:
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    async def start() -> None:
        await anyio.sleep(1)

    with anyio.move_on_after(0.05):
        await stream_encoded(create_run(_slow([])), DataStreamEncoder(), send, start=start)
    assert sent == []


@pytest.mark.parametrize(
    ("n", "grace", "status", "outcome"),
    [(10, 5, "done", "done"), (1000, 0.05, "error", "cancelled")],
)
async def test_drain_lets_producers_finish_or_finalizes_them(
    n: int, grace: float, status: str, outcome: str
) -> None:
    streams = ResumableStreams()
    ran: list[str] = []
    replay = await streams.start(_slow(ran, n), "data_stream", stream_id="s" * 24)
    del replay  # the client left: the producer is detached
    await anyio.sleep(0.02)  # the producer's first step
    assert in_flight()[1] == 1
    with anyio.fail_after(10):
        assert await drain(grace) is (status == "done")
    assert in_flight() == (0, 0)
    assert ran == [outcome]
    assert await streams.status("s" * 24) == status


async def test_drain_stops_a_response_left_running() -> None:
    # As Django's request task, which outlives the handler the server cancelled.
    outcome: list[str] = []

    async def send(data: bytes) -> None:
        pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(stream_encoded, create_run(_slow(outcome)), DataStreamEncoder(), send)
        await anyio.sleep(0.05)
        assert in_flight() == (1, 0)
        with anyio.fail_after(10):
            started = anyio.current_time()
            assert await drain(30) is False
            # RESPONSE_WAIT, then the run's grace: not the drain's 30 s.
            assert anyio.current_time() - started < 5
    assert outcome == ["cancelled"]
    assert in_flight() == (0, 0)


@pytest.mark.parametrize("grace", [-1, float("nan"), float("inf")])
async def test_drain_rejects_a_bad_grace(grace: float) -> None:
    with pytest.raises(ValueError, match="grace"):
        await drain(grace)
    with pytest.raises(ValueError, match="grace"):
        drain_on_shutdown(lambda *a: None, grace)  # type: ignore[arg-type,return-value]


async def test_drain_on_shutdown_answers_the_lifespan_and_passes_the_rest() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(str(scope["type"]))

    wrapped = drain_on_shutdown(app, 0)
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        sent.append(str(message["type"]))

    await wrapped({"type": "lifespan"}, receive, send)
    await wrapped({"type": "http"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen == ["http"]


async def test_drain_leaves_the_streams_of_another_event_loop_alone() -> None:
    # A process may run several loops (a blocking portal per WSGI response,
    # threads): drain() on one must not stop, nor wait for, another's.
    class Response:
        abandoned = False

        def abandon(self) -> None:
            self.abandoned = True

    other = Response()

    async def register() -> None:
        track_response(other)

    thread_loop = threading.Thread(target=lambda: anyio.run(register))
    thread_loop.start()
    thread_loop.join()
    try:
        assert in_flight() == (0, 0)
        with anyio.fail_after(RESPONSE_WAIT / 2):
            assert await drain(0) is True
        assert not other.abandoned
    finally:
        untrack_response(other)


async def test_a_cancelled_connection_stops_the_response_its_app_left_running(
    anyio_backend: str,
) -> None:
    """As Django does: the app serves the response from a task of its own,
    which the server's cancellation of the connection does not reach.
    drain_on_shutdown's wrapper stops it before the cancellation goes on:
    on asyncio by cancelling that task (the response writes its error frame),
    on trio as if its client had left."""
    import asyncio

    sent: list[bytes] = []
    outcome: list[str] = []
    orphans: list[asyncio.Future[Any]] = []

    async def send_bytes(data: bytes) -> None:
        sent.append(data)

    def serve() -> Any:
        return stream_encoded(create_run(_slow(outcome)), DataStreamEncoder(), send_bytes)

    async with anyio.create_task_group() as tg:

        async def app(scope: object, receive: object, send: object) -> None:
            if anyio_backend == "trio":
                tg.start_soon(serve)
            else:
                # A task the cancellation of this call does not reach.
                orphans.append(asyncio.ensure_future(serve()))
            await anyio.sleep_forever()

        wrapped = drain_on_shutdown(app, 30)
        with anyio.fail_after(10):
            with anyio.move_on_after(0.1):  # the server's graceful timeout
                await wrapped({"type": "http"}, None, None)  # type: ignore[arg-type]
            # The response's run had closed when the wrapper returned.
            assert outcome == ["cancelled"]
            assert in_flight() == (0, 0)
    body = b"".join(sent)
    interrupted = f'3:"{INTERRUPTED_MESSAGE}"\n'.encode()
    assert body.startswith(b'0:"t0 "\n')
    assert body.endswith(interrupted) is (anyio_backend != "trio"), body[-80:]


@pytest.mark.parametrize("n", [5, 1000])
async def test_interrupt_responses_waits_then_stops_with_the_error_frame(
    anyio_backend: str, n: int
) -> None:
    sent: list[bytes] = []
    outcome: list[str] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    async with anyio.create_task_group() as tg:
        tg.start_soon(stream_encoded, create_run(_slow(outcome, n)), DataStreamEncoder(), send)
        await anyio.sleep(0.02)
        with anyio.fail_after(10):
            started = anyio.current_time()
            ended_in_time = await interrupt_responses(0.3)
            waited = anyio.current_time() - started
        # Its run had closed when interrupt_responses returned.
        assert outcome == (["done"] if n == 5 else ["cancelled"])
        assert in_flight() == (0, 0)
    assert ended_in_time is (n == 5)
    assert waited < 0.3 if n == 5 else 0.3 <= waited < 2
    interrupted = f'3:"{INTERRUPTED_MESSAGE}"\n'.encode()
    # On trio no task to cancel: stopped as if its client had left.
    assert b"".join(sent).endswith(interrupted) is (n != 5 and anyio_backend != "trio")
    with pytest.raises(ValueError, match="grace"):
        await interrupt_responses(-1)


class RequestAborted(Exception):
    """Named as Django's: what its disconnect listener raises."""


def _left_behind_listener(raises: type[Exception], wrap: bool) -> list[dict[str, Any]]:
    """An app that, as Django's ASGI handler, leaves a disconnect listener
    running when its handler is cancelled; the listener raises ``raises``
    once told of the disconnect. What the loop's exception handler got."""
    reported: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: reported.append(ctx))
        disconnect = asyncio.Event()

        async def receive() -> dict[str, Any]:
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            pass

        async def app(scope: Any, receive: Any, send: Any) -> None:
            async def listen() -> None:
                await receive()
                raise raises()

            asyncio.create_task(listen())  # noqa: RUF006 (left behind, as Django's)
            await asyncio.sleep(10)

        asgi = drain_on_shutdown(app) if wrap else app
        handler = asyncio.create_task(asgi({"type": "http"}, receive, send))
        await asyncio.sleep(0.01)
        handler.cancel()  # the server's shutdown (Daphne's at SIGTERM)
        with contextlib.suppress(asyncio.CancelledError):
            await handler
        disconnect.set()  # then the connection closes
        for _ in range(5):
            await asyncio.sleep(0)
        gc.collect()  # an unretrieved exception is logged when its task goes

    asyncio.run(main())
    return reported


def test_drain_on_shutdown_retrieves_djangos_request_aborted() -> None:
    assert _left_behind_listener(RequestAborted, wrap=True) == []
    # Control: without the wrapper, asyncio logs it.
    (unwrapped,) = _left_behind_listener(RequestAborted, wrap=False)
    assert unwrapped["message"] == "Task exception was never retrieved"


def test_drain_on_shutdown_still_reports_other_errors_of_a_left_behind_task() -> None:
    (reported,) = _left_behind_listener(ValueError, wrap=True)
    assert reported["message"] == "Task exception was never retrieved"
    assert isinstance(reported["exception"], ValueError)

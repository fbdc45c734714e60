"""ResumableStreams over the in-memory store: producer, replays, cursors, stop, failures."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from assistant_stream_core.resumable import (
    InMemoryStore,
    ResumableStreamError,
    ResumableStreams,
    StreamEntry,
    event_id,
    new_stream_id,
    parse_offset,
    validate_stream_id,
)
from assistant_stream_core.run import RunController, create_run

pytestmark = pytest.mark.anyio

PROTOCOLS = ["data_stream", "assistant_transport", "openai_chat", "ui_message_stream", "ag_ui"]


async def _body(replay: Any) -> bytes:
    return b"".join([data async for data in replay.read_bytes()])


async def _until_finished(streams: ResumableStreams, stream_id: str) -> None:
    with anyio.fail_after(10):
        while await streams.status(stream_id) == "streaming":  # noqa: ASYNC110 - polls a store
            await anyio.sleep(0.01)


def _callback(n: int, delay: float = 0.0) -> Any:
    async def run(controller: RunController) -> None:
        for i in range(n):
            controller.append_text(f"t{i} ")
            await anyio.sleep(delay)

    return run


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_resume_from_start_equals_the_live_stream(protocol: str) -> None:
    streams = ResumableStreams()
    live = await streams.start(_callback(20), protocol, stream_id="s")
    assert live.role == "producer"
    first = await _body(live)
    again = await _body(await streams.resume("s", protocol))
    assert first == again
    assert b"t19" in first
    has_ids = b"\nid: " in first
    assert has_ids == (protocol not in ("data_stream", "openai_chat"))
    assert await streams.status("s") == "done"


async def test_sse_cursor_and_byte_offset_give_exactly_the_missing_bytes() -> None:
    # SSE: cut after any id line, resume after that id.
    streams2 = ResumableStreams()
    live = await streams2.start(_callback(30, 0.001), "assistant_transport", stream_id="a")
    whole = await _body(live)
    ids = [line[4:] for line in whole.split(b"\n") if line.startswith(b"id: ")]
    assert len(ids) >= 2
    for cursor in ids:
        marker = b"id: " + cursor + b"\n\n"
        head = whole[: whole.index(marker) + len(marker)]
        rest = await _body(
            await streams2.resume("a", "assistant_transport", cursor=cursor.decode())
        )
        assert head + rest == whole
    # Data Stream: any byte offset.
    live = await streams2.start(_callback(30, 0.001), "data_stream", stream_id="d")
    whole = await _body(live)
    for offset in (0, 1, 7, len(whole) // 2, len(whole) - 1, len(whole)):
        rest = await _body(await streams2.resume("d", "data_stream", offset=offset))
        assert whole[:offset] + rest == whole


async def test_bad_resume_requests_raise_clear_codes() -> None:
    streams = ResumableStreams()
    await _body(await streams.start(_callback(2), "assistant_transport", stream_id="s"))
    cases = [
        ({"stream_id": "no such"}, "invalid-id"),
        ({"stream_id": "missing"}, "missing"),
        ({"stream_id": "s", "cursor": "garbage"}, "invalid-cursor"),
        ({"stream_id": "s", "cursor": "99"}, "invalid-cursor"),
        ({"stream_id": "s", "cursor": event_id("s", "99")}, "invalid-cursor"),
        ({"stream_id": "s", "cursor": event_id("other", "1")}, "invalid-cursor"),
        ({"stream_id": "s", "offset": -1}, "invalid-cursor"),
        ({"stream_id": "s", "offset": 10**6}, "invalid-cursor"),
        ({"stream_id": "s", "cursor": event_id("s", "1"), "offset": 3}, "invalid-cursor"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ResumableStreamError) as info:
            await streams.resume(protocol="assistant_transport", **kwargs)
        assert info.value.code == code
        assert info.value.http_status in (400, 404)
    for bad in ("-1", "1e3", "x", "1" * 19):
        with pytest.raises(ResumableStreamError, match="offset"):
            parse_offset(bad)
    assert parse_offset(None) == 0
    assert parse_offset("12") == 12


async def test_a_cursor_of_an_expired_stream_is_a_404() -> None:
    clock = [0.0]
    streams = ResumableStreams(InMemoryStore(now=lambda: clock[0], default_ttl_ms=1000))
    body = await _body(await streams.start(_callback(2), "assistant_transport", stream_id="s"))
    last_id = body.rsplit(b"id: ", 1)[1].split(b"\n")[0].decode()
    assert (await _body(await streams.resume("s", "assistant_transport", cursor=last_id))) == b""
    clock[0] = 5000.0
    for kwargs in ({"cursor": last_id}, {"offset": 3}, {}):
        with pytest.raises(ResumableStreamError) as info:
            await streams.resume("s", "assistant_transport", **kwargs)  # type: ignore[arg-type]
        assert info.value.code == "missing"
        assert info.value.http_status == 404


async def test_run_goes_on_after_its_first_client_leaves() -> None:
    streams = ResumableStreams()
    live = await streams.start(_callback(10, 0.01), "data_stream", stream_id="s")
    body = live.read_bytes()
    assert b"t0" in await body.__anext__()
    await body.aclose()
    await _until_finished(streams, "s")
    assert await streams.status("s") == "done"
    assert b"t9" in await _body(await streams.resume("s", "data_stream"))


async def test_one_append_per_drained_batch() -> None:
    store = InMemoryStore()
    appends: list[int] = []
    original = store.append

    async def counting(stream_id: str, chunk: bytes, lease: Any = None) -> str:
        appends.append(len(chunk))
        return await original(stream_id, chunk, lease)

    store.append = counting  # type: ignore[method-assign]

    async def burst(controller: RunController) -> None:
        for i in range(1000):
            controller.append_text(f"{i} ")
        await anyio.lowlevel.checkpoint()

    streams = ResumableStreams(store)
    await _body(await streams.start(burst, "data_stream", stream_id="s"))
    # 1,000 deltas written without a checkpoint drain as one batch (+ the tail).
    assert 1 <= len(appends) <= 3


async def test_a_second_start_with_the_same_id_joins_the_stream() -> None:
    streams = ResumableStreams()
    calls: list[int] = []

    async def run(controller: RunController) -> None:
        calls.append(1)
        controller.append_text("once")
        await anyio.sleep(0.05)

    first = await streams.start(run, "data_stream", stream_id="s")
    second = await streams.start(run, "data_stream", stream_id="s")
    assert second.role == "consumer"
    a, b = await _body(first), await _body(second)
    assert a == b
    assert calls == [1]


async def test_stop_request_cancels_the_producer() -> None:
    streams = ResumableStreams(InMemoryStore(lease_ms=400))
    cancelled = anyio.Event()

    async def forever(controller: RunController) -> None:
        controller.append_text("start")
        try:
            await anyio.sleep(60)
        finally:
            cancelled.set()

    live = await streams.start(forever, "assistant_transport", stream_id="s")
    await anyio.sleep(0.05)
    start = anyio.current_time()
    assert await streams.stop("s")
    with anyio.fail_after(2):
        await cancelled.wait()
        body = await _body(live)
    assert anyio.current_time() - start < 0.5
    assert body.endswith(b"data: [DONE]\n\nid: " + event_id("s", "2").encode() + b"\n\n")
    assert await streams.status("s") == "done"


async def test_a_raising_run_ends_with_its_error_frames_and_status_error() -> None:
    async def failing(controller: RunController) -> None:
        controller.append_text("partial")
        raise RuntimeError("boom")

    streams = ResumableStreams()
    live = await _body(await streams.start(failing, "assistant_transport", stream_id="s"))
    assert b"boom" in live
    assert b"data: [DONE]\n\n" in live
    assert await streams.status("s") == "error"
    # A replay ends the same way, with nothing added.
    assert await _body(await streams.resume("s", "assistant_transport")) == live


class _BrokenStore(InMemoryStore):
    """Appends fail after the first: the store went away mid-run."""

    def __init__(self) -> None:
        super().__init__(lease_ms=400)
        self.appends = 0

    async def append(self, stream_id: str, chunk: bytes, lease: Any = None) -> str:
        self.appends += 1
        if self.appends > 1:
            raise ConnectionError("store down")
        return await super().append(stream_id, chunk, lease)


async def test_store_failure_keeps_the_connected_client_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _BrokenStore()
    streams = ResumableStreams(store)
    live = await _body(await streams.start(_callback(5, 0.01), "data_stream", stream_id="s"))
    assert all(f"t{i}".encode() in live for i in range(5))
    failures = [r for r in caplog.records if "store failed" in r.getMessage()]
    assert len(failures) == 1
    # A reader of the store learns the stream will not be completed.
    replay = await streams.resume("s", "data_stream")
    with anyio.fail_after(3):
        body = await _body(replay)
    assert b"producer lost" in body


async def test_cut_short_stream_gets_an_error_frame_and_closing_frames() -> None:
    store = InMemoryStore(lease_ms=200)
    lease = await store.acquire_lease("s")
    assert lease is not None
    await store.append("s", b'data: {"type":"text-delta"}\n\n', lease)
    streams = ResumableStreams(store)
    with anyio.fail_after(3):
        body = await _body(await streams.resume("s", "assistant_transport"))
    assert b"producer lost" in body
    assert body.endswith(b"data: [DONE]\n\n")


async def test_slow_first_client_reads_from_the_store() -> None:
    streams = ResumableStreams()

    async def big(controller: RunController) -> None:
        for _ in range(40):
            controller.append_text("x" * 100_000)
            await anyio.lowlevel.checkpoint()

    live = await streams.start(big, "data_stream", stream_id="s")
    body = live.read_bytes()
    first = await body.__anext__()
    await _until_finished(streams, "s")
    rest = b"".join([d async for d in body])
    assert first + rest == await _body(await streams.resume("s", "data_stream"))
    assert len(first + rest) > 4_000_000


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_plain_run_cancelled_before_its_producer_starts_does_not_hang() -> None:
    # Regression: a detached producer task cancelled before its first step
    # (the event loop shutting down) left its consumer waiting forever.
    from assistant_stream_core.run import _producer

    run = create_run(_callback(1))
    consumer = asyncio.ensure_future(run.__anext__())
    await asyncio.sleep(0)  # the consumer spawned the producer, which has not run yet
    for task in list(_producer._DETACHED):
        task.cancel()
    consumer.cancel()
    with anyio.fail_after(2):
        await asyncio.gather(consumer, return_exceptions=True)


async def test_entries_are_plain_values() -> None:
    entry = StreamEntry("1", b"x")
    assert (entry.cursor, entry.chunk) == ("1", b"x")


def test_generated_stream_ids_carry_144_random_bits_from_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = {new_stream_id() for _ in range(1000)}
    assert len(ids) == 1000
    for sid in ids:
        validate_stream_id(sid)
        assert re.fullmatch(r"[A-Za-z0-9_-]{24}", sid), sid  # 24 base64 digits: 144 bits
    asked: list[int] = []
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: asked.append(n) or "x" * 24)
    new_stream_id()
    assert asked == [18]  # bytes from secrets: 144 bits, at least the 128 required

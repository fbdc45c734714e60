"""The blocking iterator, used from plain synchronous code."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from assistant_stream_core.chunks import TextDeltaChunk
from assistant_stream_core.protocols.data_stream import DataStreamDecoder
from assistant_stream_core.run.blocking import BlockingStream
from assistant_stream_core.run.serve import StreamEnd

from .scenarios import build, finished


def portal_threads() -> int:
    return sum(1 for t in threading.enumerate() if "-portal-" in t.name)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_iterates_the_whole_stream(backend: str) -> None:
    rid = uuid.uuid4().hex
    stream = BlockingStream(lambda: build("text", {"rid": rid})[0], "data_stream", backend=backend)
    body = b"".join(stream)
    decoder = DataStreamDecoder()
    texts = [c.text_delta for c in decoder.feed(body) if isinstance(c, TextDeltaChunk)]
    assert "".join(texts) == "Hello, world"
    assert stream.result is not None
    assert stream.result.end is StreamEnd.COMPLETE
    assert finished(rid).is_set()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_close_early_stops_the_run_and_the_thread(backend: str) -> None:
    before = portal_threads()
    rid = uuid.uuid4().hex
    stream = BlockingStream(build("endless", {"rid": rid})[0], "data_stream", backend=backend)
    assert b"tick 0" in next(stream)
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 1.0
    assert finished(rid).is_set()
    assert stream.result is not None
    assert stream.result.end is StreamEnd.DISCONNECTED
    assert list(stream) == []
    assert portal_threads() == before


def test_close_before_start_closes_the_source() -> None:
    rid = uuid.uuid4().hex
    source = build("text", {"rid": rid})[0]
    source.batches()  # as if a run had been started
    with BlockingStream(source, "data_stream"):
        pass
    assert finished(rid).is_set()


def test_consumer_that_stops_taking_buffers_hits_the_send_timeout() -> None:
    rid = uuid.uuid4().hex
    with BlockingStream(
        build("flood", {"rid": rid})[0], "data_stream", send_timeout=0.2, buffer_size=1
    ) as stream:
        next(stream)
        assert finished(rid).wait(3)
        assert b"".join(stream)  # what was buffered, then the end
        assert stream.result is not None
        assert stream.result.end is StreamEnd.SEND_TIMEOUT


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_real_run_created_on_the_private_loop(backend: str) -> None:
    from assistant_stream_core.run import RunController, create_run

    async def callback(controller: RunController) -> None:
        controller.append_text("from ")
        controller.append_text(backend)

    with BlockingStream(lambda: create_run(callback), "data_stream", backend=backend) as stream:
        body = b"".join(stream)
    decoder = DataStreamDecoder()
    texts = [c.text_delta for c in decoder.feed(body) if isinstance(c, TextDeltaChunk)]
    assert "".join(texts) == f"from {backend}"

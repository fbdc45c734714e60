"""The Django response picks the iterator kind its handler consumes."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

from .django_app import configure
from .scenarios import build, finished

configure()

from asgiref.sync import sync_to_async  # noqa: E402
from assistant_stream_django import AssistantStreamHttpResponse, DataStreamHttpResponse  # noqa: E402

EXPECTED = b'0:"Hello"\n0:", "\n0:"world"\n'


def response(scenario: str = "text") -> tuple[AssistantStreamHttpResponse, str]:
    rid = uuid.uuid4().hex
    return DataStreamHttpResponse(build(scenario, {"rid": rid})[0]), rid


def test_sync_consumer_gets_the_blocking_iterator_without_warnings() -> None:
    r, rid = response()
    assert r.is_async is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body = b"".join(r)
    r.close()
    assert body == EXPECTED
    assert finished(rid).is_set()
    assert r.result is not None


def test_headers_and_named_class() -> None:
    r, _ = response()
    assert r["Content-Type"] == "text/plain; charset=utf-8"
    assert r["x-vercel-ai-data-stream"] == "v1"
    assert r["Cache-Control"] == "no-cache, no-transform"
    r.close()


def test_closing_an_unread_sync_response_stops_the_run() -> None:
    r, rid = response("endless")
    iterator = iter(r)
    assert b"tick 0" in next(iterator)
    r.close()
    assert finished(rid).is_set()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_async_consumer_gets_the_async_iterator_without_warnings() -> None:
    r, rid = response()
    assert r.is_async is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body = b"".join([part async for part in r])
    assert body == EXPECTED
    assert finished(rid).is_set()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_sync_middleware_under_asgi_wraps_the_async_kind() -> None:
    r, _ = response()

    def middleware(resp: Any) -> None:
        # What a sync middleware such as GZipMiddleware does, in the worker
        # thread Django's ASGI handler runs it in.
        if resp.is_async:
            original = resp.streaming_content

            async def upper() -> AsyncIterator[bytes]:
                async for part in original:
                    yield part.upper()

            resp.streaming_content = upper()
        else:
            resp.streaming_content = (part.upper() for part in resp.streaming_content)

    await sync_to_async(middleware)(r)
    assert r.is_async is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body = b"".join([part async for part in r])
    assert body == EXPECTED.upper()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_cancelling_the_consumer_stops_the_run_whatever_wraps_the_body() -> None:
    # Django cancels its task on a disconnect; the wrapper is neither closed
    # nor collected here (Django 6.1's exception group keeps its frame alive
    # until the collector runs), so only the cancellation can stop the run.
    import asyncio

    r, rid = response("endless")
    original = r.streaming_content

    async def wrapper() -> AsyncIterator[bytes]:
        async for part in original:
            yield part

    wrapped = wrapper()
    got = b""
    ticked = asyncio.Event()

    async def consume() -> None:
        nonlocal got
        async for part in wrapped:
            got += part
            if b"tick 4" in got:
                ticked.set()

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(ticked.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if finished(rid).is_set():
            break
        await asyncio.sleep(0.01)
    assert finished(rid).is_set(), "the run went on after its consumer was cancelled"
    assert wrapped is not None  # still referenced: no finalizer helped

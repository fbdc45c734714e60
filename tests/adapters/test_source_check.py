"""A response given something that is not a stream says so when it is built.

The first-hour mistake is ``DataStreamResponse(run)``: the callback, not
``create_run(run)``. It used to surface while the response was being sent, as
a 500 with ``AttributeError: 'function' object has no attribute '__aiter__'``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from assistant_stream_core.run import RunController, create_run


async def answer(controller: RunController) -> None:
    controller.append_text("hi")


def starlette_response(source: Any) -> Any:
    from assistant_stream_starlette import DataStreamResponse

    return DataStreamResponse(source)


def aiohttp_response(source: Any) -> Any:
    from assistant_stream_aiohttp import DataStreamResponse

    return DataStreamResponse(source)


def django_response(source: Any) -> Any:
    from tests.adapters.django_app import configure

    configure()
    from assistant_stream_django import DataStreamHttpResponse

    return DataStreamHttpResponse(source)


def upstream_response(source: Any) -> Any:
    from assistant_stream_ce.serialization.data_stream import DataStreamResponse

    return DataStreamResponse(source)


RESPONSES = [starlette_response, aiohttp_response, django_response, upstream_response]
PREFIX = "a response streams a run or an async iterable of chunks, got "


@pytest.mark.parametrize("build", RESPONSES, ids=lambda build: build.__name__)
def test_the_callback_instead_of_a_run_names_create_run(build: Callable[[Any], Any]) -> None:
    with pytest.raises(TypeError, match=re.escape(f"{PREFIX}function; pass create_run(answer)")):
        build(answer)
    with pytest.raises(TypeError, match=re.escape(f"{PREFIX}list")):
        build([])
    coroutine = answer(None)  # type: ignore[arg-type]
    try:
        with pytest.raises(TypeError, match="not the coroutine callback"):
            build(coroutine)
    finally:
        coroutine.close()


@pytest.mark.parametrize("build", RESPONSES, ids=lambda build: build.__name__)
def test_a_run_and_an_async_generator_are_accepted(build: Callable[[Any], Any]) -> None:
    async def chunks() -> Any:
        return
        yield

    run = create_run(answer)
    build(run)
    build(chunks())

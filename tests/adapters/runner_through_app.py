"""A paced Starlette stream for servers started by their own command line
(Granian, Hypercorn), counting what the write-through does in their worker.

``GET /paced`` streams 10 tokens 10 ms apart; ``GET /count`` answers
``taken declined handed``: the writes the write-through sent from the run's
own call, the writes it left to the serving loop, and the sends it took that
suspended and were handed to the serving loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from assistant_stream_starlette import DataStreamResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from assistant_stream_core.run import create_run, serve

TOKENS = 10
_calls: list[int] = []
_write_through = serve._Streamer.write_through
_hand_over = serve._Streamer.hand_over


def _counting(self: serve._Streamer, chunk: Any) -> bool:
    went = _write_through(self, chunk)
    _calls.append(int(went))
    return went


def _handing(self: serve._Streamer, step: Any, yielded: Any, size: int) -> None:
    _hand_over(self, step, yielded, size)
    _calls.append(2)


# This module is the worker's app and nothing else runs in that process.
serve._Streamer.write_through = _counting  # type: ignore[method-assign]
serve._Streamer.hand_over = _handing  # type: ignore[method-assign]


async def _paced(controller: Any) -> None:
    for i in range(TOKENS):
        controller.append_text(f"token {i} ")
        await asyncio.sleep(0.01)


async def paced(request: Request) -> Response:
    return DataStreamResponse(create_run(_paced))


async def count(request: Request) -> Response:
    return PlainTextResponse(f"{_calls.count(1)} {_calls.count(0)} {_calls.count(2)}")


app = Starlette(routes=[Route("/paced", paced), Route("/count", count)])

"""Run a callback on our run layer and collect what it sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant_stream_core.chunks import Chunk, DataChunk, UpdateStateChunk
from assistant_stream_core.run import RunController, create_run

MARK = "mark"


async def collect(callback: Callable[[RunController], Any], state: Any = None) -> list[Chunk]:
    """Every chunk of a run of ``callback``."""

    async def run(controller: RunController) -> None:
        result = callback(controller)
        if hasattr(result, "__await__"):
            await result

    return [chunk async for chunk in create_run(run, state=state)]


def operations(chunks: list[Chunk], *, after_mark: bool = False) -> list[dict[str, Any]]:
    """The state operations in ``chunks`` (upstream's dict form), optionally after the mark."""
    ops: list[dict[str, Any]] = []
    for chunk in chunks:
        if isinstance(chunk, DataChunk) and chunk.data == MARK and after_mark:
            ops.clear()
        elif isinstance(chunk, UpdateStateChunk):
            ops.extend(op.to_dict() for op in chunk.operations)
    return ops

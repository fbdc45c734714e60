"""Helpers shared by the run-layer tests."""

from __future__ import annotations

from typing import Any

from assistant_stream_core.chunks import Chunk, TextDeltaChunk, UpdateStateChunk
from assistant_stream_core.run import Run, RunCallback, create_run


async def collect(callback: RunCallback, **kwargs: Any) -> list[Chunk]:
    """Run ``callback`` to the end and return every chunk."""
    return [chunk async for chunk in create_run(callback, **kwargs)]


def operations(chunks: list[Chunk]) -> list[dict[str, Any]]:
    """Every state operation in ``chunks``, in upstream's dict form."""
    return [
        op.to_dict()
        for chunk in chunks
        if isinstance(chunk, UpdateStateChunk)
        for op in chunk.operations
    ]


def coalesce(chunks: list[Chunk]) -> list[Chunk]:
    """Join adjacent text deltas (the normalisation the run applies when behind)."""
    out: list[Chunk] = []
    for chunk in chunks:
        last = out[-1] if out else None
        if (
            isinstance(chunk, TextDeltaChunk)
            and isinstance(last, TextDeltaChunk)
            and last.parent_id == chunk.parent_id
        ):
            out[-1] = TextDeltaChunk(
                text_delta=last.text_delta + chunk.text_delta, parent_id=chunk.parent_id
            )
        else:
            out.append(chunk)
    return out


async def collect_with_error(run: Run) -> tuple[list[Chunk], Exception | None]:
    """Every chunk of ``run`` and the exception it ended with (``None`` if none)."""
    chunks: list[Chunk] = []
    try:
        async for chunk in run:
            chunks.append(chunk)
    except Exception as exc:
        return chunks, exc
    return chunks, None

"""The probe that tells whether Django's gzip functions flush every piece.

Run on compressors shaped like Django's (``compress_sequence`` up to 6.0 and
from 6.1, ``acompress_sequence`` of 6.0 and 6.1), so every branch is tested
whatever Django is installed; the installed one is checked against its
version number.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

import django
import pytest

from .django_app import configure

configure()

from assistant_stream_django._django_gzip import (  # noqa: E402
    HOLDS_BACK,
    flushes_every_piece,
    gzip_problem,
)
from django.utils import text  # noqa: E402


class _Buffer(io.BytesIO):
    def take(self) -> bytes:
        data = self.getvalue()
        self.seek(0)
        self.truncate()
        return data


def _compressors(flush: bool) -> list[tuple[object, bool]]:
    # One function per shape: the probe is cached per function.
    def sync(sequence: Iterable[bytes], *, max_random_bytes: int = 0) -> Iterator[bytes]:
        buf = _Buffer()
        with gzip.GzipFile(mode="wb", fileobj=buf, mtime=0) as zfile:
            yield buf.take()
            for item in sequence:
                zfile.write(item)
                if flush:
                    zfile.flush()
                if data := buf.take():
                    yield data
        yield buf.take()

    async def asynchronous(
        sequence: AsyncIterable[bytes], *, max_random_bytes: int = 0
    ) -> AsyncIterator[bytes]:
        buf = _Buffer()
        with gzip.GzipFile(mode="wb", fileobj=buf, mtime=0) as zfile:
            yield buf.take()
            async for item in sequence:
                zfile.write(item)
                if flush:
                    zfile.flush()
                if data := buf.take():
                    yield data
        yield buf.take()

    return [(sync, flush), (asynchronous, flush)]


@pytest.mark.parametrize(
    ("compress", "flushes"), [*_compressors(flush=True), *_compressors(flush=False)]
)
def test_probe_tells_flushing_from_holding_back(compress: object, flushes: bool) -> None:
    assert flushes_every_piece(compress) is flushes  # type: ignore[arg-type]


def test_probe_of_an_async_compressor_that_waits_says_no() -> None:
    async def waits(sequence: AsyncIterable[bytes], **_: int) -> AsyncIterator[bytes]:
        import asyncio

        await asyncio.sleep(0)  # suspends: cannot be stepped without a loop
        yield b""

    assert flushes_every_piece(waits) is False


def test_probe_of_a_compressor_it_cannot_call_says_no() -> None:
    def other_signature(sequence: Iterable[bytes]) -> Iterator[bytes]:
        yield from sequence

    assert flushes_every_piece(other_signature) is False


def test_installed_django_flushes_from_6_1() -> None:
    from_6_1 = django.VERSION >= (6, 1)
    assert flushes_every_piece(text.compress_sequence) is from_6_1
    if django.VERSION >= (6, 0):
        assert flushes_every_piece(text.acompress_sequence) is from_6_1
    wrapped = text.compress_sequence(iter([b"x"]), max_random_bytes=0)
    assert gzip_problem(wrapped) == (None if from_6_1 else HOLDS_BACK)


def test_other_bodies_are_no_problem() -> None:
    def body() -> Iterator[bytes]:
        yield b"x"

    assert gzip_problem(body()) is None
    assert gzip_problem([b"x"]) is None

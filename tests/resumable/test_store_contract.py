"""The store contract (assistant_stream_core.testing.resumable) against the in-memory store."""

from __future__ import annotations

from typing import Any

import pytest

from assistant_stream_core.resumable import InMemoryStore
from assistant_stream_core.resumable.store import OffsetReader
from assistant_stream_core.testing.resumable import CONTRACT_CHECKS, Check, check_offset_reads

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("check", CONTRACT_CHECKS, ids=lambda c: c.__name__)
async def test_in_memory_store(check: Check) -> None:
    await check(InMemoryStore(lease_ms=400))


class WithoutOffsetIndex:
    """A user's store with the base contract only (no ``open_read_at``)."""

    def __init__(self) -> None:
        self._inner = InMemoryStore(lease_ms=400)
        self.heartbeat_interval = self._inner.heartbeat_interval

    def __getattr__(self, name: str) -> Any:
        if name == "open_read_at":
            raise AttributeError(name)
        return getattr(self._inner, name)


async def test_offset_reads_of_a_store_without_an_index() -> None:
    store = WithoutOffsetIndex()
    assert not isinstance(store, OffsetReader)
    await check_offset_reads(store)


async def test_the_offset_check_catches_a_wrong_index() -> None:
    class OffByOne(InMemoryStore):
        async def open_read_at(self, stream_id: str, offset: int) -> Any:
            return await super().open_read_at(stream_id, max(0, offset - 1))

    with pytest.raises(AssertionError):
        await check_offset_reads(OffByOne(lease_ms=400))

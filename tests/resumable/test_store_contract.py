"""The store contract (assistant_stream_core.testing.resumable) against the in-memory store."""

from __future__ import annotations

import pytest

from assistant_stream_core.resumable import InMemoryStore
from assistant_stream_core.testing.resumable import CONTRACT_CHECKS, Check

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("check", CONTRACT_CHECKS, ids=lambda c: c.__name__)
async def test_in_memory_store(check: Check) -> None:
    await check(InMemoryStore(lease_ms=400))

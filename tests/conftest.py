"""Shared fixtures.

Async tests use anyio's pytest plugin. ``anyio_backend`` runs every test marked
``@pytest.mark.anyio`` on asyncio and on trio; framework-bound tests override it
with ``asyncio`` only.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
from collections.abc import Iterator

import pytest

#: After every test, fail it if it left a thread, a child process or a file
#: descriptor behind (tests/leakcheck.py).
pytest_plugins = ["tests.leakcheck"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _default_event_loop_policy() -> Iterator[None]:
    """Give the next test the default asyncio policy, whatever this one set.

    Older uvicorn releases (0.29 among them) install uvloop's policy
    process-wide when a server starts with ``loop="uvloop"``; the tests that
    follow in the same process would then run ``asyncio.run`` on uvloop (the
    lowest-versions run, scripts/test-lowest.sh, installs uvicorn 0.29). A
    loop already running in a server thread keeps its own loop.
    """
    yield
    if type(asyncio.get_event_loop_policy()) is not asyncio.DefaultEventLoopPolicy:
        asyncio.set_event_loop_policy(None)


IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: anyio's asyncio backend on uvloop's event loop (what ``uvicorn[standard]``
#: runs), for ``parametrize("anyio_backend", ["asyncio", UVLOOP])``. Without
#: uvloop it skips on a developer machine and fails in CI.
UVLOOP = pytest.param(
    ("asyncio", {"use_uvloop": True}),
    id="uvloop",
    marks=pytest.mark.skipif(
        importlib.util.find_spec("uvloop") is None and not IN_CI,
        reason="uvloop is missing; ./scripts/test.sh installs it (the test extra)",
    ),
)


#: How to get what ``./scripts/test.sh`` installs.
BY_TEST_SH = "./scripts/test.sh installs it"


def require_tool(available: bool, what: str, how: str = BY_TEST_SH) -> None:
    """Skip on a developer machine, fail loudly in CI, when ``what`` is missing.

    ``how`` says how to get it; the message is all a reader of the skip sees.
    """
    if available:
        return
    message = f"{what} is missing; {how}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_executable(name: str) -> str:
    """Return the path of ``name`` on PATH (see :func:`require_tool`)."""
    path = shutil.which(name)
    require_tool(path is not None, f"the executable {name!r}")
    assert path is not None
    return path

"""The write-through on Granian and Hypercorn, each started by its own
command line (a supervisor and a worker process), on both event loops.

Their ``send`` finishes without suspending, as uvicorn's does, so a paced
token goes from the run's ``append_text`` to the server with no second task
woken; benchmarks.paced's Granian and Hypercorn figures rest on this.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.shutdown.procs import server

from .runner_through_app import TOKENS

APP = "tests.adapters.runner_through_app:app"


def _argv(name: str) -> list[str]:
    if name.startswith("granian"):
        loop = name.removeprefix("granian-")
        argv = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
        return [*argv, "--port", "{port}", "--loop", loop, APP]
    worker = name.removeprefix("hypercorn-")
    argv = [sys.executable, "-m", "hypercorn", APP, "--bind", "127.0.0.1:{port}"]
    return [*argv, "--worker-class", worker]


@pytest.mark.parametrize(
    "name", ["granian-asyncio", "granian-uvloop", "hypercorn-asyncio", "hypercorn-uvloop"]
)
def test_paced_tokens_go_through_and_no_send_is_handed_over(name: str, tmp_path: Path) -> None:
    for module in (name.split("-")[0], "uvloop"):
        require_tool(importlib.util.find_spec(module) is not None, f"the module {module!r}")
    streams = 3
    with server(_argv(name), tmp_path) as started, httpx.Client(timeout=20) as client:
        for _ in range(streams):
            body = client.get(f"{started.url}/paced").text
            assert body.count("token ") == TOKENS, body
        taken, declined, handed = map(int, client.get(f"{started.url}/count").text.split())
    # A stream's first token comes before its serving loop waits: it is declined.
    assert taken >= streams * (TOKENS - 2), (taken, declined, handed)
    assert taken + declined == streams * TOKENS
    assert handed == 0

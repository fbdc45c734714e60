"""Chromium over HTTP/2: a page that aborts one stream, and a server's SIGTERM.

Hypercorn and Granian serve :mod:`tests.shutdown.env_app` (Starlette) over
TLS from their command lines; ``http2.mjs`` drives Debian's Chromium through
npm ``playwright-core``. The page fetches two streams on one connection,
reads the first piece of one and aborts it (Chromium resets that stream),
reads the other whole, then starts a third; the test sends ``SIGTERM`` once
the page has its first piece, and the page reads on. What the browser sees
is what docs/adapters/index.rst and docs/guides/graceful-shutdown.rst
("HTTP/2") describe; tests/adapters/test_http2.py and tests/shutdown/test_http2.py
check the same frame by frame.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.cli_servers import Certs
from tests.conftest import require_executable, require_tool
from tests.shutdown.procs import Server, app_env, asgi_server, server

from .test_example_page import CHROMIUM, GET_CHROMIUM, PLAYWRIGHT

SCRIPT = Path(__file__).with_name("http2.mjs")
# Chromium starts slowly on a busy machine.
pytestmark = pytest.mark.timeout(90)


def deltas(n: int) -> str:
    return "".join(f'0:"t{i} "\n' for i in range(n))


def _wait_flag(srv: Server, rid: str, seconds: float) -> str | None:
    deadline = time.monotonic() + seconds
    while not srv.flag(rid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return srv.flag(rid)


def _browse(name: str, tmp_path: Path) -> tuple[dict[str, Any], Server]:
    """Run the page against ``name``; return its report and the stopped server."""
    node = require_executable("node")
    require_tool(Path(CHROMIUM).is_file(), f"Chromium at {CHROMIUM}", GET_CHROMIUM)
    require_tool(PLAYWRIGHT.is_file(), "npm playwright-core in tests/interop/node_modules")
    certs = Certs.make(tmp_path)
    plan = {
        "abort": "/stream?n=1000&delay=0.05&rid=aborted",
        "keep": "/stream?n=6&delay=0.05&rid=kept",
        "stream": "/stream?n=16&delay=0.05&rid=last",
    }
    argv = asgi_server(name) + certs.argv(name)
    with server(argv, tmp_path, env=app_env("starlette", tmp_path, 5)) as srv:
        page = subprocess.Popen(
            [node, str(SCRIPT), f"https://127.0.0.1:{srv.port}", json.dumps(plan)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert page.stdout is not None
            first = page.stdout.readline()
            assert first == "first\n", page.communicate(timeout=10)
            # The aborted run would stream for 50 s: only the reset ends it.
            assert _wait_flag(srv, "aborted", 1) == "cancelled"
            srv.terminate()
            out, err = page.communicate(timeout=60)
        finally:
            page.kill()
        assert page.returncode == 0, f"http2.mjs failed:\n{err}"
        srv.process.wait(10)
    return json.loads(out), srv


def test_granian_chromium_aborts_one_stream_and_reads_through_a_deploy(tmp_path: Path) -> None:
    report, srv = _browse("granian", tmp_path)
    assert set(report["protocols"]) == {"h2"}
    assert report["keep"] == deltas(6)
    assert report["stream"] == {"body": deltas(16), "error": None}
    assert (srv.flag("kept"), srv.flag("last")) == ("done", "done")


def test_hypercorn_chromium_sees_the_last_stream_fail_at_a_deploy(tmp_path: Path) -> None:
    """Hypercorn closes the connection before the last stream's end
    (tests/shutdown/test_http2.py): Chromium has every byte, then an error."""
    report, srv = _browse("hypercorn", tmp_path)
    assert set(report["protocols"]) == {"h2"}
    assert report["keep"] == deltas(6)
    assert report["stream"]["body"] == deltas(16)
    assert report["stream"]["error"] == "TypeError: network error"
    assert (srv.flag("kept"), srv.flag("last")) == ("done", "done")

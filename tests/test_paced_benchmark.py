"""The paced and slow-client benchmarks, run small: real servers, checked responses.

Every response is checked inside the benchmark (every token, the whole slow
text), so a contender that drops or reorders anything fails here.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import subprocess
import sys
import time

import pytest

from benchmarks import paced

pytestmark = pytest.mark.skipif(
    paced.available() is not None, reason="the HTTP servers are not installed"
)


def test_paced_reports_cpu_lateness_and_memory_for_each_contender(
    capsys: pytest.CaptureFixture[str],
) -> None:
    contenders = ["ours-starlette", "ours-aiohttp", "ours-django", "floor-django"]
    if importlib.util.find_spec("assistant_stream") is not None:
        contenders.append("upstream")
    workload = paced.PacedWorkload(streams=8, tokens=5, pace=0.005, hold=1.5)
    results = asyncio.run(paced.measure_paced(workload, contenders, repeat=1))
    for result in results:
        assert result.missing is None
        assert len(result.cpu_per_1000) == 1
        assert result.cpu_per_1000[0] >= 0
        assert len(result.late_p99) == 1
        assert result.peak_rss > 0
    paced.print_paced(workload, results)
    report = capsys.readouterr().out
    assert "ours: Django ASGI" in report
    assert "floor: Django StreamingHttpResponse" in report
    assert "RSS/stream" in report


def test_slow_client_frames_stay_bounded() -> None:
    workload = paced.SlowWorkload(total=2 * 2**20)
    results = asyncio.run(paced.measure_slow(workload, ["ours-starlette", "ours-starlette+drain"]))
    for result in results:
        assert result.missing is None
        # A Data Stream text frame of a merged delta: 32 Ki characters and "0:".
        assert result.largest_frame <= 32 * 1024 + 8


def test_slow_client_on_granian_and_hypercorn_with_drain_stays_flat() -> None:
    """The slow workload under each runner: whole text, bounded frames, and
    with ``drain()`` no backlog in the run or the server."""
    from .conftest import require_tool

    for runner in ("granian", "hypercorn"):
        require_tool(importlib.util.find_spec(runner) is not None, f"the server {runner!r}")
    workload = paced.SlowWorkload(total=6 * 2**20)
    contenders = ["ours-granian+drain", "ours-hypercorn+drain"]
    for result in asyncio.run(paced.measure_slow(workload, contenders)):
        assert result.missing is None
        assert result.largest_frame <= 32 * 1024 + 8
        # Without flow control the server would hold most of the 6 MiB
        # (Granian holds up to 4 MiB for a client that never reads).
        assert result.growth < 4 * 2**20, f"{result.label}: +{result.growth} bytes"


def test_bytecode_count_per_token_names_the_write_through() -> None:
    from benchmarks import paced_bytecodes

    floor, _ = paced_bytecodes.measure("floor", streams=2, pace=0.005)
    ours, per_function, fixed, fixed_per_function = paced_bytecodes.measure_both(
        "ours-starlette", streams=2, pace=0.005
    )
    # Ours does more in Python per token than a response of pre-encoded frames.
    assert 0 < floor < ours
    assert per_function["serve.py", "write_through"] > 0
    # A stream's start and end: the run's producer starts once per stream.
    assert fixed > 0
    assert fixed_per_function["_producer.py", "spawn"] > 0


def test_bytecode_count_under_django_wakes_no_django_iteration_per_token() -> None:
    # In a process of its own: Django is configured once per process.
    out = subprocess.run(
        [
            *(sys.executable, "-m", "benchmarks.paced_bytecodes"),
            *("--only", "floor-django", "--only", "ours-django"),
            *("--streams", "2", "--pace", "0.005", "--top", "500"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    floor_rows, ours_rows = out.split("ours: Django ASGI")
    floor, ours = _per_function(floor_rows), _per_function(ours_rows)
    # Django's own iteration runs once per token for its floor...
    assert floor["asgi.py:chunk_bytes"] >= 1
    assert floor["asgi.py:send_response"] >= 1
    # ...but not for ours: the token goes from the run's call to the server.
    assert ours["serve.py:write_through"] >= 1
    assert ours.get("asgi.py:chunk_bytes", 0) < 1
    assert ours.get("asgi.py:send_response", 0) < 1
    assert ours.get("responses.py:__anext__", 0) < 1


def _per_function(rows: str) -> dict[str, float]:
    """``count  file:function`` lines of a paced_bytecodes report."""
    counts = {}
    for line in rows.splitlines():
        parts = line.split()
        if len(parts) == 2 and ":" in parts[1]:
            counts[parts[1]] = float(parts[0])
    return counts


@pytest.mark.parametrize("contender", ["floor", "upstream", "ours-starlette", "ours-aiohttp"])
def test_loop_and_http_options_reach_every_server(contender: str) -> None:
    """``--loop uvloop --http httptools``: each server process runs on them
    (their extension modules are loaded in it) and serves every token."""
    from benchmarks.http import ServerStack, _Server

    from .conftest import require_tool

    for module in ("uvloop", "httptools"):
        require_tool(importlib.util.find_spec(module) is not None, f"the module {module!r}")
    if contender == "upstream" and importlib.util.find_spec("assistant_stream") is None:
        pytest.skip("upstream assistant-stream is not installed")
    server = _Server(contender, module="benchmarks.paced", stack=ServerStack("uvloop", "httptools"))
    try:
        workload = paced.PacedWorkload(streams=4, tokens=5, pace=0.005)
        result = paced.PacedResult(contender)
        # Checks that every response carries every token.
        asyncio.run(paced._paced_round(server, workload, result))
        assert len(result.cpu_per_1000) == 1
        with open(f"/proc/{server.process.pid}/maps", encoding="utf-8") as maps:
            loaded = maps.read()
    finally:
        server.stop()
    assert "/uvloop/loop." in loaded
    if contender != "ours-aiohttp":  # aiohttp has its own HTTP parser
        assert "/httptools/parser/parser." in loaded


def test_two_stacks_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import paced_stacks

    from .conftest import require_tool

    for module in ("uvloop", "httptools"):
        require_tool(importlib.util.find_spec(module) is not None, f"the module {module!r}")
    workload = paced.PacedWorkload(streams=4, tokens=5, pace=0.005)
    results = asyncio.run(paced_stacks.measure(workload, ["ours-starlette"], repeat=1))
    assert list(results) == [("ours-starlette", stack) for stack in paced_stacks.STACKS]
    for result in results.values():
        assert result.missing is None
        assert len(result.cpu_per_1000) == 1
        assert result.peak_rss > 0
    paced_stacks.print_table(workload, results)
    report = capsys.readouterr().out
    assert "asyncio loop, uvicorn on h11" in report
    assert "uvloop loop, uvicorn on httptools" in report


def test_granian_and_hypercorn_contenders_serve_every_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each started by its own runner (a supervisor and a worker process):
    every token arrives, and the table compares ours with the same server's
    floor. One round each, without the open-stream phase (a few seconds)."""
    from benchmarks.http import _Server

    from .conftest import require_tool

    for runner in ("granian", "hypercorn"):
        require_tool(importlib.util.find_spec(runner) is not None, f"the server {runner!r}")
    contenders = ["floor-granian", "ours-granian", "floor-hypercorn", "ours-hypercorn"]
    workload = paced.PacedWorkload(streams=8, tokens=5, pace=0.005)
    results = []
    for contender in contenders:
        server = _Server(contender, module="benchmarks.paced")
        try:
            result = paced.PacedResult(contender)
            # Checks that every response carries every token.
            asyncio.run(paced._paced_round(server, workload, result))
            result.peak_rss = server.memory("VmHWM")
        finally:
            server.stop()
        assert len(result.cpu_per_1000) == 1
        assert result.cpu_per_1000[0] >= 0
        assert result.peak_rss > 0
        results.append(result)
    # CPU is counted in clock ticks: a floor of 0 would leave "vs own" empty.
    for result in results:
        result.cpu_per_1000 = [max(result.cpu_per_1000[0], 1e-3)]
    paced.print_paced(workload, results)
    rows = {line.split("  ")[1].strip(): line for line in capsys.readouterr().out.splitlines()[3:]}
    assert set(rows) == {paced.CONTENDERS[name] for name in contenders}
    for runner in ("Granian", "Hypercorn"):
        assert re.search(r"\d\.\d\dx", rows[f"ours: Starlette, {runner}"].split("ms", 1)[1])


def test_a_runner_is_measured_over_its_worker_and_stopped_whole() -> None:
    from benchmarks.http import _Server

    from .conftest import require_tool

    require_tool(importlib.util.find_spec("granian") is not None, "the server 'granian'")
    server = _Server("ours-granian", module="benchmarks.paced")
    try:
        pids = server.pids()
        supervisor = paced._cpu_seconds_of([server.process.pid])
        # The worker serves the app: its CPU (imports, the readiness request)
        # and memory count, not only the supervisor's.
        assert len(pids) >= 2
        assert paced._cpu_seconds(server) > supervisor
    finally:
        server.stop()
    time.sleep(0.5)  # the orphans' reaping by init
    assert not [pid for pid in pids if _running(pid)]


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

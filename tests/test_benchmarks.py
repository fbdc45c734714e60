"""The encoder benchmark, run small: it must keep running, and keep checking.

Every contender of ours (``encode_many``, ``encode`` per chunk, fed by an
async generator, ``encode_stream``) and the floors must write the same bytes
on every workload, or the benchmark raises before it times anything.
"""

from __future__ import annotations

import gc
import importlib.util
import itertools
import re
from collections.abc import Iterator

import pytest

from assistant_stream_core.chunks import StepFinishChunk, StepStartChunk, TextDeltaChunk
from benchmarks import encoders, http


@pytest.fixture(autouse=True)
def _frozen_heap() -> Iterator[None]:
    """The benchmarks collect garbage before each timing; in a test session the
    heap holds every earlier test's objects, and each collection walked them
    (half a second each, 30 s for one test). Frozen, they are not walked."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def test_agent_turns_are_whole_turns_in_batches() -> None:
    responses = encoders.agent_turns(1000)
    assert sum(len(batch) for batches in responses for batch in batches) >= 1000
    for batches in responses:
        assert type(batches[0][0]) is StepStartChunk
        assert type(batches[-1][-1]) is StepFinishChunk
        # Deltas arrive merged: no batch holds two adjacent deltas of one part.
        for batch in batches:
            kinds = [type(chunk) for chunk in batch]
            assert all(a is not b for a, b in itertools.pairwise(kinds) if a is TextDeltaChunk)


def test_encoder_benchmark_checks_and_reports_every_workload(
    capsys: pytest.CaptureFixture[str],
) -> None:
    encoders.run(repeat=1, chunk_count=800)
    report = capsys.readouterr().out
    for title in ("Agent turns (headline)", "Text deltas (stress", "One long mixed run (stress"):
        assert title in report
    assert report.count("encode_stream() as a share of the str-per-frame floor") == 3
    counted = re.search(
        r"Python bytecodes per chunk.*data_stream floor ([\d.]+), encode_many\(\) ([\d.]+)", report
    )
    assert counted is not None, report
    assert 0 < float(counted[1]) < float(counted[2])  # ours does more than the floor, never less
    assert report.count("target ") == (2 if "not installed" not in report else 0)
    if importlib.util.find_spec("assistant_stream") is not None:
        # Upstream is a test dependency: its column must be filled.
        assert "not installed" not in report
        assert re.search(r"\d+\.\dx", report)


def test_encoder_tables_without_upstream_keep_their_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wheel user without upstream installed: the install hint did not fit
    its cell and ran the columns together ("encode_stream()not installed (...)")."""
    monkeypatch.setattr(encoders, "_upstream_version", lambda: None)
    encoders.run(repeat=1, chunk_count=300)
    report = capsys.readouterr().out
    rows = [line for line in report.splitlines() if line.startswith("    upstream ")]
    assert rows
    for line in rows:
        cells = re.findall(r" {2,}not installed", line)
        assert len(cells) == len(encoders.PROTOCOLS), line
        assert line.endswith("not installed"), line
    hint = "pip install assistant-stream==" + encoders.UPSTREAM_VERSION
    assert report.count(hint) == 3 * 2  # once per table, for each of its two upstream rows


def test_resumable_benchmark_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import resumable

    resumable.in_memory(repeat=1, count=2_000)
    report = capsys.readouterr().out
    assert "resumable / plain:" in report


def test_chunks_sizes_every_suite(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.__main__ import http_workloads, main

    main(["--suite", "run", "--repeat", "1", "--chunks", "300"])
    report = capsys.readouterr().out
    assert "300 append_text, no await" in report
    assert "mixed, 3 iterations" in report
    assert [(w.streams, w.deltas) for w in http_workloads(300)] == [(1, 150), (200, 3)]
    assert http_workloads(200_000) == tuple(http.WORKLOADS)


def test_request_reading_reports_every_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    from assistant_stream_core.conversation import REQUEST_PROTOCOLS
    from benchmarks.__main__ import main
    from benchmarks.request_reading import conversation

    assert len(conversation(3).messages) == 7  # three turns of two, and the question
    main(["--suite", "requests", "--repeat", "1", "--chunks", "2500"])
    report = capsys.readouterr().out
    assert "one conversation of 5 turns" in report
    for protocol in REQUEST_PROTOCOLS:
        row = re.search(
            rf"^  {protocol} +\d+ KB +[\d.]+ +[\d.]+ \([\d.]+x\) +[\d.]+ \(", report, re.M
        )
        assert row is not None, report


def test_resume_latency_over_http_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import resume_http
    from tests.redis_server import redis_server

    upstream = importlib.util.find_spec("assistant_stream") is not None
    with redis_server() as server:
        resume_http.run(server.url, upstream=upstream, lengths=(200,), tries=3)
    report = capsys.readouterr().out
    row = r"^  (.+?, 200 deltas, [A-Za-z -]+?)\s+([\d,]+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)$"
    rows = re.findall(row, report, re.M)
    labels = [row[0] for row in rows]
    assert "ours, 200 deltas, from the start" in labels
    assert "ours, 200 deltas, near the end" in labels
    assert "ours, 200 deltas, Last-Event-ID near the end" in labels
    if upstream:
        assert "upstream 0.0.36, 200 deltas, from the start" in labels
    for _, entries, tries, p50, p99 in rows:
        assert int(entries.replace(",", "")) > 0
        assert int(tries) == 3
        assert 0 < float(p50) <= float(p99)


def test_openai_model_benchmark_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import openai_model

    openai_model.run(repeat=1, chunk_count=200)
    report = capsys.readouterr().out
    for label in ("hand-written loop, SDK objects", "SDK objects", "dicts", "raw SSE bytes"):
        assert label in report
    assert report.count("x\n") == 4  # every contender has its ratio to the loop


def test_encoder_instructions_count_each_contender(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import encoder_instructions
    from tests.conftest import require_executable, require_tool

    require_executable("callgrind_control")  # valgrind; .ci/run installs it
    upstream = importlib.util.find_spec("assistant_stream") is not None
    require_tool(upstream, "upstream assistant-stream (a test dependency)")
    encoder_instructions.main(["--chunks", "300", "--only", "data_stream"])
    report = capsys.readouterr().out
    counted = re.search(
        r"data_stream: floor ([\d,]+), ours \(encode_many\) ([\d,]+), upstream ([\d,]+)", report
    )
    assert counted is not None, report
    floor, ours, upstream = (int(value.replace(",", "")) for value in counted.groups())
    # The floor writes the same bytes with the least work; upstream's json.dumps per frame is more.
    assert 0 < floor < ours < upstream, report


def test_redis_append_cost_runs_small() -> None:
    import asyncio

    from benchmarks import resumable
    from tests.redis_server import redis_server

    with redis_server() as server:
        for leased in (True, False):
            cost = asyncio.run(resumable._append_cost(server.url, 100, count=20, leased=leased))
            assert 0 < cost < 1e6  # microseconds per append: a round trip, not a second

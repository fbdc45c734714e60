"""The encoder benchmark, run small: it must keep running, and keep checking.

Every contender of ours (``encode_many``, ``encode`` per chunk, fed by an
async generator, ``encode_stream``) and the floors must write the same bytes
on every workload, or the benchmark raises before it times anything.
"""

from __future__ import annotations

import importlib.util
import re

import pytest

from assistant_stream_core.chunks import StepStartChunk
from benchmarks import encoders, http


def test_mixed_runs_are_whole_turns_of_the_mixed_run() -> None:
    runs = encoders.mixed_runs(1000, turns_per_run=3)
    assert [chunk for run in runs for chunk in run] == encoders.mixed_run(1000)
    assert {len(run) for run in runs[:-1]} == {3 * 36}
    assert all(type(run[0]) is StepStartChunk for run in runs)


def test_encoder_benchmark_checks_and_reports_every_workload(
    capsys: pytest.CaptureFixture[str],
) -> None:
    encoders.run(repeat=1, chunk_count=800)
    report = capsys.readouterr().out
    for title in ("Text deltas: 800 chunks", "Mixed runs: 800 chunks", "One long mixed run"):
        assert title in report
    assert report.count("encode_stream() as a share of the str-per-frame floor") == 3
    if importlib.util.find_spec("assistant_stream") is not None:
        # Upstream is a test dependency: its column must be filled.
        assert "not installed" not in report
        assert re.search(r"\d+\.\dx", report)


def test_chunks_sizes_every_suite(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.__main__ import http_workloads, main

    main(["--suite", "run", "--repeat", "1", "--chunks", "300"])
    report = capsys.readouterr().out
    assert "300 append_text, no await" in report
    assert "mixed, 3 iterations" in report
    assert [(w.streams, w.deltas) for w in http_workloads(300)] == [(1, 150), (200, 3)]
    assert http_workloads(200_000) == tuple(http.WORKLOADS)

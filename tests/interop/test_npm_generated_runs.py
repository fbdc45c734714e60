"""Generated runs through the real npm client: our message == Node's message.

Hypothesis draws valid runs (:func:`~assistant_stream_core.testing.strategies.chunk_sequences`);
each is encoded with our encoders, decoded by the npm package's strict decoders
and accumulator (one Node batch for all of them, whole and in random pieces),
and compared with ``accumulate(run).to_client_json()``. This pins the
accumulator, the partial-JSON args parser and both encoders against the real
client on inputs nobody wrote by hand. Draws are derandomised, so a failure
reproduces; the failing run is printed.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.message import accumulate
from assistant_stream_core.testing.strategies import chunk_sequences
from tests.interop.conftest import NodeScripts
from tests.interop.test_assistant_stream_npm import NODE_NAMES, OURS, comparable, encode

pytestmark = pytest.mark.interop

RUN_COUNT = 60
SPLIT = {"seed": 7, "max": 6}


def _draw_runs() -> list[list[Chunk]]:
    runs: list[list[Chunk]] = []

    @settings(
        max_examples=RUN_COUNT,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(chunk_sequences(max_size=25))
    def collect(run: list[Chunk]) -> None:
        runs.append(run)

    collect()
    return runs


@pytest.fixture(scope="module")
def generated(node_scripts: NodeScripts) -> tuple[list[list[Chunk]], dict[str, dict[str, Any]]]:
    runs = _draw_runs()
    cases = []
    for index, run in enumerate(runs):
        for protocol in OURS:
            data = base64.b64encode(encode(protocol, run)).decode()
            for split in (None, SPLIT):
                cases.append(
                    {
                        "id": f"{index}/{protocol.name}/{'whole' if split is None else 'split'}",
                        "protocol": NODE_NAMES[protocol.name],
                        "data": data,
                        "split": split,
                        "strict": True,
                    }
                )
    return runs, node_scripts.run_batch("decode.mjs", cases)


@pytest.mark.parametrize("protocol", OURS, ids=str)
def test_generated_runs_build_the_same_message_in_node(
    generated: tuple[list[list[Chunk]], dict[str, dict[str, Any]]], protocol: Any
) -> None:
    runs, results = generated
    node_name = NODE_NAMES[protocol.name]
    assert len(runs) >= RUN_COUNT // 2  # the strategy produced enough distinct runs
    for index, run in enumerate(runs):
        ours = accumulate(run, strict=True).to_client_json()
        for split in ("whole", "split"):
            result = results[f"{index}/{protocol.name}/{split}"]
            context = f"run {index} ({split}): {run!r}"
            assert result["ok"], f"{context}\n{result.get('error')}"
            assert result["warnings"] == [], context
            node = comparable(result["message"], node_name, ours)
            assert node == comparable(ours, node_name, ours), context

"""The encoders' headline workload in machine instructions, under callgrind.

Best-of-N timings of :mod:`benchmarks.encoders` move between runs on a
shared machine: a share of the floor by several points, and a ratio to
upstream by up to half (upstream's ``json.dumps`` and the floor's msgspec
react differently to another process on the same cache). Instructions do not
depend on the load. Each contender of the agent-turns workload (the floor,
ours through ``encode_many``, upstream through its sync ``encode_chunk`` or,
for a format without one, its ``encode_stream``) runs in a process of its own
under valgrind's callgrind, with instrumentation off until one warm-up pass
is done; then one pass is counted, with garbage collection off as the timed
benchmark runs it. The count divided by the chunks is the contender's
instructions per chunk.

Instructions are not time: the interpreter runs fewer instructions per
nanosecond than msgspec's C, so our share of the floor by instructions is a
little above our share by time. What instructions settle is the comparison
with upstream: the floor writes the same bytes as ours from payloads built
before timing, so no encoder of these bytes runs fewer instructions than it,
and the floor's multiple of upstream is the most any encoder can reach.

``python -m benchmarks.encoder_instructions [--chunks N] [--only PROTOCOL]``;
needs ``valgrind`` (``callgrind_control``) on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from . import encoders
from ._callgrind import control, require, totals

#: The contenders, in the order they are printed.
CONTENDERS: Final = ("floor", "ours", "upstream")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _produce(protocol: encoders.Protocol, contender: str, chunks: int) -> encoders.Produce:
    turns = encoders.agent_turns(chunks)
    if contender == "ours":
        return encoders._ours_many(protocol, turns)
    if contender == "floor":
        pieces = encoders._ours_many(protocol, turns)()
        return encoders._floor([protocol.frames(piece) for piece in pieces])
    streams = [[chunk for batch in batches for chunk in batch] for batches in turns]
    upstream = [encoders._to_upstream(chunks) for chunks in streams]
    produce = encoders._upstream_sync(protocol, upstream)
    if produce is None:
        produce = encoders._upstream(protocol, upstream, asyncio.new_event_loop())
    return produce


def _child(protocol_name: str, contender: str, chunks: int) -> None:
    """Count one pass of ``contender`` (run under callgrind by :func:`measure`)."""
    protocol = next(p for p in encoders.PROTOCOLS if p.name == protocol_name)
    produce = _produce(protocol, contender, chunks)
    produce()  # warm-up: imports, caches, the interpreter's specializations
    gc.collect()
    gc.disable()
    pid = str(os.getpid())
    control("-i", "on", pid)
    produce()
    control("-i", "off", pid)


def measure(protocol: str, contender: str, chunks: int, out_dir: str) -> int:
    """Instructions of one pass of ``contender`` encoding ``protocol``."""
    out = os.path.join(out_dir, f"{protocol}.{contender}")
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "benchmarks.encoder_instructions",
            "--child",
            protocol,
            contender,
            "--chunks",
            str(chunks),
        ],
        cwd=_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return totals(out)


def main(argv: list[str] | None = None) -> None:
    """Print each contender's instructions per chunk, and what they mean for the targets."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.encoder_instructions")
    parser.add_argument(
        "--chunks", type=int, default=20_000, help="chunks of agent turns (default 20,000)"
    )
    parser.add_argument(
        "--only", choices=[p.name for p in encoders.PROTOCOLS], action="append", help="protocols"
    )
    parser.add_argument(
        "--child", nargs=2, metavar=("PROTOCOL", "CONTENDER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        protocol, contender = args.child
        _child(protocol, contender, args.chunks)
        return
    require()
    print(
        f"\nEncoder instructions per chunk (callgrind): agent turns, {args.chunks:,} chunks, "
        "one counted pass each, garbage collection off"
    )
    turns = encoders.agent_turns(args.chunks)  # what each child encodes
    chunk_count = sum(len(batch) for batches in turns for batch in batches)
    protocols = args.only or [p.name for p in encoders.PROTOCOLS]
    # Counts do not depend on the load, so the children run side by side.
    with tempfile.TemporaryDirectory() as out_dir, ThreadPoolExecutor(os.cpu_count()) as pool:
        runs = {
            (protocol, c): pool.submit(measure, protocol, c, args.chunks, out_dir)
            for protocol in protocols
            for c in CONTENDERS
        }
        for protocol in protocols:
            floor, ours, upstream = (runs[protocol, c].result() / chunk_count for c in CONTENDERS)
            times, share = encoders.TARGETS.get(protocol, (None, None))
            print(
                f"  {protocol}: floor {floor:,.0f}, ours (encode_many) {ours:,.0f}, "
                f"upstream {upstream:,.0f}"
            )
            line = (
                f"    ours: {floor / ours:.0%} of the floor, {upstream / ours:.1f}x upstream; "
                f"the floor: {upstream / floor:.1f}x upstream"
            )
            if times is not None and share is not None:
                line += f" (targets: {share:.0%} of the floor, {times:.0f}x upstream)"
            print(line, flush=True)


if __name__ == "__main__":
    main()

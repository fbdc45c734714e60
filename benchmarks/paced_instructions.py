"""The paced workload's server cost in machine instructions, under callgrind.

Server CPU time on a shared machine moves by 15% or more between rounds,
which hides any change smaller than that. Instructions do not depend on the
load: each contender's server (the same processes as
:mod:`benchmarks.paced`, real uvicorn or aiohttp, real sockets) runs under
valgrind's callgrind with instrumentation off until the workload starts.
Then, twice over, ``S`` streams of 10 tokens and ``S`` streams of 60 tokens
are counted, and the difference divided by ``S * 50`` tokens is the cost of
one token, without the stream's start and end. The pace is slow enough that
nothing merges even at valgrind's speed (one write per token).

``python -m benchmarks.paced_instructions [--streams S] [--pace P] [--only NAME]``;
needs ``valgrind`` (``callgrind_control``) on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import subprocess
import sys
import tempfile
import time

from . import paced
from ._callgrind import control, require, totals

#: Tokens per stream of the two counted rounds; their difference is counted.
SHORT, LONG = 10, 60


async def _round(port: int, streams: int, tokens: int, pace: float) -> None:
    target = f"/paced?n={tokens}&pace={pace}"
    opened = await asyncio.gather(*(paced._open(port, target) for _ in range(streams)))
    responses = await asyncio.gather(*(paced._finish(r, s) for r, s in opened))
    for response in responses:
        paced._check_tokens(response.body, tokens, "server")


def measure(contender: str, streams: int, pace: float, out_dir: str) -> list[float]:
    """Instructions per token of ``contender``, once per pair of rounds."""
    out = os.path.join(out_dir, contender)
    process = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}.%p",
            sys.executable,
            "-m",
            "benchmarks.paced",
            "--serve",
            contender,
        ],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    pid = str(process.pid)
    try:
        port = int(process.stdout.readline().split()[1])
        asyncio.run(_round(port, streams, SHORT, pace))  # warm up, not counted
        counts: dict[int, list[int]] = {SHORT: [], LONG: []}
        for tokens in (SHORT, LONG, SHORT, LONG):
            control("-z", pid)
            control("-i", "on", pid)
            asyncio.run(_round(port, streams, tokens, pace))
            control("-i", "off", pid)
            before = set(glob.glob(out + ".*"))
            control("-d", pid)
            time.sleep(0.5)
            dump = max(set(glob.glob(out + ".*")) - before, key=os.path.getmtime)
            counts[tokens].append(totals(dump))
        per_token = streams * (LONG - SHORT)
        return [
            (long - short) / per_token
            for short, long in zip(counts[SHORT], counts[LONG], strict=True)
        ]
    finally:
        process.terminate()
        process.wait(60)
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str] | None = None) -> None:
    """Print each contender's instructions per token, and the ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paced_instructions")
    parser.add_argument("--streams", type=int, default=5, help="streams per round (default 5)")
    parser.add_argument("--pace", type=float, default=0.05, help="seconds between tokens")
    # Not Granian's or Hypercorn's: their app runs in a worker process that
    # the counted process (the runner's supervisor) starts.
    single = tuple(name for name in paced.CONTENDERS if name not in paced._BY_RUNNER)
    parser.add_argument("--only", choices=single, action="append", help="only these contenders")
    args = parser.parse_args(argv)
    require()
    contenders = args.only or ("floor", "upstream", "ours-starlette", "ours-no-write-through")
    print(
        f"\nServer instructions per token (callgrind): {args.streams} streams, "
        f"{LONG} less {SHORT} tokens each, one token per {args.pace} s; two counts each"
    )
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as out_dir:
        for contender in contenders:
            results[contender] = measure(contender, args.streams, args.pace, out_dir)
            counts = " / ".join(f"{count / 1000:.1f} k" for count in results[contender])
            line = f"  {paced.CONTENDERS[contender]:42s} {counts}"
            for base in ("upstream", "floor"):
                if base in results and base != contender:
                    ratio = min(results[contender]) / min(results[base])
                    line += f"   {ratio:.2f}x {base}"
            print(line, flush=True)


if __name__ == "__main__":
    main()

"""The paced workload on two server stacks, side by side in one run.

:mod:`benchmarks.paced` runs every contender on one stack (``--loop``,
``--http``); comparing two of its runs compares two moments of a shared
machine. Here each contender runs on the standard library's event loop with
uvicorn's h11 *and* on uvloop with httptools (what ``pip install
"uvicorn[standard]"`` runs), each in its own server process, with the rounds
interleaved over every (contender, stack) pair. Reported per pair: the
server's CPU per 1,000 tokens, its ratio to the same contender on the
standard stack (best rounds), the p99 lateness and the peak RSS.

``python -m benchmarks.paced_stacks [--streams N] [--tokens T] [--repeat R]
[--only NAME]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
from collections.abc import Sequence
from typing import Final

from .http import DEFAULT_STACK, ServerStack, _Server, _upstream_version, available
from .paced import _UVICORN, CONTENDERS, PacedResult, PacedWorkload, _paced_round, _range

__all__ = ["STACKS", "measure", "print_table", "main"]

#: The stacks compared: the standard one first (the ratios' base).
STACKS: Final = (DEFAULT_STACK, ServerStack("uvloop", "httptools"))
_DEFAULT_CONTENDERS: Final = ("floor", "upstream", "ours-starlette", "ours-aiohttp")
_MODULE: Final = "benchmarks.paced"

Results = dict[tuple[str, ServerStack], PacedResult]


async def measure(
    workload: PacedWorkload,
    contenders: Sequence[str],
    repeat: int,
    stacks: Sequence[ServerStack] = STACKS,
) -> Results:
    """Every contender on every stack; rounds interleaved, every round kept."""
    results: Results = {}
    servers: list[tuple[ServerStack, _Server]] = []
    try:
        for name in contenders:
            for stack in stacks:
                result = results[name, stack] = PacedResult(name)
                if name == "upstream" and _upstream_version() is None:
                    result.missing = "not installed"
                    continue
                servers.append((stack, _Server(name, module=_MODULE, stack=stack)))
        warm_up = PacedWorkload(streams=10, tokens=20, pace=0.001)
        for _, server in servers:
            await _paced_round(server, warm_up, PacedResult(server.contender))
        for _ in range(repeat):
            for stack, server in servers:
                await _paced_round(server, workload, results[server.contender, stack])
        for stack, server in servers:
            results[server.contender, stack].peak_rss = server.memory("VmHWM")
    finally:
        for _, server in servers:
            server.stop()
    return results


def print_table(workload: PacedWorkload, results: Results) -> None:
    """One row per (contender, stack): ratios to upstream and the floor on
    the same stack, and to the same contender on the first stack."""
    print(
        f"\npaced: {workload.streams:,} streams x {workload.tokens} tokens at "
        f"{1 / workload.pace:.0f} tokens/s, each contender on each stack"
    )
    head = "  {:<42}{:<36}{:>17}{:>10}{:>10}{:>9}{:>14}{:>10}"
    print(
        head.format(
            "", "", "CPU/1k tokens", "vs upstr.", "vs floor", "vs base", "late p99", "peak RSS"
        )
    )
    best = {key: min(r.cpu_per_1000) for key, r in results.items() if r.cpu_per_1000}

    def ratio(cpu: float, key: tuple[str, ServerStack]) -> str:
        # CPU time is counted in clock ticks: a tiny run can measure 0.
        return f"{cpu / best[key]:.2f}x" if best.get(key) else ""

    for (name, stack), result in results.items():
        label = CONTENDERS[name]
        # --http is uvicorn's: aiohttp parses HTTP itself.
        on = str(stack) if name in _UVICORN else f"{stack.loop} loop"
        if (name, stack) not in best:
            print(head.format(label, on, result.missing or "no rounds", "", "", "", "", ""))
            continue
        cpu = best[name, stack]
        print(
            head.format(
                label,
                on,
                _range(result.cpu_per_1000, 1e3, " ms"),
                ratio(cpu, ("upstream", stack)),
                ratio(cpu, ("floor", stack)),
                ratio(cpu, (name, STACKS[0])),
                _range(result.late_p99, 1, " s"),
                f"{result.peak_rss / 1e6:.0f} MB",
            )
        )


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, measure, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paced_stacks")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--streams", type=int, default=300, help="streams (default 300)")
    parser.add_argument("--tokens", type=int, default=150, help="tokens per stream (default 150)")
    parser.add_argument("--pace", type=float, default=0.020, help="seconds between tokens")
    parser.add_argument(
        "--only", choices=tuple(CONTENDERS), action="append", help="run only these contenders"
    )
    args = parser.parse_args(argv)
    for stack in STACKS:
        missing = available(stack)
        if missing:
            raise SystemExit(f"the paced benchmark on {stack} needs: {missing}")
    workload = PacedWorkload(args.streams, args.tokens, args.pace)
    contenders = args.only or _DEFAULT_CONTENDERS
    print(
        f"\nHTTP at a model's pace on two stacks: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; {args.repeat} rounds, ranges over the rounds, "
        "ratios of the best to the same contender on the first stack"
    )
    print_table(workload, asyncio.run(measure(workload, contenders, args.repeat)))


if __name__ == "__main__":
    main()

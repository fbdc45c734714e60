"""Command line: ``python -m benchmarks [--quick] [--repeat N] [--chunks N] [--suite NAME]
[--loop L] [--http H]``."""

from __future__ import annotations

import argparse

from . import encoders, http, openai_model, paced, request_reading, resumable, run

#: ``--chunks`` by default, and with ``--quick``.
DEFAULT_CHUNKS = 200_000
QUICK_CHUNKS = 10_000


def http_workloads(chunks: int) -> tuple[http.Workload, ...]:
    """The HTTP workloads scaled to ``chunks`` (the defaults at 200,000)."""
    if chunks == DEFAULT_CHUNKS:
        return tuple(http.WORKLOADS)
    single, each = max(1, chunks // 2), max(1, chunks // 100)
    return (
        http.Workload(f"single stream: 1 x {single:,} deltas", 1, single),
        http.Workload(f"concurrent: 200 x {each:,} deltas", 200, each),
    )


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the selected benchmarks."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Encoders, the run layer and HTTP end to end, side by side with upstream.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"one run each, {QUICK_CHUNKS:,} chunks: a smoke test, not figures to quote",
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per contender; the best counts (default 5)"
    )
    parser.add_argument(
        "--chunks",
        type=int,
        default=None,
        help=(
            f"size of every suite's workloads (default {DEFAULT_CHUNKS:,}): chunks per encoder "
            "workload, appends per run (a hundredth as many mixed iterations), HTTP deltas "
            "(half in the single stream, a hundredth per concurrent stream), conversation turns "
            "(a five-hundredth)"
        ),
    )
    parser.add_argument(
        "--suite",
        choices=(
            "all",
            "encoders",
            "run",
            "openai-model",
            "requests",
            "resumable",
            "http",
            "paced",
        ),
        default="all",
        help=(
            "which benchmarks to run (default all; http and paced need starlette, uvicorn,"
            " aiohttp, paced also django)"
        ),
    )
    # The servers of the http and paced suites.
    http.ServerStack.add_arguments(parser)
    args = parser.parse_args(argv)
    stack = http.ServerStack.from_args(args)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 5)
    chunks = (
        args.chunks if args.chunks is not None else (QUICK_CHUNKS if args.quick else DEFAULT_CHUNKS)
    )
    if repeat < 1 or chunks < 1:
        parser.error("--repeat and --chunks must be positive")
    if args.suite in ("all", "encoders"):
        encoders.run(repeat=repeat, chunk_count=chunks)
    if args.suite in ("all", "run"):
        run.run(repeat=repeat, append_count=chunks, mixed_iterations=max(1, chunks // 100))
    if args.suite in ("all", "openai-model"):
        openai_model.run(repeat=repeat, chunk_count=max(50, chunks // 10))
    if args.suite in ("all", "requests"):
        request_reading.run(repeat=repeat, turns=max(1, chunks // 500))
    if args.suite in ("all", "resumable"):
        resumable.run(repeat=min(repeat, 3), quick=args.quick)
    if args.suite in ("all", "http"):
        missing = http.available(stack)
        if missing is None:
            # Whole HTTP rounds are long; a few of them are plenty.
            http.run(repeat=min(repeat, 3), workloads=http_workloads(chunks), stack=stack)
        elif args.suite == "http":
            parser.error(f"the HTTP benchmark needs its servers: {missing}")
        else:
            print(f"\nHTTP benchmark skipped: {missing}")
    if args.suite in ("all", "paced"):
        missing = http.available(stack)
        if missing is None:
            # 1,000 streams per round: two rounds show the spread. --quick
            # shrinks the workloads to a smoke run.
            paced.run(
                repeat=min(repeat, 2),
                paced=paced.PacedWorkload(100, 30, hold=2.0) if args.quick else None,
                slow=paced.SlowWorkload(4 * 2**20) if args.quick else None,
                stack=stack,
            )
        elif args.suite == "paced":
            parser.error(f"the paced benchmark needs its servers: {missing}")
        else:
            print(f"\nPaced benchmark skipped: {missing}")


if __name__ == "__main__":
    main()

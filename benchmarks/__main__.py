"""Command line: ``python -m benchmarks [--repeat N] [--chunks N] [--suite NAME]``."""

from __future__ import annotations

import argparse

from . import encoders, http, paced, run


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the selected benchmarks."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Encoders, the run layer and HTTP end to end, side by side with upstream.",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs per contender; the best counts (default 5)"
    )
    parser.add_argument(
        "--chunks",
        type=int,
        default=200_000,
        help="chunks per workload (default 200,000)",
    )
    parser.add_argument(
        "--suite",
        choices=("all", "encoders", "run", "http", "paced"),
        default="all",
        help=(
            "which benchmarks to run (default all; http and paced need starlette, uvicorn,"
            " aiohttp, paced also django)"
        ),
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.chunks < 1:
        parser.error("--repeat and --chunks must be positive")
    if args.suite in ("all", "encoders"):
        encoders.run(repeat=args.repeat, chunk_count=args.chunks)
    if args.suite in ("all", "run"):
        run.run(repeat=args.repeat)
    if args.suite in ("all", "http"):
        missing = http.available()
        if missing is None:
            # Whole HTTP rounds are long; a few of them are plenty.
            http.run(repeat=min(args.repeat, 3))
        elif args.suite == "http":
            parser.error(f"the HTTP benchmark needs its servers: {missing}")
        else:
            print(f"\nHTTP benchmark skipped: {missing}")
    if args.suite in ("all", "paced"):
        missing = http.available()
        if missing is None:
            # 1,000 streams per round: two rounds show the spread.
            paced.run(repeat=min(args.repeat, 2))
        elif args.suite == "paced":
            parser.error(f"the paced benchmark needs its servers: {missing}")
        else:
            print(f"\nPaced benchmark skipped: {missing}")


if __name__ == "__main__":
    main()

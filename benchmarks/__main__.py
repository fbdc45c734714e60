"""Command line: ``python -m benchmarks [--repeat N] [--chunks N]``."""

from __future__ import annotations

import argparse

from . import encoders, run


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the encoder benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Encoder throughput, side by side with a msgspec floor and upstream.",
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
        choices=("all", "encoders", "run"),
        default="all",
        help="which benchmarks to run (default all)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.chunks < 1:
        parser.error("--repeat and --chunks must be positive")
    if args.suite in ("all", "encoders"):
        encoders.run(repeat=args.repeat, chunk_count=args.chunks)
    if args.suite in ("all", "run"):
        run.run(repeat=args.repeat)


if __name__ == "__main__":
    main()

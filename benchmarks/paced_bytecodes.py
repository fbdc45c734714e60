"""The paced workload's Python cost per token, counted in bytecodes, in process.

The same apps as :mod:`benchmarks.paced` (Starlette: the floor's
``StreamingResponse``, upstream's response, ours; Django's ASGI handler:
ours and Django's own floor, a ``StreamingHttpResponse``), driven as ASGI apps in
this process with a ``send`` that does nothing, so neither a server nor the
machine's load is in the count: ``sys.settrace`` with opcode events counts
every Python bytecode executed (C code, the server's write above all, is not
counted). ``S`` concurrent streams of 60 tokens less ``S`` of 10, divided by
``S * 50``, is the cost of one token without a stream's start and end; what
a stream of 10 tokens costs beyond 10 such tokens is the stream's fixed
cost (the request, the response's setup and teardown, the run's start and
end). The paced workload's cost per token includes both: per token plus the
fixed cost over the tokens of a stream (150 in ``benchmarks.paced``). The
count is exact for a given interleaving; the event loop's share moves a
little with timing (how many ready callbacks one loop turn runs), the rest
does not.

``python -m benchmarks.paced_bytecodes [--streams S] [--pace P] [--only NAME]
[--top N] [--fixed-top N]``: ``--top`` also lists the N functions that cost
most per token, ``--fixed-top`` the N that cost most per stream.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections import Counter
from types import FrameType
from typing import Any

from . import paced
from ._opcodes import PYTHON, opcode_trace

#: Tokens per stream of the two counted rounds; their difference is counted.
SHORT, LONG = 10, 60
#: Tokens per stream of the paced workload, for its cost per token with the
#: stream's start and end included.
PACED_TOKENS = 150
#: The contenders an in-process app exists for (ours-no-write-through last:
#: it turns the write-through off for the process).
CONTENDERS = (
    "floor",
    "upstream",
    "ours-starlette",
    "floor-django",
    "ours-django",
    "ours-no-write-through",
)
#: Measured unless ``--only`` says otherwise.
DEFAULT = CONTENDERS[:3]
#: The rows every later row is compared with, when measured.
BASES = ("upstream", "floor", "ours-starlette", "floor-django")

_Key = tuple[str, str]


class _Counter:
    """Counts opcodes per function while installed with :func:`opcode_trace`."""

    def __init__(self) -> None:
        self.counts: Counter[_Key] = Counter()

    def local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode":
            code = frame.f_code
            self.counts[os.path.basename(code.co_filename), code.co_name] += 1
        return self.local


async def _stream(app: Any, tokens: int, pace: float) -> None:
    loop = asyncio.get_running_loop()

    body_read = False

    async def receive() -> Any:
        # The request's (empty) body once, for a framework that reads it
        # (Django); then the client never leaves. A new future per call: a
        # receive that is cancelled (a guard's wait for the disconnect)
        # cancels its future.
        nonlocal body_read
        if not body_read:
            body_read = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await loop.create_future()

    async def send(message: Any) -> None:
        pass

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},  # what uvicorn's h11 says
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/paced",
        "raw_path": b"/paced",
        "root_path": "",
        "query_string": f"n={tokens}&pace={pace}".encode(),
        "headers": [],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
    }
    await app(scope, receive, send)


def _count(app: Any, streams: int, tokens: int, pace: float) -> Counter[_Key]:
    counter = _Counter()

    async def main() -> None:
        await asyncio.gather(*(_stream(app, 2, pace) for _ in range(streams)))  # warm up
        with opcode_trace(counter.local):
            await asyncio.gather(*(_stream(app, tokens, pace) for _ in range(streams)))

    asyncio.run(main())
    return counter.counts


def measure(contender: str, streams: int, pace: float) -> tuple[float, Counter[_Key]]:
    """Bytecodes per token of ``contender``, and per function."""
    per_token, per_function, _, _ = measure_both(contender, streams, pace)
    return per_token, per_function


def measure_both(
    contender: str, streams: int, pace: float
) -> tuple[float, Counter[_Key], float, Counter[_Key]]:
    """Bytecodes per token of ``contender`` and per function; then its fixed
    bytecodes per stream, and per function."""
    if contender in paced._DJANGO:
        app = paced._django_app(contender)
    else:
        app = paced._starlette_app(contender)
    short = _count(app, streams, SHORT, pace)
    long = _count(app, streams, LONG, pace)
    tokens = streams * (LONG - SHORT)
    per_function = Counter({key: (long[key] - short.get(key, 0)) / tokens for key in long})
    per_token = (sum(long.values()) - sum(short.values())) / tokens
    # A short stream less its tokens: what a stream costs however long it is.
    fixed_per_function = Counter(
        {key: short[key] / streams - SHORT * per_function.get(key, 0.0) for key in short}
    )
    fixed = sum(short.values()) / streams - SHORT * per_token
    return per_token, per_function, fixed, fixed_per_function


def main(argv: list[str] | None = None) -> None:
    """Print each contender's bytecodes per token, and the ratios."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paced_bytecodes")
    parser.add_argument("--streams", type=int, default=200, help="streams (default 200)")
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between tokens")
    parser.add_argument("--only", choices=CONTENDERS, action="append", help="only these")
    parser.add_argument("--top", type=int, default=0, help="list the N costliest functions")
    parser.add_argument(
        "--fixed-top", type=int, default=0, help="list the N costliest functions per stream"
    )
    args = parser.parse_args(argv)
    print(
        f"\nPython {PYTHON} bytecodes, in process: "
        f"{args.streams} streams, {LONG} less {SHORT} "
        f"tokens each, one token per {args.pace} s; per token, fixed per stream, and "
        f"per token of a {PACED_TOKENS}-token stream (the paced workload's)"
    )
    results: dict[str, tuple[float, float, float]] = {}
    # In CONTENDERS' order, whatever the order of --only.
    for contender in [name for name in CONTENDERS if name in (args.only or DEFAULT)]:
        # (ours-no-write-through turns WRITE_THROUGH off for the process: last.)
        per_token, per_function, fixed, fixed_per_function = measure_both(
            contender, args.streams, args.pace
        )
        results[contender] = figures = (per_token, fixed, per_token + fixed / PACED_TOKENS)
        line = (
            f"  {paced.CONTENDERS[contender]:42s} {per_token:7.0f} {fixed:8.0f} {figures[2]:7.0f}"
        )
        for base in BASES:
            if base in results and base != contender:
                ratios = "/".join(
                    f"{a / b:.2f}" for a, b in zip(figures, results[base], strict=True)
                )
                line += f"   {ratios}x {base}"
        print(line, flush=True)
        for (filename, function), count in per_function.most_common(args.top):
            print(f"      {count:7.1f}  {filename}:{function}")
        if args.fixed_top:
            print("    per stream:")
        for (filename, function), count in fixed_per_function.most_common(args.fixed_top):
            print(f"      {count:7.0f}  {filename}:{function}")


if __name__ == "__main__":
    main()

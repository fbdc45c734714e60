"""The ``assistant-stream-ce`` command (also ``python -m assistant_stream_core``).

``decode`` prints a captured or live stream as chunks or as the assembled
message; ``convert`` rewrites a stream in another protocol; ``serve`` runs the
example server; ``bench`` runs the benchmarks. ``decode`` and ``convert`` use
the core's decoders and encoders, nothing else; ``serve`` and ``bench`` import
their frameworks only when they run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from ._commands import CommandError, bench, convert, decode, serve
from ._protocols import PROTOCOLS
from ._source import SourceError

__all__ = ["main"]

_EXAMPLES = """\
examples:
  assistant-stream-ce decode http://127.0.0.1:8000/api/chat/data-stream
  assistant-stream-ce decode --message http://127.0.0.1:8000/v1/chat/completions \\
      -d '{"messages": [{"role": "user", "content": "Weather in Paris?"}]}'
  curl -sN URL | assistant-stream-ce decode
  assistant-stream-ce convert capture.txt --to ui_message_stream > capture.sse
  assistant-stream-ce serve --port 8000
  assistant-stream-ce bench --quick
"""


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", nargs="?", default="-", help="a URL, a file, or - for stdin (the default)"
    )
    parser.add_argument(
        "-d",
        "--data",
        metavar="JSON",
        help="POST this JSON body to the URL (default: GET); @FILE reads it from a file",
    )
    parser.add_argument(
        "-p",
        "--protocol",
        "--from",
        dest="protocol",
        choices=sorted(PROTOCOLS),
        help="the stream's protocol (default: from the content type or the first bytes)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant-stream-ce",
        description="Decode, convert, serve and measure assistant streams.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("decode", help="print a stream's chunks or its message")
    _add_source(p)
    p.add_argument("--message", action="store_true", help="print the assembled message as JSON")
    p.add_argument(
        "--state", type=json.loads, default=None, help="the state before the stream (JSON)"
    )
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="bytes, chunks and time on stderr (auto: on a terminal, after a second)",
    )
    p.set_defaults(run=decode)

    p = commands.add_parser("convert", help="rewrite a stream in another protocol")
    _add_source(p)
    p.add_argument("--to", required=True, choices=sorted(PROTOCOLS), help="the protocol to write")
    p.set_defaults(run=convert)

    p = commands.add_parser(
        "serve", help="run the example server (examples/server.py)", add_help=False
    )
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for examples/server.py")
    p.set_defaults(run=serve)

    p = commands.add_parser(
        "bench", help="run the benchmarks (python -m benchmarks)", add_help=False
    )
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for python -m benchmarks")
    p.set_defaults(run=bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("serve", "bench"):
        # Everything after the command is the script's, options included
        # (argparse's REMAINDER would stop at the first option).
        args = argparse.Namespace(command=argv[0], rest=argv[1:])
        args.run = serve if argv[0] == "serve" else bench
    else:
        args = _parser().parse_args(argv)
    data = getattr(args, "data", None)
    try:
        if data is not None and data.startswith("@"):
            with open(data[1:], encoding="utf-8") as body:
                args.data = body.read()
        args.run(args)
    except (CommandError, SourceError) as exc:
        sys.stderr.write(f"assistant-stream-ce {args.command}: {exc}\n")
        return 1
    except BrokenPipeError:
        # The reader left (``| head``): stop quietly, as other filters do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        sys.stderr.write(f"assistant-stream-ce {args.command}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0

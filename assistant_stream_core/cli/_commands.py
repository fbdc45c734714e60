"""The subcommands. ``decode`` and ``convert`` use only the core's decoders and
encoders; ``serve`` and ``bench`` run code from a source checkout and import
their web frameworks only when called."""

from __future__ import annotations

import argparse
import runpy
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from ..chunks import Chunk
from ..errors import ProtocolError
from ..message import MessageAccumulator
from ._output import ChunkPrinter, Progress, use_colour
from ._protocols import decoder_for, detect, encoder_for
from ._source import Source, open_source

__all__ = ["bench", "convert", "decode", "serve"]

#: The source checkout this package runs from, if it does (examples/, benchmarks/).
CHECKOUT = Path(__file__).resolve().parents[2]
#: Bytes read before giving up on telling the protocol.
_DETECT_LIMIT = 1 << 20


class CommandError(Exception):
    """A message for the user; the command exits with status 1."""


def _chunks(source: Source, protocol: str | None, progress: Progress) -> Iterator[Chunk]:
    """Decode ``source``, detecting its protocol unless named."""
    blocks = source.blocks()
    head = b""
    while protocol is None:
        block = next(blocks, None)
        if block is not None:
            head += block
        try:
            protocol = detect(source.headers, head, complete=block is None)
        except ValueError as exc:
            raise CommandError(f"{source.name}: {exc}") from None
        if protocol is None and len(head) > _DETECT_LIMIT:
            raise CommandError(f"{source.name}: cannot tell the protocol; name it with --protocol")
    decoder = decoder_for(protocol)
    try:
        if head:
            chunks = decoder.feed(head)
            progress.update(len(head), len(chunks))
            yield from chunks
        for block in blocks:
            chunks = decoder.feed(block)
            progress.update(len(block), len(chunks))
            yield from chunks
        chunks = decoder.finish()
        progress.update(0, len(chunks))
        yield from chunks
    except ProtocolError as exc:
        raise CommandError(f"{source.name} ({protocol}): {exc}") from None


def decode(args: argparse.Namespace) -> None:
    """Print a stream's chunks, or the message they assemble to."""
    progress = Progress(args.progress)
    with open_source(args.source, data=args.data) as source:
        if args.message:
            accumulator = MessageAccumulator(state=args.state)
            for chunk in _chunks(source, args.protocol, progress):
                accumulator.add(chunk)
            progress.done()
            message = accumulator.finish()
            text = msgspec.json.format(msgspec.json.encode(message.to_client_json()), indent=2)
            sys.stdout.write(text.decode() + "\n")
            for problem in accumulator.problems:
                sys.stderr.write(f"ignored: {problem.reason}: {problem.detail}\n")
            return
        emit: Callable[[Chunk], None] = ChunkPrinter(
            sys.stdout, colour=use_colour(args.color, sys.stdout)
        )
        try:
            for chunk in _chunks(source, args.protocol, progress):
                emit(chunk)
        finally:
            progress.done()


def convert(args: argparse.Namespace) -> None:
    """Re-encode a stream in another protocol, writing bytes as they are ready."""
    encoder = encoder_for(args.to)
    out = sys.stdout.buffer
    with open_source(args.source, data=args.data) as source:
        pending: list[Chunk] = []
        for chunk in _chunks(source, args.protocol, Progress("never")):
            pending.append(chunk)
            if len(pending) >= 256:
                out.write(encoder.encode_many(pending))
                pending.clear()
        out.write(encoder.encode_many(pending) + encoder.finish())
        out.flush()


def _checkout_file(relative: str, command: str) -> tuple[Path, Path]:
    """The checkout that holds ``relative``, and the file's path in it.

    The checkout this package runs from (an editable install), else the current
    directory: a clone of the repository beside an installed wheel.
    """
    for root in dict.fromkeys((CHECKOUT, Path.cwd())):
        if (root / relative).is_file():
            return root, root / relative
    raise CommandError(
        f"{command} runs {relative} of a clone of the assistant-stream-ce repository, "
        f"and neither the current directory nor {CHECKOUT} has it; run it from the "
        "root of a clone"
    )


def serve(args: argparse.Namespace) -> None:
    """Run the example server, ``examples/server.py`` (needs Starlette and uvicorn)."""
    _, script = _checkout_file("examples/server.py", "serve")
    argv = [str(script), *args.rest]
    saved = sys.argv
    sys.argv = argv
    try:
        runpy.run_path(str(script), run_name="__main__")
    except ModuleNotFoundError as exc:
        raise CommandError(
            f"serve needs {exc.name}: pip install 'assistant-stream-ce[starlette,server]'"
        ) from None
    finally:
        sys.argv = saved


def bench(args: argparse.Namespace) -> None:
    """Run the benchmarks (``python -m benchmarks``) with the same arguments."""
    root, _ = _checkout_file("benchmarks/__main__.py", "bench")
    sys.path.insert(0, str(root))
    from benchmarks.__main__ import main as run_benchmarks

    run_benchmarks(args.rest)

"""Where a stream comes from: a URL (GET, or POST with a JSON body), a file, stdin.

The body is read in the pieces the transport delivers (``read1``), so a live
stream is decoded as it arrives rather than after it ends.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

__all__ = ["Source", "open_source"]

_BLOCK = 65536


@dataclass
class Source:
    """An open byte stream and, for a URL, its response headers."""

    name: str
    stream: BinaryIO
    headers: Mapping[str, str] = field(default_factory=dict)

    def blocks(self) -> Iterator[bytes]:
        """The body, in the pieces it arrives in."""
        read = getattr(self.stream, "read1", self.stream.read)
        while block := read(_BLOCK):
            yield block


class SourceError(Exception):
    """The source could not be opened (a message for the user)."""


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


@contextmanager
def open_source(location: str, *, data: str | None = None) -> Iterator[Source]:
    """Open ``location``: a URL, a file path, or ``-`` for stdin.

    :param data: a JSON body; makes a URL request a POST.
    :raises SourceError: when it cannot be opened.
    """
    if _is_url(location):
        body = None if data is None else data.encode()
        request = urllib.request.Request(
            location, data=body, method="GET" if body is None else "POST"
        )
        request.add_header("Accept", "text/event-stream, text/plain, */*")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            response = urllib.request.urlopen(request)
        except urllib.error.HTTPError as exc:
            raise SourceError(f"{location}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceError(f"{location}: {reason}") from None
        with response:
            yield Source(location, response, dict(response.headers.items()))
        return
    if data is not None:
        raise SourceError("--data needs a URL to POST to")
    if location == "-":
        yield Source("<stdin>", sys.stdin.buffer)
        return
    try:
        stream = Path(location).open("rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise SourceError(f"{location}: {exc.strerror}") from None
    with stream:
        yield Source(location, stream)

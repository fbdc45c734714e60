"""What every adapter's resume endpoint does, framework-free.

A resume request names the stream in the ``x-resumable-stream-id`` header
(or the adapter is given the id, e.g. from the URL) and may carry a cursor:

* SSE protocols with event ids (Assistant Transport, UI Message Stream,
  AG-UI): the ``Last-Event-ID`` header, which browsers send by themselves
  when an ``EventSource`` reconnects, or the ``last_event_id`` query
  parameter;
* Data Stream and OpenAI chat (no ids on the wire): the number of bytes
  already received, in the ``x-resumable-stream-offset`` header or the
  ``resume_offset`` query parameter.

Without a cursor the stream is replayed from its start, as upstream does.
Bad requests raise :class:`~.errors.ResumableStreamError`; :func:`error_body`
turns one into the JSON body and status the adapters answer with.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from ..run.serve import EncoderSpec, make_encoder
from .errors import ResumableStreamError
from .replay import RESUMABLE_STREAM_ID_HEADER, Replay, uses_event_ids
from .streams import ResumableStreams, parse_offset

__all__ = [
    "LAST_EVENT_ID_HEADER",
    "LAST_EVENT_ID_QUERY",
    "RESUME_OFFSET_HEADER",
    "RESUME_OFFSET_QUERY",
    "error_body",
    "open_resume",
]

#: The SSE reconnection header.
LAST_EVENT_ID_HEADER = "last-event-id"
#: The same cursor as a query parameter (for clients that cannot set headers).
LAST_EVENT_ID_QUERY = "last_event_id"
#: Bytes already received (Data Stream, OpenAI chat), as a header.
RESUME_OFFSET_HEADER = "x-resumable-stream-offset"
#: The same, as a query parameter.
RESUME_OFFSET_QUERY = "resume_offset"

Lookup = Callable[[str], "str | None"]

_json = msgspec.json.Encoder()


async def open_resume(
    streams: ResumableStreams,
    protocol: EncoderSpec,
    *,
    header: Lookup,
    query: Lookup,
    stream_id: str | None = None,
) -> Replay:
    """Read the resume request through ``header``/``query`` and open the replay.

    :param header: returns a request header by (lower-case) name, or ``None``.
    :param query: returns a query parameter by name, or ``None``.
    :param stream_id: the id, if the route carries it; else the header's.
    :raises ResumableStreamError: ``invalid-id`` (also a missing id),
        ``invalid-cursor``, ``missing``, ``unavailable``.
    """
    if stream_id is None:
        stream_id = header(RESUMABLE_STREAM_ID_HEADER)
    if not stream_id:
        raise ResumableStreamError(
            "invalid-id", f"a resume request needs the {RESUMABLE_STREAM_ID_HEADER} header"
        )
    event_id = header(LAST_EVENT_ID_HEADER) or query(LAST_EVENT_ID_QUERY)
    offset_text = header(RESUME_OFFSET_HEADER) or query(RESUME_OFFSET_QUERY)
    if event_id and not uses_event_ids(make_encoder(protocol)):
        raise ResumableStreamError(
            "invalid-cursor",
            "this protocol carries no event ids; resume with the byte offset "
            f"({RESUME_OFFSET_HEADER} header or {RESUME_OFFSET_QUERY} query parameter)",
        )
    if event_id and offset_text:
        raise ResumableStreamError("invalid-cursor", "give Last-Event-ID or an offset, not both")
    offset = parse_offset(offset_text)
    return await streams.resume(stream_id, protocol, cursor=event_id or None, offset=offset)


def error_body(exc: ResumableStreamError) -> tuple[int, bytes]:
    """The HTTP status and JSON body for ``exc``: ``{"error": {"code", "message"}}``."""
    return exc.http_status, _json.encode({"error": {"code": exc.code, "message": str(exc)}})

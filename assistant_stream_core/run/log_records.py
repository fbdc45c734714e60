"""Log records that name the run or stream they are about.

With many responses open at once, a record such as "client disconnected
after 512 bytes" is only useful if it says which response. :class:`SourceLog`
wraps a logger for one response: every record it writes starts with the
run's id (``run run_abc: ...``) and carries it as ``extra`` fields, so a
structured handler finds it as the record's ``run_id`` attribute (and
``stream_id`` for a source that has one).

The id is looked up when a record is written, never per chunk: a response
that logs nothing pays for one small object.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

__all__ = ["SourceLog", "describe_source"]

if TYPE_CHECKING:
    _Adapter = logging.LoggerAdapter[logging.Logger]
else:  # LoggerAdapter is subscriptable at run time only from Python 3.11
    _Adapter = logging.LoggerAdapter


def describe_source(source: object) -> tuple[str, dict[str, Any]]:
    """The label and the ``extra`` fields naming ``source`` in a record.

    A run (anything with a string ``run_id``) is ``run <id>``; a source with
    a ``stream_id`` adds ``stream <id>``. Anything else is named by its type
    and its address, which tells apart responses open at the same time, and
    gets ``run_id=None`` so a handler can rely on the attribute.
    """
    run_id = getattr(source, "run_id", None)
    stream_id = getattr(source, "stream_id", None)
    fields: dict[str, Any] = {"run_id": run_id if isinstance(run_id, str) else None}
    parts: list[str] = []
    if isinstance(run_id, str):
        parts.append(f"run {run_id}")
    if isinstance(stream_id, str):
        fields["stream_id"] = stream_id
        parts.append(f"stream {stream_id}")
    if not parts:
        # An async generator's own name (its function's) says more than its type.
        kind = getattr(source, "__name__", None) or type(source).__qualname__
        fields["source"] = f"{kind}@{id(source):#x}"
        parts.append(f"source {fields['source']} (not a run)")
    return ", ".join(parts), fields


class SourceLog(_Adapter):
    """``logger``, with every record naming ``source`` (see the module doc)."""

    def __init__(self, logger: logging.Logger, source: object) -> None:
        super().__init__(logger, None)
        self.source = source

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Write ``msg`` as the logger would, after the source's label."""
        if not self.isEnabledFor(level):
            return
        label, fields = describe_source(self.source)
        given: Mapping[str, Any] | None = kwargs.get("extra")
        if given:
            fields.update(given)
        kwargs["extra"] = fields
        # The label goes in as an argument: an id is the caller's text, and a
        # "%" in it must not be read as a placeholder. A message written
        # without arguments is not formatted by logging, so it is escaped.
        text = str(msg) if args else str(msg).replace("%", "%%")
        kwargs.setdefault("stacklevel", 1)
        kwargs["stacklevel"] += 1  # the caller's line, not this module's
        self.logger.log(level, "%s: " + text, label, *args, **kwargs)

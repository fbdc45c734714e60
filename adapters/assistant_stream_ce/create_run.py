"""``create_run`` and ``RunController``, as upstream's ``assistant_stream.create_run``.

Both are the core's (:mod:`assistant_stream_core.run`); see its documentation
for the differences from upstream (call-order of chunks, errors at the call
site, a clean close after an error).
"""

from __future__ import annotations

from assistant_stream_core.run import (
    ReadOnlyCancellationSignal,
    Run,
    RunController,
    create_run,
)

__all__ = ["ReadOnlyCancellationSignal", "Run", "RunController", "create_run"]

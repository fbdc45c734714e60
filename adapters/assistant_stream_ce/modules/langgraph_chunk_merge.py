"""Upstream's ``assistant_stream.modules.langgraph_chunk_merge``: kept so the import path works.

Upstream's module holds only commented-out code and the imports it would use;
of those, :class:`RunController` is this package's.
"""

from __future__ import annotations

from ..create_run import RunController

__all__ = ["RunController"]

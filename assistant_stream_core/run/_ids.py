"""Moved to :mod:`assistant_stream_core.ids` (protocols make ids too); kept for imports."""

from __future__ import annotations

from ..ids import random_id

__all__ = ["random_id"]

"""Opcode tracing with ``sys.settrace`` that counts on Python 3.10 to 3.13.

From Python 3.12 ``sys.settrace`` runs over ``sys.monitoring``, and two
things that did not matter before decide whether opcode events arrive at all:

* 3.12 turns instruction events on in ``sys.settrace`` itself, and only if
  some frame's ``f_trace_opcodes`` was set before the call: a frame of ours
  is marked first.
* 3.13 turns them on for a frame when its ``f_trace_opcodes`` is set, and
  only if the frame already has its ``f_trace``: the call event sets
  ``f_trace`` before ``f_trace_opcodes``.

Either way round, nothing was counted, silently. Each version compiles to
different bytecode, so counts compare only on one version.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["PYTHON", "opcode_trace"]

#: The version counts are for, as reports name it.
PYTHON = "{}.{}".format(*sys.version_info)

Trace = Callable[[FrameType, str, Any], Any]


@contextmanager
def opcode_trace(local: Trace) -> Iterator[None]:
    """Call ``local(frame, "opcode", None)`` for every bytecode run inside the block
    (other events too: ``local`` filters), in every new frame, on this thread."""

    def call(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace = local
        frame.f_trace_lines = False
        frame.f_trace_opcodes = True
        return local

    here = sys._getframe()
    here.f_trace_opcodes = True  # for 3.12: before settrace (this frame has no f_trace)
    previous = sys.gettrace()
    sys.settrace(call)
    try:
        yield
    finally:
        sys.settrace(previous)
        here.f_trace_opcodes = False

"""``StateManager``, as upstream's ``assistant_stream.state_manager``.

A state with a proxy whose writes become ``update-state`` chunks, for code
that drives its own stream instead of using ``create_run`` (inside a run,
``controller.state`` is the way to the state)::

    chunks = []
    manager = StateManager(chunks.append, {"messages": []})
    manager.state["messages"].append({"text": "hi"})
    manager.flush()           # one UpdateStateChunk with the batch
    assert manager.state_data == {"messages": [{"text": "hi"}]}

**Batching.** Writes apply to :attr:`~StateManager.state_data` at once and
collect in a pending batch; the batch goes to ``put_chunk_callback`` as one
:class:`~assistant_stream_core.chunks.UpdateStateChunk` on :meth:`flush`, or
when the scheduled flush runs. Upstream always scheduled it with the asyncio
loop's ``call_soon_threadsafe`` (and could only be built inside a running
loop). Here ``schedule`` decides:

* ``"event-loop"`` (the default): on asyncio, ``loop.call_soon_threadsafe``,
  as upstream; on trio, the trio token's ``run_sync_soon``; with no event loop
  running, nothing is scheduled and the batch waits for :meth:`flush`;
* ``None``: the batch waits for :meth:`flush` (deterministic, e.g. to put the
  state chunk exactly before the next chunk you send);
* a callable: called with the flush function once per batch.

Call :meth:`flush` before sending any other chunk that must come after the
state change, and before the stream ends.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from assistant_stream_core.chunks import UpdateStateChunk
from assistant_stream_core.run import StateProxy
from assistant_stream_core.run._json import json_copy
from assistant_stream_core.state import Operation

from .assistant_stream_chunk import ObjectStreamOperation as ObjectStreamOperation
from .state import AssistantState, Flusher, OperationLike, StateDraft

__all__ = ["Schedule", "StateManager"]

#: Called with a function to run soon (e.g. ``loop.call_soon_threadsafe``).
Schedule = Callable[[Callable[[], None]], Any]


def _event_loop_schedule() -> Schedule | None:
    """The running event loop's thread-safe "call soon", or ``None`` without one."""
    try:
        return asyncio.get_running_loop().call_soon_threadsafe
    except RuntimeError:
        pass
    trio = sys.modules.get("trio")  # only if the application uses trio at all
    if trio is not None:
        try:
            token = trio.lowlevel.current_trio_token()
        except RuntimeError:
            return None
        run_sync_soon: Schedule = token.run_sync_soon
        return run_sync_soon
    return None


class StateManager:
    """A state whose proxy writes are batched into ``update-state`` chunks.

    :param put_chunk_callback: receives each
        :class:`~assistant_stream_core.chunks.UpdateStateChunk`.
    :param state_data: the initial state (copied; any JSON value, or ``None``).
    :param schedule: when a pending batch is flushed without an explicit
        :meth:`flush`: ``"event-loop"``, ``None`` or a callable (see the module
        documentation).
    :raises TypeError: ``state_data`` is not JSON.
    """

    def __init__(
        self,
        put_chunk_callback: Callable[[UpdateStateChunk], Any],
        state_data: Any | None = None,
        *,
        schedule: Schedule | Literal["event-loop"] | None = "event-loop",
    ) -> None:
        self._put_chunk_callback = put_chunk_callback
        self._state = AssistantState(json_copy(state_data, "state_data"))
        if schedule == "event-loop":
            schedule = _event_loop_schedule()
        self._flusher = Flusher(self._emit_operations, schedule)
        self._draft = StateDraft(self._state, self._flusher.add)
        self._proxy = StateProxy(self._draft, [])

    @property
    def state(self) -> Any:
        """A :class:`~assistant_stream_core.run.StateProxy` at the root, or ``None``.

        ``None`` while the state itself is ``None`` (assign through
        :meth:`add_operations` with path ``[]`` to give it a value).
        """
        if self._state.state is None:
            return None
        return self._proxy

    @property
    def state_data(self) -> Any:
        """The current state value (read it, do not mutate it)."""
        return self._state.state

    def add_operations(self, operations: Iterable[OperationLike]) -> None:
        """Apply operations (upstream's dicts or the core's Structs) and batch them.

        :raises ~assistant_stream_core.errors.StateError: for an operation the
            client would refuse; nothing is applied.
        :raises ValueError: a value holds a proxy.
        """
        self._draft.add_operations(operations)

    def append_text(self, path: Sequence[str | int], value: str) -> None:
        """Append ``value`` to the string at ``path`` (an ``append-text`` operation).

        :raises TypeError: ``value`` is not a ``str``.
        :raises ~assistant_stream_core.errors.StateError: there is no string at ``path``.
        """
        self._draft.append_text(path, value)

    def flush(self) -> None:
        """Send the pending batch now, as one ``update-state`` chunk (nothing if empty)."""
        self._flusher.flush()

    def get_value_at_path(self, path: Sequence[str]) -> Any:
        """The value at ``path``; :class:`KeyError` if there is none."""
        return self._draft.get_value_at_path(path)

    def _emit_operations(self, operations: list[Operation]) -> None:
        self._put_chunk_callback(UpdateStateChunk(operations=operations))

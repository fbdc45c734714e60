"""State containers and helpers, as upstream's ``assistant_stream.state``.

Upstream builds a run's state from four pieces, which code written against it
may import: :class:`AssistantState` (the authoritative value),
:class:`StateDraft` (applies writes to it and forwards the operations),
:class:`Flusher` (batches operations until they are emitted) and
:class:`StateProxy` (the dict-style view whose writes become operations), plus
the pure helpers :func:`deep_apply` and :func:`lookup_state`.

Here they sit on the core's state operations
(:mod:`assistant_stream_core.state`), so they follow the same rules as
``controller.state`` in a run:

* operations are the core's :class:`~assistant_stream_core.state.SetOperation`
  and :class:`~assistant_stream_core.state.AppendTextOperation` Structs; they
  compare equal to upstream's dicts and support ``op["path"]``. Upstream's
  dict form is accepted wherever operations go in;
* what assistant-ui's strict client rejects raises where it is written (a path
  through a string or number, ``append-text`` to a missing value, the segments
  ``__proto__``/``constructor``/``prototype``). :func:`deep_apply` raises the
  exception types upstream raised (:class:`KeyError`, :class:`TypeError`), as
  subclasses of the core's :class:`~assistant_stream_core.errors.StateError`;
* a value written through a :class:`StateDraft` is checked to be JSON and
  copied, so mutating the original later does not change the state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from assistant_stream_core.errors import StateError
from assistant_stream_core.run import StateProxy
from assistant_stream_core.run._json import json_copy, make_encoder
from assistant_stream_core.state import (
    AppendTextOperation,
    Operation,
    SetOperation,
    apply_operation,
    apply_operations,
    coerce_operation,
    normalize_path,
)

from .assistant_stream_chunk import ObjectStreamOperation as ObjectStreamOperation

__all__ = [
    "AssistantState",
    "Flusher",
    "StateDraft",
    "StateKeyError",
    "StateOpHost",
    "StateOperation",
    "StateProxy",
    "StateTypeError",
    "deep_apply",
    "lookup_state",
]

#: Upstream's name for one state operation.
StateOperation = Operation

#: What the helpers accept as an operation: a core Struct or upstream's dict.
OperationLike = Operation | Mapping[str, Any]


class StateOpHost(Protocol):
    """Upstream's interface of what a proxy writes through (:class:`StateDraft` is one)."""

    def get_value_at_path(self, path: Sequence[str]) -> Any:
        """The value at ``path``; :class:`KeyError` if there is none."""

    def add_operations(self, operations: Iterable[OperationLike]) -> None:
        """Apply operations and forward them."""

    def append_text(self, path: Iterable[str | int], value: str) -> None:
        """Append ``value`` to the string at ``path``."""


class StateKeyError(StateError, KeyError):
    """A state path that names nothing usable (upstream raised :class:`KeyError`)."""

    def __str__(self) -> str:
        # KeyError would show the repr of the message.
        return str(self.args[0]) if self.args else ""


class StateTypeError(StateError, TypeError):
    """An operation of the wrong kind for the value it meets (upstream: :class:`TypeError`)."""


def lookup_state(state: Any, path: Sequence[str]) -> Any:
    """Return the value at ``path`` in ``state``.

    :raises KeyError: when ``path`` names nothing: a missing key, a list index
        that is not a decimal number or is past the end, or a step into a
        string, number or ``None``.
    """
    current = state
    for key in path:
        if isinstance(current, list):
            if not (key.isascii() and key.isdigit()) or int(key) >= len(current):
                raise KeyError(key)
            current = current[int(key)]
        elif isinstance(current, dict):
            current = current[key]
        else:
            raise KeyError(key)
    return current


def deep_apply(target: Any, path: Sequence[str], op: OperationLike) -> Any:
    """Return ``target`` with ``op`` applied at ``path``; ``target`` is not modified.

    Containers along the path are copied, missing object keys are created and
    a list index equal to the length appends, as upstream.

    :raises StateKeyError: (a :class:`KeyError`) for a path the client would
        refuse, including ``append-text`` to a missing value (upstream set it).
    :raises StateTypeError: (a :class:`TypeError`) for ``append-text`` to a
        value that is not a string, or an unknown operation type.
    """
    operation = _coerce(op, path)
    try:
        return apply_operation(target, operation)
    except StateError as exc:
        if isinstance(operation, AppendTextOperation):
            try:
                current = lookup_state(target, operation.path)
            except KeyError:
                current = None
            if current is not None:
                raise StateTypeError(str(exc), path=operation.path) from None
        raise StateKeyError(str(exc), path=operation.path) from None


def _coerce(op: OperationLike, path: Sequence[str] | None = None) -> Operation:
    if path is not None:
        if isinstance(op, (SetOperation, AppendTextOperation)):
            op = op.to_dict()
        op = {**op, "path": list(path)}
    try:
        return coerce_operation(op)
    except StateError as exc:
        raise StateTypeError(str(exc), path=exc.path) from None


class AssistantState:
    """The authoritative state value; applies operations and hands out proxies.

    :param initial_state: the starting value (any JSON value, or ``None``).
    """

    def __init__(self, initial_state: Any | None = None) -> None:
        self._state = initial_state

    @property
    def state(self) -> Any:
        """The current value (containers are shared with earlier snapshots: do not mutate)."""
        return self._state

    def apply(self, operations: Iterable[OperationLike]) -> None:
        """Apply ``operations`` in order; all or nothing.

        :raises ~assistant_stream_core.errors.StateError: for an operation the
            client would refuse; the state is then unchanged.
        """
        self._state = apply_operations(self._state, [_coerce(op) for op in operations])

    def lookup(self, path: Sequence[str]) -> Any:
        """The value at ``path`` (see :func:`lookup_state`)."""
        return lookup_state(self._state, path)

    def draft(self, on_operations: Callable[[list[Operation]], None]) -> StateProxy:
        """A proxy at the root whose writes apply here and go to ``on_operations``."""
        return StateProxy(StateDraft(self, on_operations), [])


def _reject_proxy(obj: Any) -> Any:
    if isinstance(obj, StateProxy):
        raise ValueError("Cannot store a StateProxy in state; assign a plain value instead")
    raise TypeError(f"objects of type {type(obj).__name__} are not JSON-serialisable")


class StateDraft:
    """Applies writes to an :class:`AssistantState` and forwards the operations.

    The host of the :class:`StateProxy` objects that :meth:`AssistantState.draft`
    hands out. Writes are serialised by a lock, so the order in which
    ``on_operations`` sees operations is the order they were applied, also
    when worker threads write.

    :param state: the container to write to.
    :param on_operations: called with each applied batch (a list of operations).
    """

    def __init__(
        self, state: AssistantState, on_operations: Callable[[list[Operation]], None]
    ) -> None:
        self._state = state
        self._on_operations = on_operations
        # Re-entrant: on_operations may itself write (e.g. a callback that logs into state).
        self._lock = threading.RLock()
        self._encoder = make_encoder(_reject_proxy)

    def get_value_at_path(self, path: Sequence[str]) -> Any:
        """The value at ``path``; :class:`KeyError` if there is none."""
        return self._state.lookup(path)

    def copy_value(self, value: Any, what: str) -> Any:
        """Check ``value`` is JSON without proxies inside, and return a deep copy.

        :raises ValueError: ``value`` holds a :class:`StateProxy`, or ``NaN``/infinity.
        :raises TypeError: ``value`` holds something JSON cannot carry.
        """
        return json_copy(value, what, self._encoder)

    def apply(self, operations: list[Operation]) -> None:
        """Apply ``operations`` (already checked) and forward them."""
        with self._lock:
            self._state.apply(operations)
            self._on_operations(list(operations))

    def _is_writeback(self, path: Sequence[str], value: Any) -> bool:
        # ``proxy["items"] += [x]`` assigns the proxy back onto its own path
        # after __iadd__ has emitted the operations; that write is a no-op.
        return isinstance(value, StateProxy) and value._host is self and value._path == list(path)

    def set(self, path: Sequence[str], value: Any) -> None:
        """Set ``path`` to a copy of ``value``."""
        if self._is_writeback(path, value):
            return
        copied = self.copy_value(value, f"state value at {list(path)!r}")
        self.apply([SetOperation(path=tuple(path), value=copied)])

    def append_text(self, path: Iterable[str | int], value: str) -> None:
        """Append ``value`` to the string at ``path`` (an ``append-text`` operation)."""
        if not isinstance(value, str):
            raise TypeError(f"Can only append str (not {type(value).__name__!r}) as text delta")
        self.apply([AppendTextOperation(path=normalize_path(path), value=value)])

    def add_operations(self, operations: Iterable[OperationLike]) -> None:
        """Apply upstream-style operations (dicts or Structs) and forward them.

        Set values are checked and copied; a proxy written back onto its own
        path is skipped.

        :raises ValueError: a value holds a :class:`StateProxy`.
        """
        batch: list[Operation] = []
        for op in operations:
            if op["type"] == "set" and self._is_writeback(list(op["path"]), op["value"]):
                continue
            operation = _coerce(op)
            if isinstance(operation, SetOperation):
                value = self.copy_value(operation.value, f"state value at {list(operation.path)!r}")
                operation = SetOperation(path=operation.path, value=value)
            batch.append(operation)
        if batch:
            self.apply(batch)


class Flusher:
    """Collects operations and emits them in batches.

    :param emit: called with each non-empty batch.
    :param schedule: optional; called once per batch with :meth:`flush`, to
        emit later (upstream passes ``loop.call_soon_threadsafe``). Without it,
        operations wait for an explicit :meth:`flush`.

    :meth:`add` is safe to call from worker threads.
    """

    def __init__(
        self,
        emit: Callable[[list[Any]], None],
        schedule: Callable[[Callable[[], None]], Any] | None = None,
    ) -> None:
        self._emit = emit
        self._schedule = schedule
        self._lock = threading.Lock()
        self._pending: list[Any] = []
        self._scheduled = False

    def add(self, operations: Iterable[Any]) -> None:
        """Add ``operations`` to the pending batch (scheduling a flush if it was empty)."""
        with self._lock:
            self._pending.extend(operations)
            if self._schedule is None or self._scheduled:
                return
            self._scheduled = True
        self._schedule(self.flush)

    def flush(self) -> None:
        """Emit the pending batch now, if there is one."""
        with self._lock:
            operations, self._pending = self._pending, []
            self._scheduled = False
        if operations:
            self._emit(operations)

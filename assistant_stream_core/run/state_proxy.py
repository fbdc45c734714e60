"""The run's state: a server-side copy and the proxy that turns writes into operations.

``controller.state`` is ``None`` when the run has no state, otherwise a
:class:`StateProxy` at the root. Reads go through the current state; writes
apply to the server copy at once (with
:func:`~assistant_stream_core.state.apply_operations`, so whatever the strict
TS client would reject raises :class:`~assistant_stream_core.errors.StateError`
here, at the call site) and queue an operation in the run's buffer, where
consecutive operations share one ``update-state`` chunk that always leaves
before the next non-state chunk.

Upstream's proxy semantics are kept (docs/state.rst): assigning a string
that extends a non-empty string becomes ``append-text`` with the suffix;
``append``/``extend``/``+=`` on a list set the next indices; ``clear`` sets
``[]``/``{}``; operations that would need the whole collection on the wire
(``pop``, ``insert``, ``sort``, ``update``, ``del`` …) raise
:class:`NotImplementedError`. Values are checked and deep-copied (a JSON round
trip) when written, so later mutation by the caller never leaks into the state
or into a pending chunk. A lock serialises writes from worker threads, so the
order of operations on the wire is the order in which they were applied.
"""

from __future__ import annotations

import threading
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Sequence, ValuesView
from typing import Any, Protocol

import msgspec

from ..errors import StateError
from ..limits import MAX_STATE_DEPTH, check_text
from ..state import (
    AppendTextOperation,
    Operation,
    SetOperation,
    apply_operations,
    check_path_depth,
    normalize_path,
)
from ._buffer import ChunkBuffer
from ._json import json_copy, make_encoder, unencodable

__all__ = ["StateHost", "StateHostLike", "StateProxy"]


class StateHostLike(Protocol):
    """What a :class:`StateProxy` needs from the object that owns the state.

    :class:`StateHost` (a run's state) is one; the upstream-compatible
    ``assistant_stream_ce.state.StateDraft`` is another.
    """

    def get_value_at_path(self, path: Sequence[str]) -> Any:
        """The value at ``path``; :class:`KeyError` if there is none."""

    def copy_value(self, value: Any, what: str) -> Any:
        """Check ``value`` is JSON (no proxies inside) and return a deep copy."""

    def apply(self, operations: list[Operation]) -> None:
        """Apply ``operations`` and emit them."""

    def set(self, path: Sequence[str], value: Any) -> None:
        """Set ``path`` to ``value``."""

    def append_text(self, path: Iterable[str | int], text: str) -> None:
        """Append ``text`` to the string at ``path``."""


def _reject_proxy(obj: Any) -> Any:
    if isinstance(obj, StateProxy):
        raise ValueError("Cannot store a StateProxy in state; assign a plain value instead")
    raise unencodable(obj)


class StateHost:
    """Owns a run's state and emits the operations that change it (not public)."""

    __slots__ = ("_buffer", "_encoder", "_lock", "_state")

    def __init__(self, buffer: ChunkBuffer, initial: Any) -> None:
        self._buffer = buffer
        self._encoder = make_encoder(_reject_proxy)
        self._lock = threading.Lock()
        self._state = json_copy(initial, "state", self._encoder, error=StateError)

    @property
    def value(self) -> Any:
        """The current state (treat as read-only: containers are shared with history)."""
        return self._state

    def copy_value(self, value: Any, what: str) -> Any:
        """Check ``value`` is JSON (no proxies inside) and return a deep copy."""
        return json_copy(value, what, self._encoder, error=StateError)

    def get_value_at_path(self, path: Sequence[str]) -> Any:
        """The value at ``path``; :class:`KeyError` if there is none."""
        current = self._state
        for key in path:
            if isinstance(current, list):
                if not key.isdigit() or int(key) >= len(current):
                    raise KeyError(key)
                current = current[int(key)]
            elif isinstance(current, dict):
                current = current[key]
            else:
                raise KeyError(key)
        return current

    def apply(self, operations: list[Operation]) -> None:
        """Apply ``operations`` to the server copy and queue them for the wire.

        All or nothing: on :class:`StateError` (or a closed run) nothing changes.
        """
        for operation in operations:
            if not "".join(operation.path).isascii():  # rare; isascii is O(1)
                for segment in operation.path:
                    check_text(segment, "a state path segment")
        with self._lock:
            new_state = apply_operations(self._state, operations)
            self._buffer.add_ops(operations)
            self._state = new_state

    def set(self, path: Sequence[str], value: Any) -> None:
        """Set ``path`` to a copy of ``value`` (skipping a proxy's write-back onto itself)."""
        if isinstance(value, StateProxy) and value._host is self and value._path == list(path):
            # ``proxy["l"] += [x]`` assigns the proxy back after __iadd__ emitted its ops.
            return
        if len(path) > MAX_STATE_DEPTH:
            check_path_depth(path)  # raises, naming the path rather than the value
        copied = json_copy(
            value, f"state value at {list(path)!r}", self._encoder, len(path), StateError
        )
        self.apply([SetOperation(path=tuple(path), value=copied)])

    def append_text(self, path: Iterable[str | int], text: str) -> None:
        """Append ``text`` to the string at ``path`` (an ``append-text`` operation)."""
        if not isinstance(text, str):
            raise TypeError(f"text_delta must be a str, got {type(text).__name__}")
        check_text(text, "text_delta")
        self.apply([AppendTextOperation(path=normalize_path(path), value=text)])

    def proxy(self) -> StateProxy | None:
        """A proxy at the root, or ``None`` while the state is ``None``."""
        if self._state is None:
            return None
        return StateProxy(self, [])


class StateProxy:
    """A live view of the run's state at one path; writes become state operations.

    Example::

        controller.state["user"]["name"] = "John"   # set ["user", "name"]
        controller.state["log"] += " more"           # append-text ["log"] (if non-empty)
        controller.state["items"].append("x")        # set ["items", "<len>"]
    """

    __slots__ = ("_host", "_path")

    def __init__(self, host: StateHostLike, path: list[str] | None = None) -> None:
        self._host = host
        self._path: list[str] = path or []

    @property
    def _manager(self) -> StateHostLike:
        # Upstream's name for the host; upstream's own tests reach for it.
        return self._host

    def _get_value(self) -> Any:
        return self._host.get_value_at_path(self._path)

    @staticmethod
    def _resolve_key(current: Any, key: str | int, require_existing: bool) -> str:
        if isinstance(current, list):
            try:
                index = int(key)
            except (TypeError, ValueError):
                raise KeyError(key) from None
            if index < 0:
                index += len(current)
            if index < 0 or index >= len(current):
                raise KeyError(key)
            return str(index)
        str_key = str(key)
        if require_existing and (not isinstance(current, dict) or str_key not in current):
            raise KeyError(key)
        return str_key

    def __getitem__(self, key: str | int) -> Any:
        """The value at ``key``: scalars as they are, containers as nested proxies."""
        current = self._get_value()
        str_key = self._resolve_key(current, key, require_existing=True)
        value = current[int(str_key)] if isinstance(current, list) else current[str_key]
        if value is None or isinstance(value, (int, float, bool, str)):
            return value
        return StateProxy(self._host, [*self._path, str_key])

    def __setitem__(self, key: str | int, value: Any) -> None:
        """Set ``key``; a string extending the current non-empty string appends text."""
        current = self._get_value()
        str_key = self._resolve_key(current, key, require_existing=False)
        target = [*self._path, str_key]
        if isinstance(current, list):
            existing = current[int(str_key)]
        elif isinstance(current, dict):
            existing = current.get(str_key)
        else:
            existing = None
        # Only a non-empty current value counts: every string starts with "".
        if (
            isinstance(existing, str)
            and isinstance(value, str)
            and existing
            and value.startswith(existing)
            and len(value) > len(existing)
        ):
            self._host.append_text(target, value[len(existing) :])
            return
        self._host.set(target, value)

    def __delitem__(self, key: str | int) -> None:
        """Not supported: the protocol has no delete operation."""
        raise NotImplementedError(
            "state operations cannot delete a key; set the parent to a new value instead"
        )

    def __iadd__(self, other: Any) -> StateProxy:
        """``+=`` on a string appends text; on a list, sets the next indices."""
        current = self._get_value()
        if isinstance(current, str):
            if not isinstance(other, str):
                raise TypeError(f"can only concatenate str (not {type(other).__name__!r}) to str")
            self._host.append_text(self._path, other)
            return self
        if isinstance(current, list):
            if isinstance(other, StateProxy):
                other = other._get_value()
            try:
                items = list(other)
            except TypeError:
                raise TypeError(
                    f"can only concatenate list (not {type(other).__name__!r}) to list"
                ) from None
            base = len(current)
            operations: list[Operation] = [
                SetOperation(
                    path=(*self._path, str(base + i)),
                    value=self._host.copy_value(
                        item, f"state value at {[*self._path, str(base + i)]!r}"
                    ),
                )
                for i, item in enumerate(items)
            ]
            if operations:
                self._host.apply(operations)
            return self
        raise TypeError(
            f"unsupported operand type(s) for +=: {type(current).__name__!r} and "
            f"{type(other).__name__!r}"
        )

    def __repr__(self) -> str:
        return repr(self._get_value())

    def __str__(self) -> str:
        return str(self._get_value())

    def __len__(self) -> int:
        return len(self._get_value())

    def __contains__(self, item: object) -> bool:
        return item in self._get_value()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StateProxy):
            other = other._get_value()
        return bool(self._get_value() == other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        value = self._get_value()
        if isinstance(value, (str, int, float, bool, tuple)):
            return hash(value)
        raise TypeError(f"unhashable type: {type(value).__name__!r}")

    def __bool__(self) -> bool:
        return bool(self._get_value())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._get_value())

    def __add__(self, other: Any) -> Any:
        value = self._get_value()
        if isinstance(value, str) and isinstance(other, str):
            return value + other
        if isinstance(value, list) and hasattr(other, "__iter__"):
            return value + list(other)
        return NotImplemented

    def __getattr__(self, name: str) -> Any:
        # Anything else (str methods, …) reads through to the current value.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._get_value(), name)

    def to_value(self) -> Any:
        """A deep copy of the value at this path, as plain JSON types."""
        return msgspec.json.decode(msgspec.json.encode(self._get_value()))

    # -- list operations -----------------------------------------------------

    def append(self, item: Any) -> None:
        """Append ``item`` to the list at this path (``set [..., "<len>"]``)."""
        value = self._get_value()
        if not isinstance(value, list):
            raise TypeError(f"'append' not supported for type {type(value).__name__}")
        self._host.set([*self._path, str(len(value))], item)

    def extend(self, iterable: Iterable[Any]) -> None:
        """Append every item of ``iterable`` to the list at this path."""
        value = self._get_value()
        if not isinstance(value, list):
            raise TypeError(f"'extend' not supported for type {type(value).__name__}")
        self.__iadd__(iterable)

    def clear(self) -> None:
        """Set the list or dict at this path to an empty one."""
        value = self._get_value()
        if isinstance(value, list):
            self._host.set(self._path, [])
        elif isinstance(value, dict):
            self._host.set(self._path, {})
        else:
            raise TypeError(f"'clear' not supported for type {type(value).__name__}")

    # -- dict operations -----------------------------------------------------

    def _require_dict(self, what: str) -> dict[str, Any]:
        value = self._get_value()
        if not isinstance(value, dict):
            raise TypeError(f"{what!r} not supported for type {type(value).__name__}")
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """``self[key]`` if the dict has ``key``, else ``default``."""
        self._require_dict("get")
        try:
            return self[key]
        except KeyError:
            return default

    def keys(self) -> KeysView[str]:
        """The dict's keys."""
        return self._require_dict("keys").keys()

    def values(self) -> ValuesView[Any]:
        """The dict's values (plain values, not proxies)."""
        return self._require_dict("values").values()

    def items(self) -> ItemsView[str, Any]:
        """The dict's items (plain values, not proxies)."""
        return self._require_dict("items").items()

    def setdefault(self, key: str, default: Any = None) -> Any:
        """``self[key]``, setting it to ``default`` first if missing."""
        if key in self._require_dict("setdefault"):
            return self[key]
        self[key] = default
        return default

    # -- operations that would need the whole collection on the wire -----------

    def insert(self, index: int, item: Any) -> None:
        """Not supported: use indexing or :meth:`append`."""
        raise NotImplementedError("Use indexing or append() instead")

    def pop(self, *args: Any) -> Any:
        """Not supported: it would send the whole collection."""
        raise NotImplementedError("Would require sending the entire collection over the network")

    def remove(self, item: Any) -> None:
        """Not supported: it would send the whole list."""
        raise NotImplementedError("Would require sending the entire list over the network")

    def sort(self, *args: Any, **kwargs: Any) -> None:
        """Not supported: it would send the whole list."""
        raise NotImplementedError("Would require sending the entire list over the network")

    def reverse(self) -> None:
        """Not supported: it would send the whole list."""
        raise NotImplementedError("Would require sending the entire list over the network")

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Not supported: assign keys one by one."""
        raise NotImplementedError("Use individual assignments instead")

    def popitem(self) -> Any:
        """Not supported: it would send the whole dict."""
        raise NotImplementedError("Would require sending the entire dictionary over the network")

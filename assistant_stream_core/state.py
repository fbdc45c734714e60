"""State operations and the pure function that applies them.

A run's state is a JSON value shared with the client. The server describes
changes as *operations*, carried on the wire by ``update-state`` chunks:

* :class:`SetOperation` replaces the value at ``path`` (``()`` is the root);
* :class:`AppendTextOperation` appends to the string at ``path``.

Path segments are strings; list indices are decimal strings (``"0"``).

:func:`apply_operations` follows the rules of assistant-ui's strict client
(``GorpStreamAccumulator``), so a state the server can build is a state the
client can build: a missing object key on the way is created, a list index
equal to the length appends, and everything else the client would reject
(a path through a string or number, an index past the end, ``append-text`` to a
missing value or a non-string, the segments ``__proto__``, ``constructor`` and
``prototype``) raises :class:`~assistant_stream_core.errors.StateError`.
Containers along the path are copied, never mutated, so earlier snapshots of
the state stay valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from .errors import StateError
from .limits import MAX_STATE_DEPTH

__all__ = [
    "AppendTextOperation",
    "Operation",
    "SetOperation",
    "UNSAFE_SEGMENTS",
    "apply",
    "apply_operation",
    "apply_operations",
    "check_path_depth",
    "coerce_operation",
    "normalize_path",
    "validate_path",
]

#: Segments the TS client refuses (prototype pollution guards).
UNSAFE_SEGMENTS = frozenset({"__proto__", "constructor", "prototype"})


def _read_only(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError(
        f"{type(self).__name__} is read-only (it may already be queued for the wire); "
        "build a new operation, or copy it with dict(op)"
    )


class _OperationBase(dict[str, Any]):
    """Shared behaviour: an operation *is* upstream's dict, read-only, with attributes.

    Upstream ``assistant-stream`` represents operations as plain dicts
    (``{"type": "set", "path": [...], "value": ...}``); code written for it
    reads them with ``op["path"]``, ``op.get``, ``dict(op)``, ``op.items()``,
    logs them with ``json.dumps(op)`` and compares them with dict literals.
    All of that works because an operation is a ``dict`` subclass; the
    library itself reads the attributes :attr:`path` (a tuple) and
    :attr:`value`. Writing to an operation raises :class:`TypeError`: one
    operation may be shared by the run's state history and a pending chunk.
    """

    __slots__ = ("path", "value")

    type: ClassVar[str]
    path: tuple[str, ...]

    def __init__(
        self, path: Sequence[str] = (), value: Any = None, *, type: str | None = None
    ) -> None:
        # ``type=`` lets upstream's TypedDict-style calls work:
        # ObjectStreamSetOperation(type="set", path=[...], value=...).
        if type is not None and type != self.type:
            raise ValueError(f"{self.__class__.__name__} has type {self.type!r}, not {type!r}")
        path = tuple(path)
        # Every operation is bounded where it is made (the controller, a
        # decoder, user code building chunks), so no encoder or apply ever
        # recurses past the interpreter's stack on a hostile path.
        if len(path) > MAX_STATE_DEPTH:
            check_path_depth(path)
        dict.__init__(self, type=self.type, path=list(path), value=value)
        self.path = path
        self.value = value

    def to_dict(self) -> dict[str, Any]:
        """The upstream dict form of this operation, as a new plain ``dict``."""
        return {"type": self.type, "path": list(self.path), "value": self.value}

    def __repr__(self) -> str:
        # The library's own form (what the docs print); dict(op) shows upstream's.
        return f"{self.__class__.__name__}(path={self.path!r}, value={self.value!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.path, self.value))

    def __copy__(self) -> _OperationBase:
        return self  # immutable

    __setitem__ = _read_only
    __delitem__ = _read_only
    __ior__ = _read_only
    clear = _read_only
    pop = _read_only
    popitem = _read_only
    setdefault = _read_only
    update = _read_only


class SetOperation(_OperationBase):
    """Replace the value at ``path`` with ``value`` (any JSON value)."""

    __slots__ = ()
    type: ClassVar[str] = "set"
    value: Any


class AppendTextOperation(_OperationBase):
    """Append ``value`` to the string at ``path``."""

    __slots__ = ()
    type: ClassVar[str] = "append-text"
    value: str


Operation = SetOperation | AppendTextOperation


def check_path_depth(path: object, value_depth: int = 0) -> None:
    """Raise :class:`StateError` if ``path`` (plus ``value_depth`` levels of the value
    written there) is deeper than :data:`~assistant_stream_core.limits.MAX_STATE_DEPTH`.

    Anything but a list or tuple passes: other checks name that problem.
    """
    if isinstance(path, (list, tuple)) and len(path) + value_depth > MAX_STATE_DEPTH:
        what = f"{len(path)} segments" + (
            f" and a value nested {value_depth} levels" if value_depth else ""
        )
        raise StateError(
            f"state path of {what} is deeper than the limit of {MAX_STATE_DEPTH}",
            path=[str(segment) for segment in path],
        )


def normalize_path(path: Iterable[str | int]) -> tuple[str, ...]:
    """Turn ``["items", 0, "text"]`` into ``("items", "0", "text")``.

    Integers become decimal strings (as upstream's ``str()``); anything other
    than ``str`` or ``int`` is a :class:`StateError`, since it cannot name a key.
    """
    out: list[str] = []
    for segment in path:
        if isinstance(segment, str):
            out.append(segment)
        elif isinstance(segment, int) and not isinstance(segment, bool):
            out.append(str(segment))
        else:
            raise StateError(
                f"state path segments must be str or int, got {type(segment).__name__} {segment!r}",
                path=[str(s) for s in path],
            )
    return tuple(out)


def validate_path(path: Sequence[str]) -> None:
    """Raise :class:`StateError` if ``path`` has a segment the client refuses."""
    for segment in path:
        if segment in UNSAFE_SEGMENTS:
            raise StateError(f"unsafe state path segment {segment!r} in {list(path)!r}", path=path)


def _index(container: list[Any], segment: str, path: Sequence[str]) -> int:
    if not (segment.isascii() and segment.isdigit()) or (len(segment) > 1 and segment[0] == "0"):
        raise StateError(f"invalid list index {segment!r} in state path {list(path)!r}", path=path)
    index = int(segment)
    if index > len(container):
        raise StateError(
            f"list index {index} is past the end (length {len(container)}) "
            f"in state path {list(path)!r}",
            path=path,
        )
    return index


def _apply_at(target: Any, path: Sequence[str], depth: int, op: Operation) -> Any:
    if depth == len(path):
        if isinstance(op, SetOperation):
            return op.value
        if not isinstance(target, str):
            what = "a missing value" if target is None else type(target).__name__
            raise StateError(
                f"append-text needs a string at state path {list(path)!r}, found {what}",
                path=path,
            )
        return target + op.value
    segment = path[depth]
    if isinstance(target, list):
        index = _index(target, segment, path)
        copy = list(target)
        if index == len(copy):
            copy.append(_apply_at(None, path, depth + 1, op))
        else:
            copy[index] = _apply_at(copy[index], path, depth + 1, op)
        return copy
    if target is None:
        target = {}
    if not isinstance(target, dict):
        raise StateError(
            f"state path {list(path)!r} goes through a {type(target).__name__} "
            f"at segment {segment!r}",
            path=path,
        )
    copy_dict = dict(target)
    copy_dict[segment] = _apply_at(target.get(segment), path, depth + 1, op)
    return copy_dict


def apply_operation(state: Any, operation: Operation) -> Any:
    """Return ``state`` with ``operation`` applied; ``state`` is not modified."""
    validate_path(operation.path)
    return _apply_at(state, operation.path, 0, operation)


def apply_operations(state: Any, operations: Iterable[Operation]) -> Any:
    """Apply ``operations`` in order and return the new state.

    On a :class:`StateError` nothing is returned and ``state`` is unchanged.
    """
    for operation in operations:
        state = apply_operation(state, operation)
    return state


#: Short name for :func:`apply_operations`: ``apply(state, operations)``.
apply = apply_operations


def coerce_operation(operation: Operation | Mapping[str, Any]) -> Operation:
    """Accept an operation Struct or upstream's dict form; return the Struct.

    Raises :class:`StateError` naming the problem for anything else.
    """
    if isinstance(operation, (SetOperation, AppendTextOperation)):
        return operation
    if not isinstance(operation, Mapping):
        raise StateError(f"a state operation must be a mapping, got {type(operation).__name__}")
    kind = operation.get("type")
    raw_path = operation.get("path")
    if not isinstance(raw_path, (list, tuple)):
        raise StateError(f"state operation path must be a list, got {raw_path!r}")
    path = normalize_path(raw_path)
    if "value" not in operation:
        raise StateError(f"state operation {kind!r} has no value", path=path)
    value = operation["value"]
    if kind == "set":
        return SetOperation(path=path, value=value)
    if kind == "append-text":
        if not isinstance(value, str):
            raise StateError(
                f"append-text value must be a str, got {type(value).__name__}", path=path
            )
        return AppendTextOperation(path=path, value=value)
    raise StateError(f"unknown state operation type {kind!r}", path=path)

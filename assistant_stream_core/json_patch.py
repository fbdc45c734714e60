"""JSON Patch (RFC 6902) over state, with JSON Pointers (RFC 6901).

Two directions, both for AG-UI's ``STATE_DELTA`` events:

* :func:`patch_for` writes the one patch operation that takes a state to the
  state after one of our state operations (the encoder's side);
* :func:`apply` applies one patch operation from a peer and returns the new
  state with our operations that say the same change (the decoder's side).
  Values are never changed in place: edits copy along their path.

A pointer's segments escape ``~`` as ``~0`` and ``/`` as ``~1``. Segments the
strict TS client refuses (``__proto__``, ``constructor``, ``prototype``) raise
:class:`PatchError`, as does any operation that does not apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from .state import UNSAFE_SEGMENTS, AppendTextOperation, Operation, SetOperation

__all__ = ["PatchError", "PatchOp", "apply", "json_pointer", "patch_for"]


class PatchOp(msgspec.Struct, omit_defaults=True):
    """One JSON Patch operation, as it travels."""

    op: str
    path: str
    value: Any = msgspec.UNSET
    from_: str | None = msgspec.field(default=None, name="from")


class PatchError(Exception):
    """A patch operation that does not apply to the state, or is malformed."""


def json_pointer(path: Sequence[str]) -> str:
    """The RFC 6901 JSON Pointer for a state path (``~`` → ``~0``, ``/`` → ``~1``)."""
    return "".join("/" + segment.replace("~", "~0").replace("/", "~1") for segment in path)


def _get(state: Any, path: Sequence[str]) -> Any:
    for segment in path:
        state = state[int(segment)] if isinstance(state, list) else state[segment]
    return state


def patch_for(before: Any, op: Operation, after: Any) -> PatchOp | None:
    """The one JSON Patch operation taking ``before`` to ``after``, or ``None``
    when only a snapshot can say it (the root changes)."""
    path = op.path
    target = before
    for depth, segment in enumerate(path):
        here = path[: depth + 1]
        if isinstance(target, list):
            index = int(segment)
            if index == len(target):
                return PatchOp("add", json_pointer(here), _get(after, here))
            child = target[index]
        elif isinstance(target, dict):
            if segment not in target:
                return PatchOp("add", json_pointer(here), _get(after, here))
            child = target[segment]
        else:
            # A null on the way: apply_operations builds an object in its place.
            if depth == 0:
                return None
            return PatchOp("replace", json_pointer(path[:depth]), _get(after, path[:depth]))
        if depth == len(path) - 1:
            return PatchOp("replace", json_pointer(here), _get(after, here))
        target = child
    return None  # the root itself


def _parse_pointer(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(f"JSON Pointer {pointer!r} does not start with '/'")
    tokens = pointer[1:].split("/")
    out = []
    for token in tokens:
        if "~" in token and any(
            token[i] == "~" and token[i + 1 : i + 2] not in ("0", "1") for i in range(len(token))
        ):
            raise PatchError(f"JSON Pointer {pointer!r} has a '~' not followed by 0 or 1")
        out.append(token.replace("~1", "/").replace("~0", "~"))
    return out


def _list_index(container: list[Any], token: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError(f"{token!r} is not an array index")
    index = int(token)
    limit = len(container) if allow_end else len(container) - 1
    if index > limit:
        raise PatchError(f"array index {index} is out of range (length {len(container)})")
    return index


def _child(container: Any, token: str) -> Any:
    if isinstance(container, list):
        return container[_list_index(container, token, allow_end=False)]
    if isinstance(container, dict):
        if token not in container:
            raise PatchError(f"no member {token!r}")
        return container[token]
    raise PatchError(f"cannot descend into a {type(container).__name__} at {token!r}")


def _resolve(doc: Any, tokens: Sequence[str]) -> Any:
    for token in tokens:
        doc = _child(doc, token)
    return doc


def _edit(doc: Any, tokens: Sequence[str], op: str, value: Any) -> Any:
    """Return ``doc`` with ``op`` applied at ``tokens`` (non-empty); copies along the path."""
    if len(tokens) > 1:
        child = _edit(_child(doc, tokens[0]), tokens[1:], op, value)
        if isinstance(doc, list):
            copy_list = list(doc)
            copy_list[_list_index(doc, tokens[0], allow_end=False)] = child
            return copy_list
        copy_dict = dict(doc)
        copy_dict[tokens[0]] = child
        return copy_dict
    token = tokens[0]
    if isinstance(doc, list):
        copy_list = list(doc)
        if op == "add":
            copy_list.insert(_list_index(doc, token, allow_end=True), value)
        elif op == "remove":
            del copy_list[_list_index(doc, token, allow_end=False)]
        else:
            copy_list[_list_index(doc, token, allow_end=False)] = value
        return copy_list
    if isinstance(doc, dict):
        copy_dict = dict(doc)
        if op != "add" and token not in doc:
            raise PatchError(f"no member {token!r} to {op}")
        if op == "remove":
            del copy_dict[token]
        else:
            copy_dict[token] = value
        return copy_dict
    raise PatchError(f"cannot {op} inside a {type(doc).__name__}")


def _json_equal(a: Any, b: Any) -> bool:
    # JSON equality: booleans are not numbers.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _check_segments(tokens: Sequence[str]) -> None:
    for token in tokens:
        if token in UNSAFE_SEGMENTS:
            raise PatchError(f"unsafe path segment {token!r}")


def apply(state: Any, op: PatchOp) -> tuple[Any, list[Operation]]:
    """Apply one patch operation; return the new state and the operations saying it."""
    tokens = _parse_pointer(op.path)
    _check_segments(tokens)
    if op.op in ("add", "replace", "test") and op.value is msgspec.UNSET:
        raise PatchError(f"{op.op} operation without a value")
    if op.op in ("move", "copy") and op.from_ is None:
        raise PatchError(f"{op.op} operation without 'from'")
    if op.op == "test":
        if not _json_equal(_resolve(state, tokens), op.value):
            raise PatchError(f"test failed at {op.path!r}")
        return state, []
    if not tokens:
        if op.op in ("add", "replace"):
            return op.value, [SetOperation(path=(), value=op.value)]
        if op.op == "remove":
            raise PatchError("cannot remove the whole document")
    if op.op == "add":
        parent = _resolve(state, tokens[:-1])
        new_state = _edit(state, tokens, "add", op.value)
        if isinstance(parent, list):
            index = _list_index(parent, tokens[-1], allow_end=True)
            if index != len(parent):  # an insert: our operations can only set the list
                path = tuple(tokens[:-1])
                return new_state, [SetOperation(path=path, value=_resolve(new_state, path))]
            tokens = [*tokens[:-1], str(index)]
        return new_state, [SetOperation(path=tuple(tokens), value=op.value)]
    if op.op == "replace":
        old = _resolve(state, tokens)
        new_state = _edit(state, tokens, "replace", op.value)
        value = op.value
        if (
            isinstance(old, str)
            and old
            and isinstance(value, str)
            and len(value) > len(old)
            and value.startswith(old)
        ):
            return new_state, [AppendTextOperation(path=tuple(tokens), value=value[len(old) :])]
        # A replace by the same value is still a state update the sender made
        # (an empty append, for one): it is read as a set, not dropped.
        return new_state, [SetOperation(path=tuple(tokens), value=value)]
    if op.op == "remove":
        new_state = _edit(state, tokens, "remove", None)
        path = tuple(tokens[:-1])
        return new_state, [SetOperation(path=path, value=_resolve(new_state, path))]
    if op.op in ("move", "copy"):
        assert op.from_ is not None
        source = _parse_pointer(op.from_)
        _check_segments(source)
        value = _resolve(state, source)
        if op.op == "move":
            if tokens[: len(source)] == source and len(tokens) > len(source):
                raise PatchError("cannot move a value into itself")
            if not source:
                raise PatchError("cannot move the whole document")
            state = _edit(state, source, "remove", None)
        new_state = _edit(state, tokens, "add", value) if tokens else value
        return new_state, [SetOperation(path=(), value=new_state)]
    raise PatchError(f"unknown JSON Patch operation {op.op!r}")

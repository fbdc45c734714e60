"""State operations: the strict semantics of the TS client, one implementation."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from assistant_stream_core.errors import StateError
from assistant_stream_core.state import (
    AppendTextOperation,
    SetOperation,
    apply,
    coerce_operation,
    normalize_path,
)


def test_set_and_append_build_new_containers() -> None:
    state: dict[str, Any] = {"log": "a", "items": [1]}
    new = apply(
        state,
        [
            AppendTextOperation(("log",), "b"),
            SetOperation(("items", "1"), {"n": 2}),
            SetOperation(("deep", "x"), 1),
            SetOperation(("items", "0"), 0),
        ],
    )
    assert new == {"log": "ab", "items": [0, {"n": 2}], "deep": {"x": 1}}
    assert state == {"log": "a", "items": [1]}  # the input is never modified


def test_set_at_the_root_replaces_the_state() -> None:
    assert apply({"a": 1}, [SetOperation((), [1])]) == [1]


@pytest.mark.parametrize(
    ("state", "operation", "message"),
    [
        ({"a": 1}, SetOperation(("a", "b"), 1), "goes through a int at segment 'b'"),
        ({"a": []}, SetOperation(("a", "2"), 1), "list index 2 is past the end"),
        ({"a": []}, SetOperation(("a", "x"), 1), "invalid list index 'x'"),
        ({"a": []}, SetOperation(("a", "01"), 1), "invalid list index '01'"),
        ({}, AppendTextOperation(("log",), "x"), "needs a string .* found a missing value"),
        ({"n": 1}, AppendTextOperation(("n",), "x"), "needs a string .* found int"),
        ({}, SetOperation(("__proto__", "x"), 1), "unsafe state path segment '__proto__'"),
        ({}, SetOperation(("a", "constructor"), 1), "unsafe state path segment"),
    ],
)
def test_invalid_operations_name_the_path(
    state: Any, operation: SetOperation | AppendTextOperation, message: str
) -> None:
    with pytest.raises(StateError, match=message) as info:
        apply(state, [operation])
    assert info.value.path == operation.path


def test_operations_compare_with_upstream_dicts() -> None:
    op = SetOperation(("a", "0"), 1)
    assert op == {"type": "set", "path": ["a", "0"], "value": 1}
    assert op["path"] == ["a", "0"]  # upstream dict form
    assert op.to_dict() == {"type": "set", "path": ["a", "0"], "value": 1}
    assert msgspec.json.encode(op) == b'{"type":"set","path":["a","0"],"value":1}'


def test_coerce_operation() -> None:
    assert coerce_operation({"type": "append-text", "path": ["a", 0], "value": "x"}) == (
        AppendTextOperation(("a", "0"), "x")
    )
    for bad, message in [
        ({"type": "move", "path": [], "value": 1}, "unknown state operation type 'move'"),
        ({"type": "set", "path": "a", "value": 1}, "path must be a list"),
        ({"type": "set", "path": []}, "has no value"),
        ({"type": "append-text", "path": [], "value": 1}, "value must be a str"),
        ([1], "must be a mapping"),
    ]:
        with pytest.raises(StateError, match=message):
            coerce_operation(bad)  # type: ignore[arg-type]


def test_normalize_path() -> None:
    assert normalize_path(["a", 1]) == ("a", "1")
    with pytest.raises(StateError, match="must be str or int, got float"):
        normalize_path(["a", 1.5])  # type: ignore[list-item]
    with pytest.raises(StateError, match="got bool"):
        normalize_path([True])

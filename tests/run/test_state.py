"""controller.state: the proxy's operations, batching, ordering and checks (docs/state.rst)."""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest

from assistant_stream_core.chunks import TextDeltaChunk, UpdateStateChunk
from assistant_stream_core.errors import StateError
from assistant_stream_core.run import RunController, StateProxy
from assistant_stream_core.state import AppendTextOperation, SetOperation

from ._util import collect, operations

pytestmark = pytest.mark.anyio


def _set(path: list[str], value: Any) -> dict[str, Any]:
    return {"type": "set", "path": path, "value": value}


def _append(path: list[str], value: str) -> dict[str, Any]:
    return {"type": "append-text", "path": path, "value": value}


async def test_no_state_means_none_until_assigned() -> None:
    seen: list[Any] = []

    async def run(c: RunController) -> None:
        seen.append(c.state)
        c.state = {"a": 1}
        seen.append(c.state)
        assert isinstance(c.state, StateProxy)

    chunks = await collect(run)
    assert seen[0] is None
    assert seen[1] == {"a": 1}
    assert chunks == [UpdateStateChunk(operations=[SetOperation(path=(), value={"a": 1})])]


async def test_string_writes_follow_upstream_set_or_append_rules() -> None:
    async def run(c: RunController) -> None:
        text = c.state["messages"][0]
        text["text"] = "Hel"  # current "" -> set
        text["text"] = "Hello"  # extends -> append-text "lo"
        text["text"] += "!"  # read + assign -> append-text "!"
        text["text"] = "Hello!"  # unchanged -> set
        text["text"] = "bye"  # not an extension -> set
        text["text"] = 42  # not a string -> set
        c.state["n"] = None

    chunks = await collect(run, state={"messages": [{"text": ""}]})
    path = ["messages", "0", "text"]
    assert operations(chunks) == [
        _set(path, "Hel"),
        _append(path, "lo"),
        _append(path, "!"),
        _set(path, "Hello!"),
        _set(path, "bye"),
        _set(path, 42),
        _set(["n"], None),
    ]
    # All written without an intervening chunk: one update-state chunk.
    assert len(chunks) == 1


async def test_list_and_dict_operations() -> None:
    final: list[Any] = []

    async def run(c: RunController) -> None:
        items = c.state["items"]
        items.append("b")
        items += ["c", "d"]
        items.extend(["e"])
        items[0] = "A"
        items[-1] = "E"
        c.state["obj"].setdefault("k", 1)
        c.state["obj"].setdefault("k", 2)
        c.state[3] = "three"  # keys are str()-ed
        c.state["gone"].clear()
        final.append(c.state.to_value())
        assert c.state["obj"].get("missing", "dflt") == "dflt"
        assert list(c.state["obj"].keys()) == ["k"]
        assert len(c.state["items"]) == 5
        assert "A" in c.state["items"]
        assert list(c.state["items"]) == ["A", "b", "c", "d", "E"]

    chunks = await collect(run, state={"items": ["a"], "obj": {}, "gone": [1, 2]})
    assert operations(chunks) == [
        _set(["items", "1"], "b"),
        _set(["items", "2"], "c"),
        _set(["items", "3"], "d"),
        _set(["items", "4"], "e"),
        _set(["items", "0"], "A"),
        _set(["items", "4"], "E"),
        _set(["obj", "k"], 1),
        _set(["3"], "three"),
        _set(["gone"], []),
    ]
    assert final == [
        {"items": ["A", "b", "c", "d", "E"], "obj": {"k": 1}, "3": "three", "gone": []}
    ]


async def test_reads_and_unsupported_operations() -> None:
    async def run(c: RunController) -> None:
        s = c.state
        assert s["user"]["name"] == "John"
        assert isinstance(s["user"], StateProxy)
        with pytest.raises(KeyError):
            s["missing"]["a"] = 1
        with pytest.raises(KeyError):
            s["items"][5] = 1
        for call in (
            lambda: s["items"].pop(),
            lambda: s["items"].insert(0, 1),
            lambda: s["items"].remove(1),
            lambda: s["items"].sort(),
            lambda: s["items"].reverse(),
            lambda: s["user"].update({}),
            lambda: s["user"].popitem(),
        ):
            with pytest.raises(NotImplementedError):
                call()
        with pytest.raises(NotImplementedError):
            del s["user"]
        with pytest.raises(TypeError):
            s["user"].append(1)

    assert await collect(run, state={"user": {"name": "John"}, "items": [1]}) == []


async def test_storing_a_proxy_is_refused_and_changes_nothing() -> None:
    async def run(c: RunController) -> None:
        with pytest.raises(ValueError, match="StateProxy"):
            c.state["copy"] = c.state["orig"]
        with pytest.raises(ValueError, match="StateProxy"):
            c.state["copy"] = {"nested": c.state["orig"]}
        with pytest.raises(ValueError, match="StateProxy"):
            c.state["items"].append(c.state["orig"])
        with pytest.raises(ValueError, match="StateProxy"):
            c.state["items"] += [c.state["orig"]]
        assert c.state == {"orig": {"a": 1}, "copy": None, "items": []}

    assert await collect(run, state={"orig": {"a": 1}, "copy": None, "items": []}) == []


async def test_append_state_text_and_strict_client_paths() -> None:
    errors: list[StateError] = []

    async def run(c: RunController) -> None:
        c.append_state_text(["user", "name"], "Al")
        c.append_state_text(["user", "name"], "ice")
        c.append_state_text(["log", 0], "x")
        paths: list[list[str | int]] = [
            ["user", "missing"],
            ["user", "name", "deeper"],
            ["__proto__"],
            ["log", 5],
        ]
        for path in paths:
            try:
                c.append_state_text(path, "x")
            except StateError as exc:
                errors.append(exc)
        try:
            c.state["user"]["constructor"] = 1
        except StateError as exc:
            errors.append(exc)
        with pytest.raises(TypeError, match="text_delta"):
            c.append_state_text(["user", "name"], 5)  # type: ignore[arg-type]
        assert c.state["user"]["name"] == "Alice"

    chunks = await collect(run, state={"user": {"name": ""}, "log": ["a"]})
    assert operations(chunks) == [
        _append(["user", "name"], "Al"),
        _append(["user", "name"], "ice"),
        _append(["log", "0"], "x"),
    ]
    # Decision 5: each would fail the strict TS client, so each fails here,
    # naming the path.
    assert [e.path for e in errors] == [
        ("user", "missing"),
        ("user", "name", "deeper"),
        ("__proto__",),
        ("log", "5"),
        ("user", "constructor"),
    ]


async def test_state_flushes_before_other_chunks_and_batches_between() -> None:
    async def run(c: RunController) -> None:
        c.state["a"] = 1
        c.state["b"] = 2
        c.append_text("x")
        c.state["c"] = 3
        c.flush()  # ends the batch: the next op starts a new chunk
        c.state["d"] = 4
        c.append_text("y")
        c.state["e"] = 5  # flushed at the end of the run

    assert await collect(run, state={}) == [
        UpdateStateChunk(
            operations=[SetOperation(path=("a",), value=1), SetOperation(path=("b",), value=2)]
        ),
        TextDeltaChunk(text_delta="x"),
        UpdateStateChunk(operations=[SetOperation(path=("c",), value=3)]),
        UpdateStateChunk(operations=[SetOperation(path=("d",), value=4)]),
        TextDeltaChunk(text_delta="y"),
        UpdateStateChunk(operations=[SetOperation(path=("e",), value=5)]),
    ]


async def test_state_ops_pending_at_a_take_go_out_with_that_batch() -> None:
    from assistant_stream_core.run import create_run

    async def run(c: RunController) -> None:
        c.state["log"] = "a"
        await anyio.sleep(0.01)  # the consumer takes the pending op meanwhile
        c.state["log"] += "b"

    batches = [batch async for batch in create_run(run, state={}).batches()]
    assert batches == [
        [UpdateStateChunk(operations=[SetOperation(path=("log",), value="a")])],
        [UpdateStateChunk(operations=[AppendTextOperation(path=("log",), value="b")])],
    ]


async def test_values_are_copied_and_checked() -> None:
    initial = {"items": [1]}
    value = {"nested": [1, 2]}
    errors: list[Exception] = []

    async def run(c: RunController) -> None:
        c.state["v"] = value
        value["nested"].append(3)  # must not leak into the state or the pending op
        initial["items"].append(99)
        assert c.state["v"]["nested"] == [1, 2]
        assert c.state["items"] == [1]
        for bad in (object(), math.nan, {"x": [math.inf]}):
            try:
                c.state["bad"] = bad
            except (TypeError, ValueError) as exc:
                errors.append(exc)
        assert "bad" not in c.state

    chunks = await collect(run, state=initial)
    assert operations(chunks) == [_set(["v"], {"nested": [1, 2]})]
    assert [type(e) for e in errors] == [TypeError, ValueError, ValueError]
    assert "['bad']" in str(errors[0])


async def test_bad_initial_state_fails_at_create_run() -> None:
    from assistant_stream_core.run import create_run

    async def run(c: RunController) -> None:
        pass

    with pytest.raises(TypeError, match="state"):
        create_run(run, state={"x": object()})
    with pytest.raises(ValueError, match="non-finite"):
        create_run(run, state=[math.nan])

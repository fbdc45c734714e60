"""StateManager and assistant_stream_ce.state: batching, scheduling, checks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from assistant_stream_ce.serialization.assistant_transport import AssistantTransportEncoder
from assistant_stream_ce.serialization.data_stream import DataStreamEncoder
from assistant_stream_ce.state import (
    AssistantState,
    StateKeyError,
    StateProxy,
    StateTypeError,
    deep_apply,
    lookup_state,
)
from assistant_stream_ce.state_manager import StateManager
from assistant_stream_ce.state_proxy import StateProxy as FacadeStateProxy

from assistant_stream_core.chunks import TextDeltaChunk, UpdateStateChunk
from assistant_stream_core.errors import StateError
from assistant_stream_core.protocols.data_stream import DataStreamDecoder


def collector() -> tuple[list[UpdateStateChunk], Callable[[UpdateStateChunk], None]]:
    chunks: list[UpdateStateChunk] = []
    return chunks, chunks.append


def test_without_a_loop_the_batch_waits_for_flush() -> None:
    chunks, put = collector()
    manager = StateManager(put, {"messages": [], "title": ""})
    manager.state["title"] = "Hi"
    manager.state["messages"].append({"text": "a"})
    manager.append_text(["title"], "!")
    assert chunks == []
    manager.flush()
    assert len(chunks) == 1
    assert chunks[0].operations == [
        {"type": "set", "path": ["title"], "value": "Hi"},
        {"type": "set", "path": ["messages", "0"], "value": {"text": "a"}},
        {"type": "append-text", "path": ["title"], "value": "!"},
    ]
    assert manager.state_data == {"messages": [{"text": "a"}], "title": "Hi!"}
    manager.flush()  # nothing pending: no empty chunk
    assert len(chunks) == 1


@pytest.mark.anyio
async def test_event_loop_schedule_flushes_soon() -> None:
    chunks, put = collector()
    manager = StateManager(put, {"n": 0})
    manager.state["n"] = 1
    manager.state["n"] = 2
    assert chunks == []  # batched until the loop runs the scheduled flush
    await anyio.sleep(0.01)
    assert [c.operations for c in chunks] == [
        [{"type": "set", "path": ["n"], "value": 1}, {"type": "set", "path": ["n"], "value": 2}]
    ]
    manager.state["n"] = 3
    await anyio.sleep(0.01)
    assert len(chunks) == 2


@pytest.mark.anyio
async def test_schedule_none_never_flushes_by_itself() -> None:
    chunks, put = collector()
    manager = StateManager(put, {"n": 0}, schedule=None)
    manager.state["n"] = 1
    await anyio.sleep(0.01)
    assert chunks == []
    manager.flush()
    assert len(chunks) == 1


def test_custom_schedule_is_called_once_per_batch() -> None:
    scheduled: list[Callable[[], None]] = []
    chunks, put = collector()
    manager = StateManager(put, {"n": 0}, schedule=scheduled.append)
    manager.state["n"] = 1
    manager.state["n"] = 2
    assert len(scheduled) == 1
    scheduled[0]()
    assert len(chunks) == 1
    assert len(chunks[0].operations) == 2
    manager.state["n"] = 3
    assert len(scheduled) == 2


@pytest.mark.anyio
async def test_writes_from_worker_threads_keep_their_order() -> None:
    chunks, put = collector()
    manager = StateManager(put, {"log": "x"}, schedule=None)

    def write(tag: str) -> None:
        for _ in range(200):
            manager.state["log"] += tag

    threads = [threading.Thread(target=write, args=(t,)) for t in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    manager.flush()
    text = "x" + "".join(op["value"] for op in chunks[0].operations)
    assert text == manager.state_data["log"]
    assert sorted(text[1:]) == sorted("a" * 200 + "b" * 200)


def test_state_data_is_copied_and_values_are_copied() -> None:
    initial = {"user": {"name": "A"}}
    value = {"tags": ["x"]}
    manager = StateManager(lambda _c: None, initial, schedule=None)
    manager.state["meta"] = value
    initial["user"]["name"] = "changed"
    value["tags"].append("leak")
    assert manager.state_data == {"user": {"name": "A"}, "meta": {"tags": ["x"]}}


def test_none_state_has_no_proxy_until_set() -> None:
    _chunks, put = collector()
    manager = StateManager(put, schedule=None)
    assert manager.state is None
    manager.add_operations([{"type": "set", "path": [], "value": {"a": 1}}])
    proxy = manager.state
    assert isinstance(proxy, StateProxy)
    assert proxy["a"] == 1


def test_bad_writes_raise_at_the_call_site_and_change_nothing() -> None:
    chunks, put = collector()
    manager = StateManager(put, {"title": "t", "n": 1}, schedule=None)
    with pytest.raises(StateError):
        manager.add_operations([{"type": "set", "path": ["title", "x"], "value": 1}])
    with pytest.raises(StateError):
        manager.append_text(["missing"], "x")
    with pytest.raises(StateError):
        manager.add_operations([{"type": "set", "path": ["__proto__"], "value": 1}])
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        manager.state["bad"] = object()
    with pytest.raises(ValueError, match="StateProxy"):
        manager.add_operations([{"type": "set", "path": ["copy"], "value": manager.state}])
    with pytest.raises(TypeError, match="str"):
        manager.append_text(["title"], 5)  # type: ignore[arg-type]
    manager.flush()
    assert chunks == []
    assert manager.state_data == {"title": "t", "n": 1}
    with pytest.raises(KeyError):
        manager.get_value_at_path(["nope"])


def test_flushed_chunks_encode_and_decode() -> None:
    chunks, put = collector()
    manager = StateManager(put, {"items": []}, schedule=None)
    manager.state["items"] += ["a", "b"]
    manager.flush()
    encoder = DataStreamEncoder()
    wire = encoder.encode_chunk(chunks[0]) + encoder.finish_chunks()
    decoded = DataStreamDecoder().feed(wire.encode())
    assert decoded == [UpdateStateChunk(operations=chunks[0].operations)]


def test_state_proxy_is_one_class() -> None:
    assert StateProxy is FacadeStateProxy


def test_deep_apply_errors_are_upstreams_types_and_ours() -> None:
    with pytest.raises(StateKeyError) as key_error:
        deep_apply({"items": []}, ["items", "x"], {"type": "set", "path": [], "value": 1})
    assert isinstance(key_error.value, KeyError)
    assert isinstance(key_error.value, StateError)
    assert "invalid list index" in str(key_error.value)
    with pytest.raises(StateTypeError) as type_error:
        deep_apply({"t": 1}, ["t"], {"type": "append-text", "path": [], "value": "x"})
    assert isinstance(type_error.value, TypeError)
    with pytest.raises(TypeError):
        deep_apply({}, ["t"], {"type": "delete", "path": [], "value": 1})
    with pytest.raises(KeyError):
        deep_apply({}, ["constructor"], {"type": "set", "path": [], "value": 1})


def test_lookup_state_list_indices_are_digits() -> None:
    state: dict[str, Any] = {"items": ["a", "b"]}
    assert lookup_state(state, ["items", "1"]) == "b"
    for bad in ("-1", " 1", "+1", "2"):
        with pytest.raises(KeyError):
            lookup_state(state, ["items", bad])


def test_assistant_state_apply_is_all_or_nothing() -> None:
    state = AssistantState({"a": 1})
    with pytest.raises(StateError):
        state.apply(
            [
                {"type": "set", "path": ["b"], "value": 2},
                {"type": "append-text", "path": ["a"], "value": "x"},
            ]
        )
    assert state.state == {"a": 1}


def test_encode_chunk_remembers_open_parts() -> None:
    encoder = AssistantTransportEncoder()
    first = encoder.encode_chunk(TextDeltaChunk("a"))
    second = encoder.encode_chunk(TextDeltaChunk("b"))
    assert first.count("data: ") == 2  # part-start, then the delta
    assert second.count("data: ") == 1
    tail = encoder.finish_chunks()
    assert '"part-finish"' in tail
    assert tail.endswith("data: [DONE]\n\n")
    # finish_chunks() starts over: the next text opens a new part.
    assert encoder.encode_chunk(TextDeltaChunk("c")).count("data: ") == 2

"""The AG-UI reference SDKs accept what AGUIEncoder writes.

Every event of every body validates against the ``ag-ui-protocol`` Python
models (pydantic, the ``Event`` union) with no field unknown to them, and
survives their serialisation unchanged. In one Node batch (``ag_ui.mjs``) each
body, whole and cut into random pieces, goes through npm ``@ag-ui/client``'s
SSE parser, npm ``@ag-ui/core``'s ``EventSchemas``, ``verifyEvents`` (the
protocol's ordering rules) and a whole ``HttpAgent`` run whose ``fetch``
answers with the body, which must build the messages and state the chunks
meant: also when the run raises, and when it is cut short.
"""

from __future__ import annotations

import base64
import importlib.util
import json
from typing import Any

import anyio
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from assistant_stream_core.chunks import (
    AnnotationsChunk,
    Chunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    MessageFinishChunk,
    ReasoningDeltaChunk,
    ReasoningPartStartChunk,
    SourceChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.protocols.ag_ui import AGUIEncoder
from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.state import AppendTextOperation, SetOperation, apply_operations
from assistant_stream_core.testing.strategies import chunk_sequences
from tests.conftest import require_tool

from .conftest import INTEROP_DIR, PINNED_PACKAGES, NodeScripts

pytestmark = pytest.mark.interop

#: The AG-UI npm packages this module tests, as tests/interop/package.json pins them.
AG_UI_PACKAGES = {name: PINNED_PACKAGES[name] for name in ("@ag-ui/core", "@ag-ui/client")}


def encode(chunks: list[Chunk], *, state: Any = None) -> bytes:
    encoder = AGUIEncoder(thread_id="thread", run_id="run", message_id="msg", state=state)
    return encoder.encode_many(chunks) + encoder.finish()


def events(body: bytes) -> list[dict[str, Any]]:
    frames = body.decode().split("\n\n")[:-1]
    return [json.loads(f[len("data: ") :]) for f in frames if not f.startswith(":")]


async def _collect(callback: Any, state: Any, chunks: list[Chunk]) -> None:
    async for chunk in create_run(callback, state=state):
        chunks.append(chunk)


def run_chunks(callback: Any, state: Any = None, *, raises: bool = False) -> list[Chunk]:
    """The chunks a real run produces (on asyncio; the run layer tests both backends)."""
    chunks: list[Chunk] = []
    if raises:  # a raising run re-raises after its error chunk
        with pytest.raises(RuntimeError, match="tool backend down"):
            anyio.run(_collect, callback, state, chunks)
    else:
        anyio.run(_collect, callback, state, chunks)
    return chunks


async def weather_run(controller: RunController) -> None:
    controller.append_reasoning("The user wants weather.")
    controller.append_text("Checking the weather…")
    tool = await controller.add_tool_call("get_weather", "call_1")
    tool.append_args_text('{"city": "Paris"}')
    tool.set_response({"temp_c": 21})
    controller.append_text("It is 21 °C.")
    assert controller.state is not None
    controller.state["status"] = "done"
    controller.state["log"] = "a"
    controller.state["log"] += "b"


async def raising_run(controller: RunController) -> None:
    controller.append_text("Let me look")
    tool = await controller.add_tool_call("lookup", "call_2")
    tool.append_args_text('{"q": ')
    raise RuntimeError("tool backend down")


EVERYTHING: list[Chunk] = [
    StepStartChunk("step-1"),
    ReasoningPartStartChunk("Plan", "p1"),
    ReasoningDeltaChunk("Think", "p1"),
    TextDeltaChunk("Hello "),
    TextDeltaChunk("world", "p1"),
    ToolCallBeginChunk("c1", "search"),
    ToolCallDeltaChunk("c1", '{"q": "x"}'),
    ToolCallArgsTextFinishChunk("c1"),
    ToolCallBeginChunk("c2", "noargs"),
    UpdateStateChunk([SetOperation(("items",), []), SetOperation(("items", "0"), "a")]),
    ToolResultChunk("c1", ["r"], artifact={"raw": 1}),
    ToolResultChunk("c2", "plain text", is_error=True),
    UpdateStateChunk([AppendTextOperation(("items", "0"), "b"), SetOperation(("a/b", "~c"), None)]),
    DataChunk({"k": [1, 2]}),
    AnnotationsChunk([{"a": 1}]),
    SourceChunk("s1", "https://example.com", title="Example"),
    FileChunk("aGk=", "text/plain"),
    TextDeltaChunk("Done."),
    StepFinishChunk("stop", 10, 5),
    MessageFinishChunk("stop", 10, 5),
]

SCRIPTS: dict[str, tuple[bytes, dict[str, Any]]] = {
    "everything": (
        encode(EVERYTHING, state={}),
        {
            "messages": [
                ("msg-reasoning-1", "reasoning", "Think"),
                ("msg", "assistant", "Hello world"),
                ("msg-result-c1", "tool", '["r"]'),
                ("msg-result-c2", "tool", "plain text"),
                ("msg-1", "assistant", "Done."),
            ],
            "tool_calls": {"msg": [("c1", "search", '{"q": "x"}'), ("c2", "noargs", "{}")]},
            "state": {"items": ["ab"], "a/b": {"~c": None}},
        },
    ),
    "keepalives between events": (
        encode([TextDeltaChunk("a"), TextDeltaChunk("b")]).replace(
            b"\n\n", b"\n\n" + (AGUIEncoder.keepalive or b"")
        ),
        {"messages": [("msg", "assistant", "ab")]},
    ),
    "error with everything open": (
        encode(
            [
                StepStartChunk("s"),
                ReasoningDeltaChunk("r"),
                TextDeltaChunk("partial"),
                ToolCallBeginChunk("c1", "w"),
                ToolCallDeltaChunk("c1", '{"a'),
                ErrorChunk("boom"),
            ]
        ),
        {
            "messages": [("msg-reasoning-1", "reasoning", "r"), ("msg", "assistant", "partial")],
            "tool_calls": {"msg": [("c1", "w", '{"a')]},
            "run_error": "boom",
        },
    ),
    "cut short (cancelled) with everything open": (
        encode(
            [
                StepStartChunk("s"),
                TextDeltaChunk("partial"),
                ToolCallBeginChunk("c1", "w"),
                ReasoningPartStartChunk(),
            ]
        ),
        {
            "messages": [("msg", "assistant", "partial"), ("msg-reasoning-1", "reasoning", "")],
            "tool_calls": {"msg": [("c1", "w", "{}")]},
        },
    ),
    "error as the first chunk": (encode([ErrorChunk("early")]), {"run_error": "early"}),
    "real run": (
        encode(run_chunks(weather_run, state={}), state={}),
        {
            "messages": [
                ("msg-reasoning-1", "reasoning", "The user wants weather."),
                ("msg", "assistant", "Checking the weather…"),
                ("msg-result-call_1", "tool", '{"temp_c":21}'),
                ("msg-1", "assistant", "It is 21 °C."),
            ],
            "tool_calls": {"msg": [("call_1", "get_weather", '{"city": "Paris"}')]},
            "state": {"status": "done", "log": "ab"},
        },
    ),
    "real run that raises": (
        encode(run_chunks(raising_run, raises=True)),
        {
            "messages": [("msg", "assistant", "Let me look")],
            "tool_calls": {"msg": [("call_2", "lookup", '{"q": ')]},
            "run_error": "tool backend down",
        },
    ),
}


def numbers_as_floats(value: Any) -> Any:
    """JSON as JavaScript reads it: every number a float (``1e16`` comes back as an int)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [numbers_as_floats(item) for item in value]
    return {key: numbers_as_floats(item) for key, item in value.items()}


def final_state(chunks: list[Chunk]) -> Any:
    """The state the run meant, as JSON carries it (nothing after an error counts)."""
    state: Any = {}
    for chunk in chunks:
        if isinstance(chunk, ErrorChunk):
            break
        if isinstance(chunk, UpdateStateChunk):
            state = apply_operations(state, chunk.operations)
    return msgspec.json.decode(msgspec.json.encode(state))


def generated_bodies() -> list[tuple[bytes, Any]]:
    """Bodies of runs drawn by Hypothesis (any chunk kind, any order a run allows),
    with the final state each run meant."""
    bodies: list[tuple[bytes, Any]] = []

    @settings(
        max_examples=20,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(chunk_sequences(max_size=20, initial_state={}))
    def collect(chunks: list[Chunk]) -> None:
        # Runs may go on after an error; the encoder drops the rest, with a warning.
        if any(isinstance(chunk, ErrorChunk) for chunk in chunks[:-1]):
            with pytest.warns(RuntimeWarning, match="already ended"):
                bodies.append((encode(chunks, state={}), final_state(chunks)))
        else:
            bodies.append((encode(chunks, state={}), final_state(chunks)))

    collect()
    return bodies


# --- Python: the ag-ui-protocol models --------------------------------------


@pytest.fixture(scope="module")
def event_adapter() -> Any:
    require_tool(importlib.util.find_spec("ag_ui") is not None, "the Python package ag-ui-protocol")
    from ag_ui.core import Event
    from pydantic import TypeAdapter

    return TypeAdapter(Event)


def check_with_models(adapter: Any, body: bytes) -> None:
    for event in events(body):
        model = adapter.validate_python(event)
        assert model.type.value == event["type"]
        assert not model.model_extra, f"fields unknown to ag-ui-protocol: {model.model_extra}"
        assert adapter.dump_python(model, mode="json", by_alias=True) == event


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_scripts_validate_against_python_models(event_adapter: Any, name: str) -> None:
    check_with_models(event_adapter, SCRIPTS[name][0])


def test_generated_runs_validate_against_python_models(event_adapter: Any) -> None:
    for body, _ in generated_bodies():
        check_with_models(event_adapter, body)


# --- Node: @ag-ui/core schemas, @ag-ui/client verifier and HttpAgent --------


@pytest.fixture(scope="module")
def ag_ui_node(node_scripts: NodeScripts) -> NodeScripts:
    for package, pinned in AG_UI_PACKAGES.items():
        manifest = INTEROP_DIR / "node_modules" / package / "package.json"
        require_tool(manifest.is_file(), f"the npm package {package}")
        installed = json.loads(manifest.read_text(encoding="utf-8"))["version"]
        assert installed == pinned, f"{package} {installed} installed, {pinned} pinned"
    return node_scripts


def cases(name: str, body: bytes, state: Any = None) -> list[dict[str, Any]]:
    data = base64.b64encode(body).decode()
    return [
        {"id": f"{name}/whole", "data": data, "state": state},
        {"id": f"{name}/split", "data": data, "state": state, "split": {"seed": 7, "max": 5}},
    ]


def assert_accepted(result: dict[str, Any]) -> None:
    assert result["ok"], result.get("error") or {
        key: result[key] for key in ("schemaErrors", "unknownKeys", "verifyError")
    }
    assert result["warnings"] == []
    assert result["schemaErrors"] == []
    assert result["unknownKeys"] == []
    assert result["verifyError"] is None


def test_scripts_pass_the_real_client(ag_ui_node: NodeScripts) -> None:
    batch = [case for name, (body, _) in SCRIPTS.items() for case in cases(name, body)]
    results = ag_ui_node.run_batch("ag_ui.mjs", batch)
    for name, (body, expected) in SCRIPTS.items():
        whole = results[f"{name}/whole"]
        assert_accepted(whole)
        split = results[f"{name}/split"]
        assert_accepted(split)
        assert split["events"] == whole["events"] == events(body)
        assert split["messages"] == whole["messages"]
        messages = whole["messages"]
        assert [(m["id"], m["role"], m["content"]) for m in messages] == expected.get(
            "messages", []
        ), name
        calls = {
            m["id"]: [
                (c["id"], c["function"]["name"], c["function"]["arguments"]) for c in m["toolCalls"]
            ]
            for m in messages
            if m.get("toolCalls")
        }
        assert calls == expected.get("tool_calls", {}), name
        assert whole["state"] == expected.get("state", {}), name
        if "run_error" in expected:
            assert whole["runErrorEvents"] == [expected["run_error"]]
        else:
            assert whole["runErrorEvents"] == []
        assert whole["runError"] is None


def test_generated_runs_pass_the_real_client(ag_ui_node: NodeScripts) -> None:
    bodies = generated_bodies()
    batch = [case for i, (body, _) in enumerate(bodies) for case in cases(f"run{i}", body, {})]
    results = ag_ui_node.run_batch("ag_ui.mjs", batch)
    for i, (body, state) in enumerate(bodies):
        for mode in ("whole", "split"):
            result = results[f"run{i}/{mode}"]
            assert_accepted(result)
            assert numbers_as_floats(result["events"]) == numbers_as_floats(events(body))
            assert result["runError"] is None
        ended = events(body)[-1]
        errors = [ended["message"]] if ended["type"] == "RUN_ERROR" else []
        assert results[f"run{i}/whole"]["runErrorEvents"] == errors
        assert numbers_as_floats(results[f"run{i}/whole"]["state"]) == numbers_as_floats(state)

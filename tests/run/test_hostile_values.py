"""Values the wire cannot carry, refused where they enter: deep state and JSON, lone surrogates.

The rule (docs/errors.rst): the controller's call, or the encoder's
constructor, raises naming the argument; the run goes on, and every protocol's
stream of it decodes to its clean end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from assistant_stream_core.chunks import Chunk, TextDeltaChunk, UpdateStateChunk
from assistant_stream_core.errors import StateError
from assistant_stream_core.limits import MAX_STATE_DEPTH
from assistant_stream_core.protocols.ag_ui import AGUIEncoder
from assistant_stream_core.protocols.openai_chat import OpenAIChatEncoder
from assistant_stream_core.protocols.ui_message_stream import UIMessageStreamEncoder
from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.state import AppendTextOperation, SetOperation
from tests.wires import WIRES, Wire, decode_all, encode_all

from ._util import collect

pytestmark = pytest.mark.anyio

SURROGATE = "a\ud800b"


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))


def assert_every_wire_decodes(chunks: list[Chunk], text: str) -> None:
    """Each protocol encodes the run, and its decoder reads it to a clean end."""
    for wire in WIRES:
        body, _ = encode_all(wire, chunks)
        decoded = decode_all(wire, [body[i : i + 7] for i in range(0, len(body), 7)])
        assert text_of(decoded) == text, wire


# --- depth ------------------------------------------------------------------------------


async def test_state_nested_through_the_proxy_stops_at_the_limit_with_state_error() -> None:
    # It used to go on until RecursionError, about 990 levels down.
    levels: list[int] = []

    async def run(c: RunController) -> None:
        c.state = {}
        proxy = c.state

        def descend() -> None:
            nonlocal proxy
            for level in range(2000):
                proxy["k"] = {}
                levels.append(level)
                proxy = proxy["k"]

        with pytest.raises(StateError, match=f"deeper than the limit of {MAX_STATE_DEPTH}"):
            descend()
        c.append_text("after")

    chunks = await collect(run)
    # The root is a dict: a dict set at `level` segments reaches level + 2.
    assert levels[-1] == MAX_STATE_DEPTH - 2
    assert_every_wire_decodes(chunks, "after")


@pytest.mark.parametrize("depth", [MAX_STATE_DEPTH, 5000])
async def test_a_state_value_too_deep_for_its_path_is_a_state_error(depth: int) -> None:
    async def run(c: RunController) -> None:
        c.state = {}
        with pytest.raises(StateError, match=r"under a path of 1 segments"):
            c.state["a"] = nested(depth)  # one segment + depth levels
        c.state["a"] = nested(MAX_STATE_DEPTH - 1)  # exactly at the limit
        c.append_text("after")

    chunks = await collect(run)
    assert_every_wire_decodes(chunks, "after")


async def test_a_long_path_is_a_state_error_for_every_operation() -> None:
    long_path = ["k"] * (MAX_STATE_DEPTH + 1)

    async def run(c: RunController) -> None:
        c.state = {}
        with pytest.raises(StateError, match="201 segments"):
            c.append_state_text(long_path, "x")
        c.append_text("after")

    assert_every_wire_decodes(await collect(run), "after")
    with pytest.raises(StateError):
        SetOperation(tuple(long_path), 1)
    with pytest.raises(StateError):
        AppendTextOperation(tuple(long_path), "x")
    # Upstream's dict form, which the encoders also accept, is checked too.
    with pytest.raises(StateError):
        UpdateStateChunk([{"type": "set", "path": long_path, "value": 1}])  # type: ignore[list-item]


async def test_an_initial_state_too_deep_is_a_state_error() -> None:
    async def run(c: RunController) -> None:
        pass

    with pytest.raises(StateError, match="state nests"):
        create_run(run, state=nested(MAX_STATE_DEPTH + 1))


@pytest.mark.parametrize(
    "call",
    [
        lambda c, v: c.add_data(v),
        lambda c, v: c.add_annotations([v]),
    ],
    ids=["add_data", "add_annotations"],
)
@pytest.mark.parametrize("depth", [MAX_STATE_DEPTH + 1, 5000])
async def test_json_values_too_deep_are_a_value_error(
    call: Callable[[RunController, Any], None], depth: int
) -> None:
    async def run(c: RunController) -> None:
        with pytest.raises(ValueError, match=f"limit of {MAX_STATE_DEPTH}"):
            call(c, nested(depth))
        tool = await c.add_tool_call("t", "call_1")
        with pytest.raises(ValueError, match=r"result nests"):
            tool.set_response(nested(depth))
        tool.set_response(nested(MAX_STATE_DEPTH))
        c.append_text("after")

    assert_every_wire_decodes(await collect(run), "after")


# --- lone surrogates ----------------------------------------------------------------------

#: Every string a callback can hand the controller, with the argument name the
#: error must give.
CALLS: list[tuple[str, Callable[[RunController, str], Any]]] = [
    ("text_delta", lambda c, s: c.append_text(s)),
    ("reasoning_delta", lambda c, s: c.append_reasoning(s)),
    ("unstable_summary", lambda c, s: c.add_reasoning_part(s)),
    ("parent_id", lambda c, s: c.with_parent_id(s)),
    ("tool_name", lambda c, s: c.add_tool_call(s)),
    ("tool_call_id", lambda c, s: c.add_tool_call("t", s)),
    ("data", lambda c, s: c.add_data({"k": [s]})),
    ("data", lambda c, s: c.add_data({s: 1})),
    ("error", lambda c, s: c.add_error(s)),
    ("id", lambda c, s: c.add_source(s, "https://x.test")),
    ("url", lambda c, s: c.add_source("s1", s)),
    ("title", lambda c, s: c.add_source("s1", "https://x.test", s)),
    ("data", lambda c, s: c.add_file(s, "text/plain")),
    ("mime_type", lambda c, s: c.add_file("eA==", s)),
    ("annotations", lambda c, s: c.add_annotations([s])),
    ("message_id", lambda c, s: c.add_step_start(s)),
    ("finish_reason", lambda c, s: c.add_step_finish(s)),
    ("finish_reason", lambda c, s: c.add_message_finish(s)),
    ("state", lambda c, s: setattr(c, "state", {"k": s})),
    ("state path segment", lambda c, s: c.state.__setitem__(s, 1)),
    ("text_delta", lambda c, s: c.append_state_text(["log"], s)),
    ("text_delta", lambda c, s: c.state.__setitem__("log", c.state["log"] + s)),
]


@pytest.mark.parametrize(
    ("name", "call"), CALLS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(CALLS)]
)
async def test_a_lone_surrogate_is_refused_at_the_call_naming_the_argument(
    name: str, call: Callable[[RunController, str], Any]
) -> None:
    async def run(c: RunController) -> None:
        c.state = {"log": "start"}
        c.append_text("before ")

        async def attempt() -> None:
            result = call(c, SURROGATE)
            if hasattr(result, "__await__"):
                await result

        with pytest.raises(ValueError, match=f"{name}.*lone surrogate '\\\\ud800'"):
            await attempt()
        c.append_text("after")

    assert_every_wire_decodes(await collect(run), "before after")


async def test_tool_call_strings_are_checked_too() -> None:
    async def run(c: RunController) -> None:
        tool = await c.add_tool_call("t", "call_1")
        with pytest.raises(ValueError, match="args_text_delta"):
            tool.append_args_text(SURROGATE)
        with pytest.raises(ValueError, match="result"):
            tool.set_response(SURROGATE)
        with pytest.raises(ValueError, match="artifact"):
            tool.set_response("ok", artifact=[SURROGATE])
        tool.set_response("ok")
        with pytest.raises(ValueError, match="result"):
            c.add_tool_result("call_1", {"k": SURROGATE})
        c.append_text("after")

    assert_every_wire_decodes(await collect(run), "after")


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda s: AGUIEncoder(thread_id=s), "thread_id"),
        (lambda s: AGUIEncoder(run_id=s), "run_id"),
        (lambda s: AGUIEncoder(message_id=s), "message_id"),
        (lambda s: AGUIEncoder(state={"k": s}), "state"),
        (lambda s: OpenAIChatEncoder(model=s), "model"),
        (lambda s: OpenAIChatEncoder(completion_id=s), "completion_id"),
        (lambda s: OpenAIChatEncoder(system_fingerprint=s), "system_fingerprint"),
        (lambda s: UIMessageStreamEncoder(message_id=s), "message_id"),
        (lambda s: UIMessageStreamEncoder(message_metadata={"k": s}), "message_metadata"),
        (lambda s: UIMessageStreamEncoder(data_part_name=s), "data_part_name"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_encoder_arguments_with_a_lone_surrogate_fail_at_construction(
    factory: Callable[[str], Any], name: str
) -> None:
    # Ids usually come from the request (json.loads makes "\ud800" from "\\ud800"):
    # the error names the argument before any byte is produced.
    with pytest.raises(ValueError, match=f"{name} holds (a|the) lone surrogate"):
        factory(SURROGATE)
    factory("ok \x00\x1f\u2028 text")  # control characters are fine


def test_an_ag_ui_state_too_deep_fails_at_construction() -> None:
    with pytest.raises(ValueError, match=f"limit of {MAX_STATE_DEPTH}"):
        AGUIEncoder(state=nested(MAX_STATE_DEPTH + 1))


@pytest.mark.parametrize("wire", WIRES, ids=str)
def test_the_deepest_state_the_controller_allows_round_trips(wire: Wire) -> None:
    path = ("k",) * (MAX_STATE_DEPTH - 1)
    chunks: list[Chunk] = [
        UpdateStateChunk([SetOperation(path, nested(1))]),
        TextDeltaChunk("after"),
    ]
    body, _ = encode_all(wire, chunks)
    assert text_of(decode_all(wire, [body])) == "after"


async def test_a_pydantic_model_is_refused_with_the_fix() -> None:
    """FastAPI apps hold Pydantic models; the message says how to send one."""
    pydantic = pytest.importorskip("pydantic")  # installed with the fastapi extra

    class Weather(pydantic.BaseModel):
        temp_c: int

    hint = (
        r"objects of type Weather are not JSON-serialisable; pass its \.model_dump\(mode='json'\)"
    )

    async def run(controller: RunController) -> None:
        with pytest.raises(TypeError, match=f"^data is not JSON-serialisable: {hint}$"):
            controller.add_data(Weather(temp_c=21))
        with pytest.raises(TypeError, match=rf"^state value at \['w'\] .*{hint}$"):
            controller.state["w"] = Weather(temp_c=21)
        controller.add_data(Weather(temp_c=21).model_dump(mode="json"))

    chunks = await collect(run, state={})
    assert [type(chunk).__name__ for chunk in chunks] == ["DataChunk"]

"""A client that hangs up over HTTP stops the graph: the busy node is cancelled.

The agent runs behind a real uvicorn server (``DataStreamResponse``); the
client reads the first answer, then closes the connection while a node is
asleep in a 30 s ``await``. The node must see its cancellation within
seconds, which only happens if the graph's stream is cancelled and closed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio
import httpx
from assistant_stream_ce import create_run
from assistant_stream_ce.modules.langgraph import stream_langgraph
from assistant_stream_starlette import DataStreamResponse
from langgraph.graph import START, MessagesState, StateGraph
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from assistant_stream_core.chunks import TextDeltaChunk
from assistant_stream_core.protocols.data_stream import DataStreamDecoder
from assistant_stream_core.run import RunController
from tests.adapters.servers import uvicorn_server

from ._agent import ScriptedChatModel, ai


def slow_graph(events: list[str], node_started: threading.Event) -> Any:
    model = ScriptedChatModel(messages=iter([ai("Working on it.", "m1")]))

    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    async def slow(state: MessagesState) -> dict[str, Any]:
        node_started.set()
        try:
            await anyio.sleep(30)
        except BaseException:
            events.append("slow node cancelled")
            raise
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("slow", slow)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "slow")
    return builder.compile()


def test_client_disconnect_cancels_the_busy_node() -> None:
    events: list[str] = []
    node_started = threading.Event()
    graph = slow_graph(events, node_started)

    async def chat(request: Request) -> DataStreamResponse:
        async def run(controller: RunController) -> None:
            await stream_langgraph(controller, graph, {"messages": [("user", "go")]})

        # A long grace period: only the bridge's own watcher can stop the graph fast.
        return DataStreamResponse(create_run(run, grace_period=20))

    app = Starlette(routes=[Route("/chat", chat, methods=["POST"])])
    with uvicorn_server(app) as url, httpx.Client(timeout=30) as client:
        with client.stream("POST", f"{url}/chat", json={}) as response:
            assert response.status_code == 200
            # Kept referenced: a generator left by `break` is closed at once,
            # and httpx then closes the connection before the node starts.
            body = response.iter_bytes()
            # The answer's text, decoded: the model streams it in two tokens,
            # one frame each unless the writes happen to merge, so the bytes
            # need not hold "Working on it." in one piece (and, on a faster
            # interpreter, often do not).
            decoder, text = DataStreamDecoder(), ""
            for piece in body:
                chunks = decoder.feed(piece)
                text += "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))
                if text == "Working on it.":
                    break
            else:
                raise AssertionError(f"the body ended before the answer, with text {text!r}")
            assert node_started.wait(10)
            response.close()
        # The connection was closed mid-stream.
        hung_up = time.monotonic()
        while not events and time.monotonic() - hung_up < 10:
            time.sleep(0.02)
        assert events == ["slow node cancelled"]
        assert time.monotonic() - hung_up < 5

"""LangGraph helpers, as upstream's ``assistant_stream.modules.langgraph``, and a bridge.

Needs the ``langgraph`` extra (``pip install "assistant-stream-ce[langgraph]"``,
which brings ``langgraph`` and ``langchain-core``); importing this module
without them raises an :class:`ImportError` that names the extra. The rest of
the package never imports it unless asked.

* :func:`append_langgraph_event` folds LangGraph ``messages``/``updates``
  events into ``controller.state`` with the smallest state operations (a token
  is one ``append-text``), as upstream.
* :func:`get_tool_call_subgraph_state` finds (or creates) the ToolMessage
  artifact a tool call's subgraph writes its state to, as upstream.
* :func:`stream_langgraph` (not in upstream) streams a graph, or any LangChain
  runnable, into the run as chat content — text, reasoning, tool calls and
  results, steps and usage — for every protocol::

      from assistant_stream_ce import create_run
      from assistant_stream_ce.modules.langgraph import stream_langgraph

      async def run(controller):
          await stream_langgraph(controller, graph, {"messages": messages})

      stream = create_run(run)
"""

from __future__ import annotations

try:
    import langchain_core.messages  # noqa: F401
    import langgraph  # noqa: F401
except ImportError as exc:
    raise ImportError(
        "assistant_stream_ce.modules.langgraph needs LangGraph and LangChain: "
        'pip install "assistant-stream-ce[langgraph]"'
    ) from exc

from ..create_run import RunController as RunController
from ._langgraph_bridge import stream_langgraph
from ._langgraph_state import SubgraphNode, append_langgraph_event, get_tool_call_subgraph_state

__all__ = [
    "SubgraphNode",
    "append_langgraph_event",
    "get_tool_call_subgraph_state",
    "stream_langgraph",
]

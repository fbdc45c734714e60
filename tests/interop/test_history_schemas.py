"""render_history passes the clients' schemas: ai's validateUIMessages, AG-UI's MessageSchema."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_stream_core.conversation import Conversation, render_history
from tests.conversation.strategies import CONVERSATIONS

from .conftest import NodeScripts

pytestmark = pytest.mark.interop


def _sample(strategy: st.SearchStrategy[Conversation], count: int) -> list[Conversation]:
    found: list[Conversation] = []

    @settings(
        max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def collect(conversation: Conversation) -> None:
        found.append(conversation)

    collect()
    return found


@pytest.mark.parametrize(("protocol", "kind"), [("ui_message_stream", "ui"), ("ag_ui", "ag-ui")])
def test_rendered_histories_pass_the_clients_schemas(
    node_scripts: NodeScripts, protocol: str, kind: str
) -> None:
    # Every conversation any protocol can carry, rendered for this client.
    conversations = [c for make in CONVERSATIONS.values() for c in _sample(make(), 40)]
    histories = [render_history(protocol, c.messages) for c in conversations]
    cases: list[dict[str, Any]] = [  # validateUIMessages refuses an empty history
        {"id": str(i), "kind": kind, "messages": h} for i, h in enumerate(histories) if h
    ]
    assert sum(len(case["messages"]) for case in cases) > 100
    results = node_scripts.run_batch("history_check.mjs", cases)
    failures = {i: r.get("error") for i, r in results.items() if not r["ok"]}
    assert not failures, [
        (failures[c["id"]][:600], c["messages"]) for c in cases if c["id"] in list(failures)[:3]
    ]

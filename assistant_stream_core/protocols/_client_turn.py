"""Tool calls that wait for the client, in the protocols that have no frames for them.

The UI Message Stream and AG-UI have frames for approval requests, denials and
the answers to calls of an earlier response. Elsewhere the client holds its
own answer: a tool call without a result is already how assistant-ui
(``requires-action``) and OpenAI (``finish_reason: tool_calls``) say that the
client acts next. So the Data Stream, Assistant Transport and OpenAI encoders
check these chunks against their tool-call ledger — an unknown id is the usual
:class:`~assistant_stream_core.errors.ChunkEncodeError` — and write nothing.
"""

from __future__ import annotations

from typing import Final

from ..chunks import Chunk, ToolApprovalRequestChunk, ToolCallResumeChunk, ToolOutputDeniedChunk
from ..tool_calls import ToolCall, ToolCallLedger

__all__ = ["CLIENT_TURN_CHUNKS", "note_client_turn", "resumed"]

#: The chunk kinds :func:`note_client_turn` handles.
CLIENT_TURN_CHUNKS: Final = frozenset(
    {ToolApprovalRequestChunk, ToolCallResumeChunk, ToolOutputDeniedChunk}
)


def note_client_turn(tools: ToolCallLedger, chunk: Chunk) -> None:
    """Record one of :data:`CLIENT_TURN_CHUNKS` in ``tools``; it writes no frame."""
    if type(chunk) is ToolCallResumeChunk:
        tools.resume(chunk.tool_call_id)
    elif type(chunk) is ToolOutputDeniedChunk:
        tools.get(chunk.type, chunk.tool_call_id).answered = True
    elif type(chunk) is ToolApprovalRequestChunk:
        tools.get(chunk.type, chunk.tool_call_id)


def resumed(tool: ToolCall) -> bool:
    """True for a call of an earlier response: its result is not written, only recorded."""
    if tool.resumed:
        tool.answered = True
        return True
    return False

"""Tool calls that wait for the client, in the protocols that have no frames for them.

The Data Stream, Assistant Transport and OpenAI encoders check these chunks
against their ledger and write nothing (docs/guides/human-in-the-loop.rst).
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

"""Tool results between the two shapes: on their call (UI protocols) or in ``tool`` messages."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from .model import Message, Part, ToolCallPart, ToolResultPart

__all__ = ["fold_results"]


def fold_results(messages: Iterable[Message]) -> list[Message]:
    """Attach each ``tool`` message's results to the earlier call with the same id.

    A result whose call is not among the earlier messages stays where it is, as
    a :class:`ToolResultPart`; a ``tool`` message left without parts is dropped.
    """
    out: list[Message] = []
    where: dict[str, tuple[int, int]] = {}  # tool_call_id -> (message index, part index)
    for message in messages:
        if message.role != "tool":
            for index, part in enumerate(message.parts):
                if isinstance(part, ToolCallPart):
                    where[part.tool_call_id] = (len(out), index)
            out.append(message)
            continue
        kept: list[Part] = []
        for part in message.parts:
            if not isinstance(part, ToolResultPart) or part.tool_call_id not in where:
                kept.append(part)
                continue
            at, index = where.pop(part.tool_call_id)
            owner = out[at]
            call = owner.parts[index]
            assert isinstance(call, ToolCallPart)
            parts = list(owner.parts)
            parts[index] = msgspec.structs.replace(call, result=part.result)
            out[at] = msgspec.structs.replace(owner, parts=tuple(parts))
        if kept:
            out.append(msgspec.structs.replace(message, parts=tuple(kept)))
    return out

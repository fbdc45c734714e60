"""Read what a chat client sent, in any protocol, into one typed :class:`Conversation`.

Each protocol module reads its client's request body
(:func:`decode_request`), writes a body that reads back the same
(:func:`encode_request`) and renders a stored conversation as that protocol's
history (:func:`render_history`, what a server returns when a thread is
reloaded)::

    conversation = decode_request("ui_message_stream", body)
    conversation.messages[-1].text
    render_history("ag_ui", conversation.messages)

and :func:`chat_request` turns any of them into the ``messages`` and ``tools``
of an OpenAI-compatible model call; :func:`~.answers.tool_answers` finds what
the client answered about the tool calls a run left waiting (an approval
decision, a frontend tool's result).

A malformed body raises :class:`~assistant_stream_core.errors.RequestError`
naming the field, with ``status`` 400; a body over ``max_bytes``, 413. The
adapters turn it into a JSON error response.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ..protocols.base import Encoder

from . import ag_ui, assistant_transport, data_stream, openai_chat, ui_message_stream
from ._read import DEFAULT_MAX_REQUEST_BYTES, Body
from .answers import ToolAnswer, pending_approvals, tool_answers, with_tool_results
from .model import (
    ContextItem,
    Conversation,
    DataPart,
    FilePart,
    Message,
    Part,
    ReasoningPart,
    Role,
    SourcePart,
    TextPart,
    Tool,
    ToolApproval,
    ToolCallPart,
    ToolResult,
    ToolResultPart,
)
from .openai_chat import chat_request

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "REQUEST_PROTOCOLS",
    "Body",
    "ContextItem",
    "Conversation",
    "DataPart",
    "FilePart",
    "Message",
    "Part",
    "RequestProtocol",
    "ReasoningPart",
    "Role",
    "SourcePart",
    "TextPart",
    "Tool",
    "ToolAnswer",
    "ToolApproval",
    "ToolCallPart",
    "ToolResult",
    "ToolResultPart",
    "chat_request",
    "decode_request",
    "encode_request",
    "pending_approvals",
    "render_history",
    "response_encoder",
    "tool_answers",
    "with_tool_results",
]

#: A protocol name, as the response classes take it.
RequestProtocol = Literal[
    "data_stream", "assistant_transport", "ui_message_stream", "ag_ui", "openai_chat"
]

#: The module that reads each protocol's requests.
REQUEST_PROTOCOLS: dict[str, ModuleType] = {
    "data_stream": data_stream,
    "assistant_transport": assistant_transport,
    "ui_message_stream": ui_message_stream,
    "ag_ui": ag_ui,
    "openai_chat": openai_chat,
}


def _module(protocol: str) -> ModuleType:
    try:
        return REQUEST_PROTOCOLS[protocol]
    except KeyError:
        names = ", ".join(REQUEST_PROTOCOLS)
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {names}") from None


def decode_request(
    protocol: RequestProtocol | str, body: Body, *, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES
) -> Conversation:
    """Read ``body`` (JSON bytes or text, or the parsed object) as ``protocol``'s request.

    :raises ~assistant_stream_core.errors.RequestError: the body is malformed
        (``status`` 400, ``field`` names the field) or longer than
        ``max_bytes`` (``status`` 413).
    :raises ValueError: ``protocol`` is not a known protocol name.
    """
    result: Conversation = _module(protocol).decode_request(body, max_bytes=max_bytes)
    return result


def encode_request(protocol: RequestProtocol | str, conversation: Conversation) -> dict[str, Any]:
    """A request body of ``protocol`` that :func:`decode_request` reads back as ``conversation``.

    What a protocol cannot carry is left out; each protocol module's
    documentation lists it.
    """
    result: dict[str, Any] = _module(protocol).encode_request(conversation)
    return result


def render_history(
    protocol: RequestProtocol | str, messages: tuple[Message, ...] | list[Message]
) -> list[dict[str, Any]]:
    """``messages`` as ``protocol``'s message history (JSON-ready dicts)."""
    result: list[dict[str, Any]] = _module(protocol).render_history(messages)
    return result


def response_encoder(protocol: RequestProtocol | str, conversation: Conversation) -> Encoder | str:
    """What to pass a response class as its protocol, to answer ``conversation``.

    AG-UI gets an encoder that echoes the request's ``threadId`` and ``runId``
    (``RUN_STARTED`` must carry them) and computes state deltas against the
    client's ``state``; OpenAI chat an encoder that names the requested
    ``model`` and sends usage when ``stream_options.include_usage`` asks for
    it; the UI Message Stream, when ``useChat`` regenerates a message
    (``trigger: "regenerate-message"``), an encoder that gives the new answer
    the ``messageId`` of the message it replaces, and when the request ends
    with an assistant message (the client answered a tool call or an approval
    in it), an encoder that continues that message (its id on ``start``, then
    ``start-step``); every other protocol is its name.
    """
    if protocol == "ag_ui":
        from ..protocols.ag_ui import AGUIEncoder

        return AGUIEncoder(
            thread_id=conversation.thread_id,
            run_id=conversation.run_id,
            state=conversation.state,
        )
    if protocol == "openai_chat":
        from ..protocols.openai_chat import OpenAIChatEncoder

        options = conversation.extras.get("stream_options")
        model = conversation.extras.get("model")
        return OpenAIChatEncoder(
            model=model if isinstance(model, str) else "assistant-stream",
            include_usage=isinstance(options, dict) and options.get("include_usage") is True,
        )
    if protocol == "ui_message_stream":
        from ..protocols.ui_message_stream import UIMessageStreamEncoder

        message_id = conversation.extras.get("messageId")
        last = conversation.messages[-1] if conversation.messages else None
        try:
            if conversation.extras.get("trigger") == "regenerate-message" and isinstance(
                message_id, str
            ):
                return UIMessageStreamEncoder(message_id=message_id)
            if last is not None and last.role == "assistant" and last.id:
                # ai appends a response to the message whose id its start frame
                # names: the assistant message the client sent back continues,
                # in a new step.
                return UIMessageStreamEncoder(message_id=last.id, start_step=True)
        except ValueError:  # an id the wire cannot carry: the answer gets a new one
            pass
    _module(protocol)
    return protocol

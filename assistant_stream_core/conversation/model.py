"""The neutral conversation: what every protocol's request body is read into.

A :class:`Conversation` holds the messages the client sent (each a role and a
tuple of typed parts), the tools the client offers (name, description, JSON
Schema), and the client's state. Every type here is a frozen msgspec Struct,
so a conversation can be stored with ``msgspec.json.encode`` and read back with
``msgspec.json.decode(data, type=Conversation)``.

A tool call's result lives on its :class:`ToolCallPart`, as the UI protocols
keep it. Protocols that send results as separate ``tool`` messages (OpenAI,
AG-UI, the Data Stream runtime) are folded into that shape when the call is in
the same request; a result whose call is not (an Assistant Transport
``add-tool-result`` command, an OpenAI tool message answering a call the
client did not resend) stays a :class:`ToolResultPart` in a ``tool`` message.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = [
    "ContextItem",
    "Conversation",
    "DataPart",
    "FilePart",
    "Message",
    "Part",
    "ReasoningPart",
    "Role",
    "SourcePart",
    "TextPart",
    "Tool",
    "ToolApproval",
    "ToolCallPart",
    "ToolResult",
    "ToolResultPart",
]


class _Base(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    pass


class TextPart(_Base, frozen=True, tag="text", tag_field="type"):
    """Visible text."""

    text: str


class ReasoningPart(_Base, frozen=True, tag="reasoning", tag_field="type"):
    """Reasoning ("thinking") text the model produced."""

    text: str


class FilePart(_Base, frozen=True, tag="file", tag_field="type"):
    """A file or image: inline base64 ``data`` or a ``url`` (exactly one is set).

    Every decoder reads a ``data:`` URL into ``data`` and ``media_type``, so
    ``url`` is always a link to fetch.
    """

    media_type: str
    data: str | None = None
    url: str | None = None
    filename: str | None = None


class SourcePart(_Base, frozen=True, tag="source", tag_field="type"):
    """A cited source: a URL, or a document (no ``url``, a ``media_type``)."""

    id: str
    url: str | None = None
    title: str | None = None
    media_type: str | None = None
    filename: str | None = None


class DataPart(_Base, frozen=True, tag="data", tag_field="type"):
    """Application data attached to a message (the AI SDK's ``data-<name>`` parts)."""

    name: str
    data: Any = None
    id: str | None = None


class ToolResult(_Base, frozen=True):
    """What a tool call returned: any JSON value, an error flag, an optional artifact."""

    value: Any = None
    is_error: bool = False
    artifact: Any = None


class ToolApproval(_Base, frozen=True):
    """A request to approve a tool call, and the person's answer once given.

    ``approved`` is ``None`` while the request waits for an answer.
    """

    id: str
    approved: bool | None = None
    reason: str | None = None


class ToolCallPart(_Base, frozen=True, tag="tool-call", tag_field="type"):
    """A tool call with its arguments and, once known, its result.

    ``args`` is the parsed arguments (usually a JSON object). ``args_text``,
    when set, is the arguments text exactly as the model wrote it, and is what
    the protocols that carry text (OpenAI, AG-UI) write back; the decoders set
    it only when the text is not JSON, and ``args`` is then ``None``.
    """

    tool_call_id: str
    tool_name: str
    args: Any = None
    args_text: str | None = None
    result: ToolResult | None = None
    approval: ToolApproval | None = None


class ToolResultPart(_Base, frozen=True, tag="tool-result", tag_field="type"):
    """A tool result whose call is not in the same request (in a ``tool`` message)."""

    tool_call_id: str
    result: ToolResult
    tool_name: str | None = None


Part = TextPart | ReasoningPart | FilePart | SourcePart | DataPart | ToolCallPart | ToolResultPart
"""Any message part (a tagged union, tag field ``type``)."""

Role = Literal["system", "user", "assistant", "tool"]
"""A message's role. ``developer`` messages are read as ``system``."""


class Message(_Base, frozen=True):
    """One message: a role, its parts, and (when the protocol carries them) an id and metadata."""

    role: Role
    parts: tuple[Part, ...] = ()
    id: str | None = None
    metadata: Any = None

    @property
    def text(self) -> str:
        """The message's text parts, joined."""
        return "".join(part.text for part in self.parts if isinstance(part, TextPart))


class Tool(_Base, frozen=True):
    """A tool the client offers: its name, description and arguments' JSON Schema."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ContextItem(_Base, frozen=True):
    """A named piece of context the client gives the run (AG-UI ``context``)."""

    description: str
    value: str


class Conversation(_Base, frozen=True):
    """Everything a chat request carries, whatever the protocol.

    ``extras`` keeps every other top-level field of the body by its wire name
    (the AI SDK's ``trigger`` and ``messageId``, AG-UI's ``forwardedProps``,
    OpenAI's ``model`` and ``stream_options``, assistant-ui's ``runConfig``,
    custom Assistant Transport commands, …), so nothing the client sent is lost.
    """

    messages: tuple[Message, ...] = ()
    tools: tuple[Tool, ...] = ()
    system: str | None = None
    state: Any = None
    thread_id: str | None = None
    run_id: str | None = None
    context: tuple[ContextItem, ...] = ()
    extras: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def last_user_text(self) -> str:
        """The text of the last user message (``""`` if there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text
        return ""

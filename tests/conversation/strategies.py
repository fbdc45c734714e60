"""Hypothesis strategies: conversations each request protocol can carry exactly.

One strategy per protocol builds only what that protocol's request body can
express (its module documentation lists what it cannot), so the property
``decode_request(encode_request(c)) == c`` holds with no normalisation.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from assistant_stream_core.conversation import (
    ContextItem,
    Conversation,
    DataPart,
    FilePart,
    Message,
    Part,
    ReasoningPart,
    SourcePart,
    TextPart,
    Tool,
    ToolApproval,
    ToolCallPart,
    ToolResult,
    ToolResultPart,
)

text = st.text(max_size=12)
nonempty = st.text(min_size=1, max_size=12)
ident = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=8)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
json_object = st.dictionaries(text, json_value, max_size=3)
b64 = st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())
https = ident.map(lambda s: f"https://example.com/{s}")
schema = st.none() | st.just({"type": "object", "properties": {"q": {"type": "string"}}})


class Ids:
    """Unique tool-call ids within one conversation."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"call_{self.n}"


def data_file(media_types: list[str], filename: bool = True) -> st.SearchStrategy[FilePart]:
    return st.builds(
        lambda mt, data, fn: FilePart(media_type=mt, data=data, filename=fn),
        st.sampled_from(media_types),
        b64,
        st.none() | ident if filename else st.none(),
    )


def url_file(media_types: list[str]) -> st.SearchStrategy[FilePart]:
    return st.builds(
        lambda mt, url: FilePart(media_type=mt, url=url), st.sampled_from(media_types), https
    )


def tools(described: bool) -> st.SearchStrategy[tuple[Tool, ...]]:
    description = nonempty if described else st.none() | nonempty
    return st.lists(
        st.builds(
            lambda n, d, p: Tool(name=n, description=d, parameters=p), ident, description, schema
        ),
        max_size=3,
        unique_by=lambda t: t.name,
    ).map(tuple)


@st.composite
def tool_call(
    draw: st.DrawFn,
    ids: Ids,
    *,
    results: st.SearchStrategy[ToolResult | None],
    raw_args: bool = False,
    approvals: bool = False,
) -> ToolCallPart:
    args: Any = draw(json_object)
    args_text = None
    if raw_args and draw(st.booleans()):
        args, args_text = None, "not json: " + draw(text)
    result = draw(results)
    approval = None
    if approvals and draw(st.booleans()):
        approved = True if result is not None else draw(st.none() | st.booleans())
        reason = draw(st.none() | nonempty) if approved is not None else None
        approval = ToolApproval(id=draw(ident), approved=approved, reason=reason)
    return ToolCallPart(
        tool_call_id=ids(),
        tool_name=draw(ident),
        args=args,
        args_text=args_text,
        result=result,
        approval=approval,
    )


def string_results(errors: bool) -> st.SearchStrategy[ToolResult | None]:
    return st.none() | st.builds(
        lambda v, e: ToolResult(value=v, is_error=e),
        text,
        st.booleans() if errors else st.just(False),
    )


json_results = st.none() | st.builds(
    lambda v, e: ToolResult(value=e if isinstance(e, str) else v, is_error=isinstance(e, str)),
    json_value,
    st.none() | text,
)


def message(role: str, parts: Sequence[Part], mid: str | None = None, meta: Any = None) -> Message:
    return Message(role=role, parts=tuple(parts), id=mid, metadata=meta)  # type: ignore[arg-type]


@st.composite
def openai_chat(draw: st.DrawFn) -> Conversation:
    ids = Ids()
    messages: list[Message] = []
    user_files = (
        data_file(["image/png"], filename=False)
        | data_file(["audio/wav"], filename=False)
        | data_file(["application/pdf"])
        | ident.map(
            lambda s: FilePart(media_type="application/octet-stream", url=f"openai-file:{s}")
        )
    )
    for kind in draw(
        st.lists(st.sampled_from(["system", "user", "assistant", "tool"]), max_size=5)
    ):
        if kind == "system":
            messages.append(message("system", [TextPart(text=draw(nonempty))]))
        elif kind == "user":
            if draw(st.booleans()):
                messages.append(message("user", [TextPart(text=draw(nonempty))]))
            else:
                parts = draw(
                    st.lists(nonempty.map(lambda t: TextPart(text=t)) | user_files, max_size=3)
                )
                if len(parts) == 1 and isinstance(parts[0], TextPart):
                    parts.append(FilePart(media_type="application/pdf", data=""))
                messages.append(message("user", parts))
        elif kind == "assistant":
            said: list[Part] = [TextPart(text=draw(nonempty))] if draw(st.booleans()) else []
            said += draw(
                st.lists(tool_call(ids, results=string_results(False), raw_args=True), max_size=2)
            )
            messages.append(message("assistant", said))
        else:
            result = ToolResult(value=draw(text))
            messages.append(message("tool", [ToolResultPart(tool_call_id=ids(), result=result)]))
    return Conversation(
        messages=tuple(messages),
        tools=draw(tools(described=False)),
        extras=draw(st.fixed_dictionaries({}, optional={"model": ident, "stream": st.booleans()})),
    )


@st.composite
def ag_ui(draw: st.DrawFn) -> Conversation:
    ids = Ids()
    messages: list[Message] = []
    files = data_file(["image/png", "audio/wav", "video/mp4", "application/pdf"], filename=False)
    files |= url_file(["image/jpeg", "application/pdf"])
    kinds = draw(
        st.lists(st.sampled_from(["system", "user", "assistant", "reasoning", "tool"]), max_size=5)
    )
    for index, kind in enumerate(kinds):
        mid = f"m{index}"
        if kind == "system":
            messages.append(message("system", [TextPart(text=draw(nonempty))], mid))
        elif kind == "user":
            if draw(st.booleans()):
                messages.append(message("user", [TextPart(text=draw(nonempty))], mid))
            else:
                parts = draw(st.lists(files, max_size=3))
                messages.append(message("user", parts, mid))
        elif kind == "reasoning":
            messages.append(message("assistant", [ReasoningPart(text=draw(nonempty))], mid))
        elif kind == "assistant":
            said: list[Part] = [TextPart(text=draw(nonempty))] if draw(st.booleans()) else []
            said += draw(
                st.lists(tool_call(ids, results=string_results(True), raw_args=True), max_size=2)
            )
            messages.append(message("assistant", said, mid))
        else:
            result = ToolResult(value=draw(text), is_error=draw(st.booleans()))
            messages.append(
                message("tool", [ToolResultPart(tool_call_id=ids(), result=result)], mid)
            )
    return Conversation(
        messages=tuple(messages),
        tools=draw(tools(described=True)),
        state=draw(json_value),
        thread_id=draw(ident),
        run_id=draw(ident),
        context=tuple(
            draw(
                st.lists(
                    st.builds(lambda d, v: ContextItem(description=d, value=v), text, text),
                    max_size=2,
                )
            )
        ),
        extras=draw(st.fixed_dictionaries({}, optional={"forwardedProps": json_object})),
    )


@st.composite
def ui_message_stream(draw: st.DrawFn) -> Conversation:
    ids = Ids()
    source = st.builds(
        lambda i, u, t: SourcePart(id=i, url=u, title=t), ident, https, st.none() | text
    ) | st.builds(
        lambda i, m, t, f: SourcePart(id=i, title=t, media_type=m, filename=f),
        ident,
        st.sampled_from(["application/pdf", "text/plain"]),
        text,
        st.none() | ident,
    )
    data = st.builds(
        lambda n, d, i: DataPart(name=n, data=d, id=i), ident, json_value, st.none() | ident
    )
    files = data_file(["image/png", "application/pdf"]) | url_file(["image/jpeg"])
    messages = []
    for index, role in enumerate(
        draw(st.lists(st.sampled_from(["system", "user", "assistant"]), max_size=4))
    ):
        part = (
            text.map(lambda t: TextPart(text=t))
            | text.map(lambda t: ReasoningPart(text=t))
            | files
            | source
            | data
            | tool_call(ids, results=json_results, approvals=True)
        )
        parts = draw(st.lists(part, min_size=1, max_size=4))
        messages.append(message(role, parts, f"m{index}", draw(st.none() | json_object)))
    return Conversation(
        messages=tuple(messages),
        thread_id=draw(st.none() | ident),
        extras=draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "trigger": st.sampled_from(["submit-message", "regenerate-message"]),
                    "messageId": ident,
                },
            )
        ),
    )


@st.composite
def data_stream(draw: st.DrawFn) -> Conversation:
    ids = Ids()
    files = data_file(["image/png", "application/pdf"]) | url_file(["image/jpeg"])
    messages: list[Message] = []
    for kind in draw(
        st.lists(st.sampled_from(["system", "user", "assistant", "tool"]), max_size=5)
    ):
        mid = draw(st.none() | ident)
        if kind == "system":
            messages.append(message("system", [TextPart(text=draw(nonempty))], mid))
        elif kind == "user":
            parts = draw(st.lists(text.map(lambda t: TextPart(text=t)) | files, max_size=3))
            messages.append(message("user", parts, mid))
        elif kind == "assistant":
            part = (
                text.map(lambda t: TextPart(text=t))
                | text.map(lambda t: ReasoningPart(text=t))
                | files
                | tool_call(ids, results=json_results)
            )
            messages.append(message("assistant", draw(st.lists(part, max_size=4)), mid))
        else:
            results = st.builds(
                lambda n, r: ToolResultPart(tool_call_id=ids(), tool_name=n, result=r),
                st.none() | ident,
                json_results.filter(lambda r: r is not None),
            )
            messages.append(message("tool", draw(st.lists(results, min_size=1, max_size=2)), mid))
    return Conversation(
        messages=tuple(messages),
        tools=draw(tools(described=False)),
        system=draw(st.none() | text),
        state=draw(json_value),
        thread_id=draw(st.none() | ident),
        extras=draw(
            st.fixed_dictionaries(
                {}, optional={"runConfig": json_object, "parentId": st.none() | ident}
            )
        ),
    )


@st.composite
def assistant_transport(draw: st.DrawFn) -> Conversation:
    ids = Ids()
    images = data_file(["image/png"], filename=False)
    messages: list[Message] = []
    for kind in draw(st.lists(st.sampled_from(["user", "assistant", "tool"]), max_size=4)):
        if kind == "tool":
            result = ToolResult(
                value=draw(json_value), is_error=draw(st.booleans()), artifact=draw(json_value)
            )
            part = ToolResultPart(
                tool_call_id=ids(), tool_name=draw(st.none() | ident), result=result
            )
            messages.append(message("tool", [part]))
        else:
            parts = draw(st.lists(text.map(lambda t: TextPart(text=t)) | images, max_size=3))
            messages.append(message(kind, parts, draw(st.none() | ident)))
    custom = st.lists(
        st.builds(lambda v: {"type": "my-command", "value": v}, json_value), min_size=1, max_size=2
    )
    return Conversation(
        messages=tuple(messages),
        tools=draw(tools(described=False)),
        system=draw(st.none() | text),
        state=draw(json_value),
        thread_id=draw(st.none() | ident),
        run_id=draw(st.none() | ident),
        extras=draw(
            st.fixed_dictionaries({}, optional={"commands": custom, "callSettings": json_object})
        ),
    )


CONVERSATIONS: dict[str, Callable[[], st.SearchStrategy[Conversation]]] = {
    "openai_chat": openai_chat,
    "ag_ui": ag_ui,
    "ui_message_stream": ui_message_stream,
    "data_stream": data_stream,
    "assistant_transport": assistant_transport,
}


@st.composite
def thread_messages(draw: st.DrawFn) -> list[Message]:
    """Messages an assistant-ui ``ThreadMessageLike`` thread (state) holds."""
    ids = Ids()
    files = data_file(["image/png"], filename=False) | data_file(["application/pdf"])
    source = st.builds(
        lambda i, u, t: SourcePart(id=i, url=u, title=t), ident, https, st.none() | text
    )
    data = st.builds(lambda n, d: DataPart(name=n, data=d), ident, json_value)
    part = (
        text.map(lambda t: TextPart(text=t))
        | text.map(lambda t: ReasoningPart(text=t))
        | files
        | source
        | data
        | tool_call(
            ids,
            results=st.none()
            | st.builds(
                lambda v, e, a: ToolResult(value=v, is_error=e, artifact=a),
                json_value,
                st.booleans(),
                json_value,
            ),
        )
    )
    roles = draw(st.lists(st.sampled_from(["system", "user", "assistant"]), max_size=4))
    return [
        message(role, draw(st.lists(part, max_size=4)), f"m{i}", draw(st.none() | json_object))
        for i, role in enumerate(roles)
    ]

"""The tool-call ledger every encoder, the accumulator and the normalize functions share."""

from __future__ import annotations

import pytest

from assistant_stream_core.errors import ChunkEncodeError
from assistant_stream_core.tool_calls import ToolCallLedger


def test_begin_once_per_id() -> None:
    ledger = ToolCallLedger()
    ledger.check_new("c1")
    call = ledger.add("c1", "search", index=3, head=b"h")
    assert (call.tool_call_id, call.name, call.index, call.head) == ("c1", "search", 3, b"h")
    assert "c1" in ledger
    assert len(ledger) == 1
    with pytest.raises(ChunkEncodeError, match="'c1' was already used in this stream"):
        ledger.check_new("c1")


def test_unknown_id_names_the_chunk() -> None:
    ledger = ToolCallLedger()
    with pytest.raises(ChunkEncodeError, match="cannot encode tool-result chunk: unknown") as info:
        ledger.get("tool-result", "nope")
    assert "no tool-call-begin for it" in str(info.value)
    assert ledger.find("nope") is None


@pytest.mark.parametrize(
    ("args", "rest", "final"),
    [
        ([], "", "{}"),  # never any args text: an empty object
        ([""], "", "{}"),  # empty deltas are not args text
        ([], '{"a": 1}', '{"a": 1}'),  # the finish's own text
        (['{"a":'], "", ""),  # args text was sent: nothing to add
        (['{"a":'], " 1}", " 1}"),
    ],
)
def test_the_empty_object_rule(args: list[str], rest: str, final: str) -> None:
    ledger = ToolCallLedger()
    call = ledger.add("c1", "f")
    for text in args:
        ledger.record_args(call, text)
    assert call.final_args(rest) == final


def test_settling_keeps_begin_order_and_answering_is_separate() -> None:
    ledger = ToolCallLedger()
    a, b, c = (ledger.add(name, "f") for name in ("a", "b", "c"))
    ledger.settle(b)
    assert [call.tool_call_id for call in ledger.unsettled()] == ["a", "c"]
    assert ledger.any_unsettled
    for call in ledger.unsettled():  # a copy: settling while iterating is fine
        ledger.settle(call)
    assert not ledger.any_unsettled
    assert ledger.any_unanswered
    for call in (a, b, c):
        call.answered = True
    assert not ledger.any_unanswered
    assert [call.tool_call_id for call in ledger] == ["a", "b", "c"]


def test_args_text_is_kept_only_when_asked() -> None:
    kept, dropped = ToolCallLedger(keep_args=True), ToolCallLedger()
    for ledger in (kept, dropped):
        call = ledger.add("c1", "f")
        ledger.record_args(call, '{"q": ')
        ledger.record_args(call, "")
        ledger.record_args(call, '"x"}')
        assert call.has_args
    assert kept.get("tool-call-delta", "c1").args_text == '{"q": "x"}'
    assert dropped.get("tool-call-delta", "c1").args_text == ""

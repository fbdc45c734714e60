"""``json_depth`` counts the nesting of JSON text as a parser would see it.

The reference is the depth of the parsed value, walked in Python: what the
text means, whatever its escapes and whichever brackets and quotes its
strings hold.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_stream_core.limits import json_depth

# Strings rich in what a bracket counter can trip on: brackets, quotes,
# backslashes in runs of every length, and escapes that hide them.
_TRICKY = st.text(alphabet=st.sampled_from('[]{}"\\\\/nu0a é\u2028\U0001f600'), max_size=12)
_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_TRICKY, children, max_size=4)
    ),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@settings(max_examples=400, deadline=None)
@given(value=_VALUES, ascii_only=st.booleans(), as_text=st.booleans())
def test_the_count_is_the_parsed_values_depth(value: Any, ascii_only: bool, as_text: bool) -> None:
    # Two writers, so that both escape styles occur: json's \\uXXXX for every
    # non-ASCII character, msgspec's raw UTF-8.
    text = json.dumps(value, ensure_ascii=True) if ascii_only else msgspec.json.encode(value)
    if as_text:
        text = text if isinstance(text, str) else text.decode()
    elif isinstance(text, str):
        text = text.encode()
    depth = _depth(value)
    assert json_depth(text, -1) == depth
    assert json_depth(text, depth) == 0  # not above the limit: 0
    assert json_depth(bytearray(text.encode() if isinstance(text, str) else text), -1) == depth


def test_escaped_quotes_and_backslashes_do_not_open_or_close_strings() -> None:
    # One level of nesting, with strings that end in backslashes and hold
    # brackets and escaped quotes.
    text = r'["\\", "\\\"[[[", "a\"b{{", "\\\\"]'
    assert json.loads(text) == ["\\", '\\"[[[', 'a"b{{', "\\\\"]
    assert json_depth(text, 0) == 1
    deep = "[" * 600 + r'"\\"' + "]" * 600
    assert json_depth(deep, 512) == 600
    assert json_depth(deep.encode(), 512) == 600


def test_a_lone_surrogate_in_text_is_counted() -> None:
    assert json_depth('[["\ud800"]]', 0) == 2


def _wide_and_deep(levels: int, leaves: int, inside: str) -> str:
    """``levels`` nested lists, each also holding ``leaves`` empty lists and a string."""
    level = "[" + "[]," * leaves + f'"{inside}",'
    return level * levels + "0" + "]" * levels


def test_a_wide_tree_is_counted_to_the_same_depth_as_it_parses() -> None:
    # Leaves at every level, so that whole levels of innermost pairs go in a
    # few passes before the running count takes over; strings with and without
    # brackets take both ways of dropping what is inside strings.
    for leaves in (0, 1, 3):
        for inside in ("", "x", "[[", '\\"]]', "\\\\"):
            text = _wide_and_deep(60, leaves, inside)
            depth = 60 + (leaves > 0)
            assert _depth(json.loads(text)) == depth
            assert json_depth(text, 50) == depth
            assert json_depth(text.encode(), depth) == 0


def test_brackets_of_invalid_json_give_some_answer() -> None:
    # Unbalanced and mismatched brackets: any count, and it must end.
    for text in ("]" * 600, "[" * 600, "[}" * 600, '"' + "[" * 600, "[]]" * 600):
        assert json_depth(text, 512) >= 0

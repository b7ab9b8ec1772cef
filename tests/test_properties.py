"""Hypothesis properties: chunking invariance on arbitrary markup, and ground truth on responses
rendered the way the chat template writes them."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import minimax_parser as mp

from conftest import as_expected, ids, stream

PIECES = [
    "<think>", "</think>", "<minimax:tool_call>", "</minimax:tool_call>", '<invoke name="',
    "<invoke name='", "<invoke name=", '">', ">", "</invoke>", '<parameter name="',
    "</parameter>", "</parameter", "<", "</", "/", '"', "'", "=", " ", "\n", "\t", "city", "days",
    "get_weather", "3", "true", "null", "[1, 2]", "Paris", "天気", "😀", "\\", "é",
]  # fmt: skip

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": ["integer", "null"]},
                },
            },
        },
    }
]

texts = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(alphabet="ab<>/\"' \n=é😀", max_size=4)),
    max_size=50,
).map("".join)
options = st.fixed_dictionaries(
    {
        "reasoning": st.sampled_from(["separate", "inline"]),
        "start_in_reasoning": st.booleans(),
        "tool_calls_in_reasoning": st.sampled_from(["extract", "ignore"]),
    }
)


def cut(text: str, points: list[int]) -> list[str]:
    bounds = sorted({0, len(text), *(p % (len(text) + 1) for p in points)})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=400, deadline=None)
@given(texts, options, st.lists(st.integers(min_value=0), max_size=10))
def test_chunking_invariance(text: str, opts: dict[str, Any], points: list[int]) -> None:
    whole = as_expected(mp.parse(text, tools=TOOLS, id_generator=ids, **opts))
    assert stream(cut(text, points), tools=TOOLS, **opts) == whole
    assert stream(list(text), tools=TOOLS, **opts) == whole


safe_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="<"), max_size=30
)
string_value = st.one_of(
    safe_text,
    st.just("</parameter> is data here"),
    st.just("x</invoke>y"),
    st.just("<b>bold</b>"),
)


@st.composite
def responses(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A response rendered like the chat template, with its expected message."""
    reasoning = draw(safe_text)
    content = draw(safe_text)
    calls = []
    rendered = ""
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        city = draw(string_value)
        days = draw(st.one_of(st.none(), st.integers(min_value=-(10**30), max_value=10**30)))
        rendered += (
            '<invoke name="get_weather">\n'
            f'<parameter name="city">{city}</parameter>\n'
            f'<parameter name="days">{"null" if days is None else days}</parameter>\n'
            "</invoke>\n"
        )
        calls.append(
            {
                "name": "get_weather",
                "arguments": json.dumps({"city": city, "days": days}, ensure_ascii=False),
                "incomplete": False,
            }
        )
    text = f"{reasoning}\n</think>\n\n{content}"
    if calls:
        text += f"\n<minimax:tool_call>\n{rendered}</minimax:tool_call>"
    expected = {
        "reasoning": reasoning.strip() or None,
        "content": content.strip() or None,
        "tool_calls": calls,
    }
    return text, expected


@settings(max_examples=300, deadline=None)
@given(responses(), st.lists(st.integers(min_value=0), max_size=10))
def test_ground_truth(case: tuple[str, dict[str, Any]], points: list[int]) -> None:
    text, expected = case
    assert as_expected(mp.parse(text, tools=TOOLS)) == expected
    assert stream(cut(text, points), tools=TOOLS) == expected

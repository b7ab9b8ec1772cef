"""The Python surface: options, errors, ids, OpenAI shapes and the panic guard."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import minimax_parser as mp
from minimax_parser import _core

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            },
        },
    }
]
TEXT = (
    'Need weather.</think>\n\nChecking.<minimax:tool_call>\n<invoke name="get_weather">\n'
    '<parameter name="city">Paris</parameter>\n<parameter name="days">3</parameter>\n'
    "</invoke>\n</minimax:tool_call>"
)


def test_parse_and_to_openai() -> None:
    msg = mp.parse(TEXT, tools=TOOLS)
    assert msg.reasoning == "Need weather."
    assert msg.content == "Checking."
    [call] = msg.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == '{"city": "Paris", "days": 3}'
    assert call.incomplete is False
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", call.id)
    assert msg.to_openai() == {
        "role": "assistant",
        "content": "Checking.",
        "reasoning_content": "Need weather.",
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": "get_weather", "arguments": call.arguments},
            }
        ],
    }


def test_to_openai_without_calls_omits_tool_calls() -> None:
    assert mp.parse("just thinking").to_openai() == {
        "role": "assistant",
        "content": None,
        "reasoning_content": "just thinking",
    }


def test_ids_are_unique_and_generator_is_used() -> None:
    text = TEXT.replace("</minimax:tool_call>", '<invoke name="x"></invoke></minimax:tool_call>')
    a = mp.parse(text)
    assert len({c.id for c in a.tool_calls}) == 2
    b = mp.parse(text, id_generator=lambda i: f"tool-{i}")
    assert [c.id for c in b.tool_calls] == ["tool-0", "tool-1"]
    p = mp.StreamParser(id_generator=lambda i: f"s{i}")
    events = p.feed(text) + p.finish()
    assert [e.id for e in events if isinstance(e, mp.ToolCallStart)] == ["s0", "s1"]
    assert [c.id for c in p.message().tool_calls] == ["s0", "s1"]


def test_bare_tool_form_types_values() -> None:
    bare = [{"name": "get_weather", "parameters": TOOLS[0]["function"]["parameters"]}]
    assert mp.parse(TEXT, tools=bare).tool_calls[0].arguments == '{"city": "Paris", "days": 3}'
    # Without tools, "3" is still JSON (no schema: JSON if it parses).
    assert mp.parse(TEXT).tool_calls[0].arguments == '{"city": "Paris", "days": 3}'
    string_days = [
        {"name": "get_weather", "parameters": {"properties": {"days": {"type": "string"}}}}
    ]
    assert '"days": "3"' in mp.parse(TEXT, tools=string_days).tool_calls[0].arguments


def test_stream_events_and_openai_deltas() -> None:
    p = mp.StreamParser(tools=TOOLS, id_generator=lambda i: "id0")
    events: list[mp.Event] = []
    for ch in TEXT:
        events.extend(p.feed(ch))
    events.extend(p.finish())
    kinds = {e.kind for e in events}
    assert kinds == {"reasoning", "content", "tool_call_start", "tool_call_delta", "tool_call_end"}
    start = next(e for e in events if isinstance(e, mp.ToolCallStart))
    assert start.to_openai_delta() == {
        "tool_calls": [
            {
                "index": 0,
                "id": "id0",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
        ]
    }
    delta = next(e for e in events if isinstance(e, mp.ToolCallDelta))
    assert delta.to_openai_delta() == {
        "tool_calls": [{"index": 0, "function": {"arguments": delta.arguments}}]
    }
    assert mp.ReasoningDelta("r").to_openai_delta() == {"reasoning_content": "r"}
    assert mp.ContentDelta("c").to_openai_delta() == {"content": "c"}
    end = events[-1]
    assert isinstance(end, mp.ToolCallEnd)
    assert end.to_openai_delta() == {}
    assert json.loads(end.arguments) == {"city": "Paris", "days": 3}
    assert p.finished


def test_feed_returns_nothing_while_text_is_held() -> None:
    p = mp.StreamParser(start_in_reasoning=False)
    assert p.feed("Hello") == [mp.ContentDelta("Hello")]
    assert p.feed(" ") == []  # trailing whitespace waits for more content
    assert p.feed("<mini") == []  # could be a tag
    assert p.feed("max:tool_call>") == []
    assert p.finish() == []
    assert p.message().content == "Hello"


def test_events_compare_and_repr() -> None:
    assert mp.ToolCallEnd(0, "{}") == mp.ToolCallEnd(0, "{}", False)
    assert mp.ToolCallEnd(0, "{}") != mp.ToolCallEnd(0, "{}", True)
    assert repr(mp.ContentDelta("x")) == 'ContentDelta(text="x")'
    assert "StreamParser" in repr(mp.StreamParser())
    assert type(mp.StreamParser()).__module__ == "minimax_parser"
    assert mp.StreamParser.__name__ == "StreamParser"


def test_feed_after_finish_raises() -> None:
    p = mp.StreamParser()
    p.feed("x")
    p.finish()
    with pytest.raises(RuntimeError, match="create a new StreamParser"):
        p.feed("more")
    with pytest.raises(RuntimeError, match="finished"):
        p.finish()


@pytest.mark.parametrize(
    ("kwargs", "exc", "pattern"),
    [
        ({"reasoning": "hidden"}, ValueError, r'"separate" or "inline"'),
        ({"tool_calls_in_reasoning": "drop"}, ValueError, r'"extract" or "ignore"'),
        ({"tools": {"name": "f"}}, TypeError, "list of dicts"),
        ({"tools": ["f"]}, TypeError, r"tools\[0\] must be a dict"),
        ({"tools": [{"type": "function"}]}, ValueError, r"tools\[0\].*no function name"),
        ({"tools": [{"name": "f", "parameters": {"x": object()}}]}, TypeError, "unsupported"),
        ({"id_generator": "call_1"}, TypeError, "callable"),
    ],
)
def test_misuse_raises_clear_errors(kwargs: dict[str, Any], exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        mp.StreamParser(**kwargs)
    with pytest.raises(exc, match=pattern):
        mp.parse("x", **kwargs)


def test_options_are_keyword_only_and_text_must_be_str() -> None:
    with pytest.raises(TypeError):
        mp.parse("x", None)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="decode bytes"):
        mp.parse(b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="decode bytes"):
        mp.StreamParser().feed(b"x")  # type: ignore[arg-type]


def test_bad_id_generator_result_raises() -> None:
    with pytest.raises(TypeError, match="must return a str"):
        mp.parse(TEXT, id_generator=lambda i: i)  # type: ignore[arg-type,return-value]


def test_panic_becomes_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="internal error in minimax_parser: boom"):
        _core._panic_for_tests("boom")


def test_model_output_never_raises() -> None:
    nasty = [
        "",
        "<",
        "</think></think><think>",
        "<minimax:tool_call>",
        '<minimax:tool_call><invoke name="',
        "<minimax:tool_call><invoke><parameter></parameter></invoke>",
        "</parameter></invoke></minimax:tool_call>",
        "\x00\ud7ff\U0010ffff",
        "<" * 5000,
        '<minimax:tool_call><invoke name="' + "x" * 5000,
    ]
    for text in nasty:
        options: list[dict[str, Any]] = [{}, {"reasoning": "inline"}, {"start_in_reasoning": False}]
        for opts in options:
            msg = mp.parse(text, **opts)
            for c in msg.tool_calls:
                assert isinstance(json.loads(c.arguments), dict)


def test_message_constructor() -> None:
    call = mp.ToolCall(0, "id", "f", "{}")
    msg = mp.Message("r", "c", [call])
    assert msg.tool_calls == [call]
    assert msg.to_openai()["tool_calls"][0]["function"] == {"name": "f", "arguments": "{}"}
    assert mp.Message() == mp.Message(None, None, [])


def test_package_docstring_examples() -> None:
    import doctest

    result = doctest.testmod(mp, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0

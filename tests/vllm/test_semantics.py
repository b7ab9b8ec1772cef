"""Token-id helpers, request options and linear streaming through vLLM's Parser."""

from __future__ import annotations

from typing import Any

import pytest
from test_parser_manager import parser_class

import minimax_parser as mp

from conftest import (
    ONLY_PARSER_API,
    PROMPT_IN_REASONING,
    make_request,
    merge_deltas,
    token_deltas,
)

pytestmark = ONLY_PARSER_API

THINK, END, TOOL, TOOL_END = 200050, 200051, 200052, 200053

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"days": {"type": "integer"}}},
        },
    }
]
TEXT = (
    'I should call.\n</think>\n\nChecking.\n<minimax:tool_call>\n<invoke name="get_weather">\n'
    '<parameter name="days">3</parameter>\n</invoke>\n</minimax:tool_call>'
)


def stream(tokenizer: Any, text: str, request: Any, per_delta: int = 1, **names: Any) -> Any:
    cls = parser_class(**names)
    parser = cls(tokenizer, request.tools, model_config=None)
    request = parser.adjust_request(request)
    prompt = tokenizer.encode(PROMPT_IN_REASONING, add_special_tokens=False)
    pieces = list(token_deltas(tokenizer, text, per_delta))
    out = []
    for i, (t, ids) in enumerate(pieces):
        out.append(parser.parse_delta(t, ids, request, prompt, finished=i == len(pieces) - 1))
        # engine-based streaming: vLLM keeps no accumulated text for our parsers
        assert parser._stream_state.previous_text == ""
    return merge_deltas(out), parser


def reasoning_parser(tokenizer: Any) -> Any:
    return parser_class()(tokenizer, None, model_config=None).reasoning_parser


def ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer.encode(text, add_special_tokens=False))


def test_marker_ids_are_the_real_ones(tokenizer: Any) -> None:
    rp = reasoning_parser(tokenizer)
    assert (rp.ids.think_start, rp.ids.think_end, rp.ids.tool_start, rp.ids.tool_end) == (
        THINK,
        END,
        TOOL,
        TOOL_END,
    )


def test_is_reasoning_end_looks_at_the_final_turn_only(tokenizer: Any) -> None:
    rp = reasoning_parser(tokenizer)
    assert not rp.is_reasoning_end(ids(tokenizer, PROMPT_IN_REASONING))
    assert rp.is_reasoning_end(ids(tokenizer, PROMPT_IN_REASONING + "a</think>\n"))
    # an earlier assistant turn closed its reasoning; the final turn has no think tag
    history = "]~b]ai\n<think>x</think>done[e~[\n]~b]user\nagain[e~[\n]~b]ai\n"
    assert not rp.is_reasoning_end(ids(tokenizer, history))
    # markers quoted in the system prompt
    system = "]~b]system\nNever write </think> or <minimax:tool_call>.[e~[\n]~b]ai\n"
    assert not rp.is_reasoning_end(ids(tokenizer, system))
    assert rp.is_reasoning_end_streaming([1, 2, END], [END])
    assert not rp.is_reasoning_end_streaming([1, 2, 3], [3])


def test_content_ids_and_reasoning_token_count(tokenizer: Any) -> None:
    rp = reasoning_parser(tokenizer)
    out = ids(tokenizer, "ab cd</think>hi")
    assert rp.extract_content_ids(out) == ids(tokenizer, "hi")
    assert rp.count_reasoning_tokens(out) == len(ids(tokenizer, "ab cd"))
    via_tool = ids(tokenizer, "ab<minimax:tool_call>x")
    assert rp.extract_content_ids(via_tool) == ids(tokenizer, "<minimax:tool_call>x")
    assert rp.extract_content_ids(ids(tokenizer, "still thinking")) == []
    # incremental use gives the same count as one call
    rp2 = reasoning_parser(tokenizer)
    for k in range(len(out) + 1):
        counted = rp2.count_reasoning_tokens(out[:k])
    assert counted == rp.count_reasoning_tokens(out)


@pytest.mark.parametrize("per_delta", [1, 5])
def test_auto_tool_choice(tokenizer: Any, per_delta: int) -> None:
    got, _ = stream(tokenizer, TEXT, make_request(TOOLS), per_delta)
    assert got["reasoning"] == "I should call."
    assert got["content"] == "Checking."
    assert [(c["name"], c["arguments"]) for c in got["tool_calls"]] == [
        ("get_weather", '{"days": 3}')
    ]


def test_tool_choice_none_drops_calls(tokenizer: Any) -> None:
    got, _ = stream(tokenizer, TEXT, make_request(TOOLS, tool_choice="none"))
    assert got["tool_calls"] == [] and got["content"] == "Checking."
    cls = parser_class()
    request = make_request(TOOLS, tool_choice="none")
    _, content, calls = cls(tokenizer, request.tools).parse(TEXT, request, enable_auto_tools=True)
    assert content == "Checking." and not calls


@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}]
)
def test_required_and_named_parse_the_native_format(tokenizer: Any, choice: Any) -> None:
    # like vLLM's minimax_m2: a structural tag constrains the output to the native format,
    # and the tool parser parses it
    got, _ = stream(tokenizer, TEXT, make_request(TOOLS, tool_choice=choice))
    assert [c["name"] for c in got["tool_calls"]] == ["get_weather"]
    request = make_request(TOOLS, tool_choice=choice)
    cls = parser_class()
    parser = cls(tokenizer, request.tools)
    assert parser.adjust_request(request).structured_outputs is not None
    _, _, calls = parser.parse(TEXT, request, enable_auto_tools=True)
    assert [(c.name, c.arguments) for c in calls or []] == [("get_weather", '{"days": 3}')]


def test_include_reasoning_false(tokenizer: Any) -> None:
    got, _ = stream(tokenizer, TEXT, make_request(TOOLS, include_reasoning=False))
    assert got["reasoning"] is None and got["content"] == "Checking."


def test_reasoning_parser_alone_passes_the_rest_through(tokenizer: Any) -> None:
    got, _ = stream(tokenizer, "Hmm.\n</think>\nHi <b>", make_request(None), tool=None)
    assert got["reasoning"] == "Hmm."
    assert got["content"].strip() == "Hi <b>"


def test_tool_parser_alone_keeps_think_markup_as_content(tokenizer: Any) -> None:
    cls = parser_class(reasoning=None)  # type: ignore[arg-type]
    request = make_request(TOOLS)
    parser = cls(tokenizer, request.tools)
    text = "<think>a</think>Hi"
    out = [
        parser.parse_delta(t, i, request, None, finished=False)
        for t, i in token_deltas(tokenizer, text, 1)
    ]
    out.append(parser.parse_delta("", [], request, None, finished=True))
    assert merge_deltas(out)["content"] == text


def test_multi_token_equals_single_token(tokenizer: Any) -> None:
    text = "a\n</think>\nb<think>\nc\n</think>d" + TEXT.split("</think>")[1]
    results = []
    for n in (1, 2, 7, 1000):
        got, _ = stream(tokenizer, text, make_request(TOOLS), n)
        for c in got["tool_calls"]:
            c.pop("id")
        results.append(got)
    assert all(r == results[0] for r in results)
    msg = mp.parse(text, tools=TOOLS)
    assert (results[0]["reasoning"], results[0]["content"]) == (msg.reasoning, msg.content)

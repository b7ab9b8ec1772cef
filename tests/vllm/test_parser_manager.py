"""Every golden fixture through vLLM's ParserManager -> Parser.parse / Parser.parse_delta."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

import minimax_parser.vllm_plugin as vllm_plugin

from conftest import (
    ONLY_PARSER_API,
    PROMPT_AFTER_REASONING,
    PROMPT_IN_REASONING,
    Fixture,
    get_tokenizer,
    load_fixtures,
    make_request,
    merge_deltas,
    token_deltas,
)

pytestmark = ONLY_PARSER_API

FIXTURES = load_fixtures()
CHUNKS = [1, 3, 16, 10_000]


def _unsupported(f: Fixture) -> str | None:
    if f.options.get("tool_calls_in_reasoning") == "ignore":
        return "tool_calls_in_reasoning='ignore' has no vLLM switch"
    return None


def parser_class(reasoning: str = "minimax_rs", tool: str | None = "minimax_rs") -> Any:
    ParserManager = importlib.import_module("vllm.parser").ParserManager
    vllm_plugin.register()
    cls = ParserManager.get_parser(
        tool_parser_name=tool,
        reasoning_parser_name=reasoning,
        enable_auto_tools=True,
        model_name="MiniMaxAI/MiniMax-M2.1",
        tokenizer=get_tokenizer(),
    )
    assert cls is not None
    # Our two parsers together: register() makes vLLM build our own Parser (one per response).
    ours = (
        isinstance(reasoning, str) and reasoning.startswith("minimax_rs") and tool == "minimax_rs"
    )
    assert (cls.__name__ == "MinimaxRsParser") is ours, cls.__mro__
    return cls


def reasoning_name(f: Fixture) -> str:
    return "minimax_rs_append_think" if f.options.get("reasoning") == "inline" else "minimax_rs"


def expected(f: Fixture) -> dict[str, Any]:
    return {
        "reasoning": f.expected["reasoning"],
        "content": f.expected["content"],
        "tool_calls": [
            {"name": c["name"], "arguments": c["arguments"]} for c in f.expected["tool_calls"]
        ],
    }


def prompt_ids(tokenizer: Any, f: Fixture) -> list[int]:
    start = f.options.get("start_in_reasoning", True)
    text = PROMPT_IN_REASONING if start else PROMPT_AFTER_REASONING
    return list(tokenizer.encode(text, add_special_tokens=False))


def run_stream(
    tokenizer: Any, f: Fixture, per_delta: int, request: Any = None, **names: Any
) -> list[Any]:
    cls = parser_class(reasoning=names.get("reasoning", reasoning_name(f)))
    request = request or make_request(f.tools)
    parser = cls(tokenizer, request.tools, model_config=None)
    request = parser.adjust_request(request)
    assert request.skip_special_tokens is False
    prompt = prompt_ids(tokenizer, f)
    pieces = list(token_deltas(tokenizer, f.input, per_delta))
    if not pieces:
        pieces = [("", [])]
    out = []
    for i, (text, ids) in enumerate(pieces):
        out.append(
            parser.parse_delta(
                text, ids, request, prompt_token_ids=prompt, finished=i == len(pieces) - 1
            )
        )
    return out


@pytest.mark.parametrize("per_delta", CHUNKS)
@pytest.mark.parametrize("f", FIXTURES, ids=[f.name for f in FIXTURES])
def test_parse_delta(tokenizer: Any, f: Fixture, per_delta: int) -> None:
    if reason := _unsupported(f):
        pytest.skip(reason)
    got = merge_deltas(run_stream(tokenizer, f, per_delta))
    for call in got["tool_calls"]:
        assert call.pop("id").startswith("chatcmpl-tool-")
        json.loads(call["arguments"])
    assert got == expected(f)


@pytest.mark.parametrize("f", FIXTURES, ids=[f.name for f in FIXTURES])
def test_parse(tokenizer: Any, f: Fixture) -> None:
    if reason := _unsupported(f):
        pytest.skip(reason)
    cls = parser_class(reasoning=reasoning_name(f))
    request = make_request(f.tools)
    parser = cls(tokenizer, request.tools, model_config=None)
    # As chat_completion_full_generator does: the prompt decides where the response starts.
    parser.set_prompt_token_ids(prompt_ids(tokenizer, f))
    reasoning, content, calls = parser.parse(f.input, request, enable_auto_tools=True)
    got = {
        "reasoning": reasoning,
        "content": content,
        "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in calls or []],
    }
    assert got == expected(f)


TYPED = [f for f in FIXTURES if f.tools]


@pytest.mark.parametrize("f", TYPED, ids=[f.name for f in TYPED])
def test_parse_batch_path_takes_the_request_tools(tokenizer: Any, f: Fixture) -> None:
    """vLLM 0.32's batch serving builds ``parser_cls(tokenizer, None)`` and hands the request to
    ``parse``: a parser built without tools types the arguments by the request's (issue 8)."""
    if reason := _unsupported(f):
        pytest.skip(reason)
    cls = parser_class(reasoning=reasoning_name(f))
    request = make_request(f.tools)
    parser = cls(tokenizer, None, chat_template_kwargs={})
    parser.set_prompt_token_ids(prompt_ids(tokenizer, f))  # as batch_serving.py does
    reasoning, content, calls = parser.parse(f.input, request=request, enable_auto_tools=True)
    got = {
        "reasoning": reasoning,
        "content": content,
        "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in calls or []],
    }
    assert got == expected(f)

"""Every golden fixture (both dialects) through SGLang's own ``ReasoningParser`` and
``FunctionCallParser`` with ``minimax-rs``, built and called as its chat-completions serving code
does: one-shot (reasoning parser, then the tool-call parser when ``has_tool_call``) and streamed
(one token per delta and several, the reasoning parser's output fed to the tool-call parser, both
flushed at the end). The result must be the fixture's expected message.

A reasoning segment after the first one (after content or a call) is the one documented
difference: SGLang runs the reasoning parser first and gives the tool-call parser no reasoning
output, so such a segment stays in the content with its tags (as with SGLang's own parsers).
:data:`LATER_REASONING` lists those fixtures; their test checks exactly that.

Not expressible in SGLang, so not run: ``tool_calls_in_reasoning="ignore"`` (no such request
option) and an M2 response that starts after closed reasoning (SGLang's parsers never see the
prompt; M2's template always opens reasoning).
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from typing import Any

import pytest

import minimax_parser.sglang as mp_sglang
from minimax_parser.conformance import expected_of, normalise

from conftest import (
    Fixture,
    chat_request,
    get_tokenizer,
    load_fixtures,
    sglang_tools,
    token_deltas,
)

mp_sglang.register()
ReasoningParser: Any = importlib.import_module("sglang.srt.parser.reasoning_parser").ReasoningParser
FunctionCallParser: Any = importlib.import_module(
    "sglang.srt.function_call.function_call_parser"
).FunctionCallParser


def squash(text: str) -> str:
    """``text`` without think tags (either dialect) and whitespace."""
    return re.sub(r"\s+|</?(?:mm:)?think>", "", text)


def applicable(f: Fixture) -> bool:
    if f.options.get("tool_calls_in_reasoning") == "ignore":
        return False
    return not (f.dialect == "m2" and f.options.get("start_in_reasoning") is False)


# Fixtures with a reasoning segment after the first one (see the module docstring).
LATER_REASONING = {
    "m2/channels/redundant_think_in_later_segment",
    "m2/channels/segments_concatenated_without_separator",
    "m2/channels/several_think_blocks",
    "m2/channels/think_after_tool_call",
    "m2/channels/tool_call_in_second_reasoning_segment",
    "m2/channels/unclosed_second_think_block",
    "m2/tool_calls/think_after_tool_call_unclosed",
    "m2/tool_calls/think_block_after_tool_call_then_second_call",
    "m3/m3_calls/think_between_blocks",
    "m3/m3_channels/several_think_blocks",
    "m3/m3_channels/think_after_block",
    "m3/m3_channels/unclosed_think_block_from_content",
    "m3/m3_channels/vector16_mm_think_in_content_opens_reasoning",
}
ALL = [f for d in ("m2", "m3") for f in load_fixtures(d) if applicable(f)]
FIXTURES = [f for f in ALL if f"{f.dialect}/{f.name}" not in LATER_REASONING]
IDS = [f"{f.dialect}/{f.name}" for f in FIXTURES]
LATER = [f for f in ALL if f"{f.dialect}/{f.name}" in LATER_REASONING]


def _parsers(f: Fixture, stream_reasoning: bool) -> tuple[Any, Any]:
    """The reasoning parser and tool-call parser SGLang's serving code builds for the fixture's
    request: M3's start state from ``chat_template_kwargs`` ``thinking_mode``; the
    ``force_reasoning`` the serving layer passes for a parser it has no special case for
    (``True``: our detector's ``reasoning_default`` is ``"always"``)."""
    tokenizer = get_tokenizer(f.dialect)
    start = f.options.get("start_in_reasoning", f.dialect == "m2")
    kwargs = {"thinking_mode": "enabled"} if f.dialect == "m3" and start else None
    request = chat_request(chat_template_kwargs=kwargs)
    inline = f.options.get("reasoning") == "inline"
    name = mp_sglang.APPEND_THINK_PARSER_NAME if inline else mp_sglang.REASONING_PARSER_NAME
    rp = ReasoningParser(
        name, stream_reasoning, True, request, tokenizer=tokenizer, tool_call_parser_active=True
    )
    fp = FunctionCallParser(
        sglang_tools(f.tools), mp_sglang.TOOL_PARSER_NAME, tokenizer=tokenizer, tool_choice="auto"
    )
    return rp, fp


def one_shot(f: Fixture) -> dict[str, Any]:
    rp, fp = _parsers(f, stream_reasoning=False)
    reasoning, text = rp.parse_non_stream(f.input)
    calls: list[Any] = []
    if fp.has_tool_call(text or ""):
        text, calls = fp.parse_non_stream(text)
    return normalise(reasoning, text, [(c.name, c.parameters) for c in calls])


def streamed(f: Fixture, per_delta: int, stream_reasoning: bool = True) -> dict[str, Any]:
    rp, fp = _parsers(f, stream_reasoning)
    deltas = list(token_deltas(get_tokenizer(f.dialect), f.input, per_delta)) or [""]
    reasoning = content = ""
    calls: dict[int, list[str]] = {}

    def absorb(normal: str, items: list[Any]) -> None:
        nonlocal content
        content += normal or ""
        for item in items:
            if item.tool_index not in calls:
                assert item.name, "the first piece of a call carries its name"
                calls[item.tool_index] = [item.name, ""]
            else:
                assert item.name is None
            calls[item.tool_index][1] += item.parameters

    for i, delta in enumerate(deltas):
        r, n = rp.parse_stream_chunk(delta)
        if i == len(deltas) - 1:  # the finishing delta: SGLang flushes both parsers
            end_r, end_n = rp.parse_stream_end()
            r, n = (r or "") + (end_r or ""), (n or "") + (end_n or "")
        reasoning += r or ""
        if n:
            absorb(*fp.parse_stream_chunk(n))
    absorb(*fp.parse_stream_end())
    # SGLang's end-of-stream check (_check_for_unstreamed_tool_args) must find nothing missing.
    detector = fp.detector
    for i, call in enumerate(detector.prev_tool_call_arr):
        assert call["arguments"] == detector.streamed_args_for_tool[i] == calls[i][1]
    return normalise(reasoning, content, [tuple(calls[i]) for i in sorted(calls)])


@pytest.mark.parametrize("f", FIXTURES, ids=IDS)
def test_one_shot(f: Fixture) -> None:
    assert one_shot(f) == expected_of(f)


@pytest.mark.parametrize("per_delta", [1, 4])
@pytest.mark.parametrize("f", FIXTURES, ids=IDS)
def test_streamed(f: Fixture, per_delta: int) -> None:
    assert streamed(f, per_delta) == expected_of(f)


@pytest.mark.parametrize("f", FIXTURES, ids=IDS)
def test_streamed_without_stream_reasoning(f: Fixture) -> None:
    """``stream_reasoning=false``: the reasoning arrives in one piece; the message is the same."""
    assert streamed(f, 3, stream_reasoning=False) == expected_of(f)


@pytest.mark.parametrize("f", LATER, ids=[f"{f.dialect}/{f.name}" for f in LATER])
def test_later_reasoning_stays_in_content(f: Fixture) -> None:
    """The calls are the expected ones; the first segment is the reasoning; the later segments
    are in the content, think tags included, beside the expected content. The same in every
    streaming mode."""
    got = one_shot(f)
    assert got == streamed(f, 1) == streamed(f, 4) == streamed(f, 3, stream_reasoning=False)
    want = expected_of(f)
    assert got["tool_calls"] == want["tool_calls"]
    opener = "<mm:think>" if f.dialect == "m3" else "<think>"
    assert opener in (got["content"] or "")
    first = got["reasoning"] or ""
    assert want["reasoning"].startswith(first)
    later = want["reasoning"][len(first) :]
    # The content holds the expected content and the later reasoning: nothing lost or added but
    # think tags and whitespace.
    assert Counter(squash(got["content"])) == Counter(squash((want["content"] or "") + later))


def test_both_dialects_and_options_are_covered() -> None:
    assert {f.dialect for f in FIXTURES} == {"m2", "m3"}
    assert any(f.options.get("reasoning") == "inline" for f in FIXTURES)
    assert len(FIXTURES) > 600
    assert len(LATER) == len(LATER_REASONING)

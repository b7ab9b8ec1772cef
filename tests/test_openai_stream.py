"""The OpenAI SDK adapters, driven with real ``openai`` chunk and completion objects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from minimax_parser.openai_stream import StreamRewriter, awrap_stream, wrap_completion, wrap_stream

from conftest import Fixture, load_fixtures

FIXTURES = load_fixtures()


def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "MiniMax-M2",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }


def raw_chunks(text: str, size: int, finish: str | None = "stop") -> list[dict[str, Any]]:
    """How a server without a MiniMax parser streams: the raw text in ``content``."""
    out = [chunk(0, {"role": "assistant", "content": ""})]
    out += [chunk(0, {"content": text[i : i + size]}) for i in range(0, len(text), size)]
    if finish is not None:
        out.append(chunk(0, {}, finish))
    return out


def sdk(chunks: Iterable[dict[str, Any]]) -> Iterator[ChatCompletionChunk]:
    for c in chunks:
        yield ChatCompletionChunk.model_validate(c)


def merge(chunks: Iterable[ChatCompletionChunk | dict[str, Any]]) -> dict[str, Any]:
    """Merges streamed chunks the way an OpenAI client does."""
    reasoning, content, finish = "", "", None
    calls: dict[int, dict[str, Any]] = {}
    for c in chunks:
        d = c if isinstance(c, dict) else c.model_dump(exclude_none=True)
        for choice in d["choices"]:
            delta = choice.get("delta") or {}
            reasoning += delta.get("reasoning_content") or ""
            content += delta.get("content") or ""
            for tc in delta.get("tool_calls") or []:
                call = calls.setdefault(tc["index"], {"name": "", "arguments": "", "id": None})
                if tc.get("id"):
                    assert call["id"] is None, "the id comes once, with the name"
                    call["id"] = tc["id"]
                    assert tc["type"] == "function"
                fn = tc.get("function") or {}
                call["name"] += fn.get("name") or ""
                call["arguments"] += fn.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    return {
        "reasoning": reasoning or None,
        "content": content or None,
        "tool_calls": [
            {"name": calls[i]["name"], "arguments": calls[i]["arguments"]} for i in sorted(calls)
        ],
        "finish_reason": finish,
    }


def expected(fx: Fixture) -> dict[str, Any]:
    e = fx.expected
    return {
        "reasoning": e["reasoning"],
        "content": e["content"],
        "tool_calls": [{"name": c["name"], "arguments": c["arguments"]} for c in e["tool_calls"]],
        "finish_reason": "tool_calls" if e["tool_calls"] else "stop",
    }


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
@pytest.mark.parametrize("size", [1, 7])
def test_wrap_stream_sdk_objects(fx: Fixture, size: int) -> None:
    out = list(wrap_stream(sdk(raw_chunks(fx.input, size)), tools=fx.tools, **fx.options))
    assert all(isinstance(c, ChatCompletionChunk) for c in out)
    assert merge(out) == expected(fx)
    # The first chunk keeps the role, as OpenAI sends it.
    assert out[0].choices[0].delta.role == "assistant"


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_wrap_stream_dicts_and_async(fx: Fixture) -> None:
    out = list(wrap_stream(raw_chunks(fx.input, 3), tools=fx.tools, **fx.options))
    assert all(isinstance(c, dict) for c in out)
    assert merge(out) == expected(fx)

    async def source() -> AsyncIterator[ChatCompletionChunk]:
        for c in sdk(raw_chunks(fx.input, 5)):
            await asyncio.sleep(0)
            yield c

    async def collect() -> list[ChatCompletionChunk]:
        return [c async for c in awrap_stream(source(), tools=fx.tools, **fx.options)]

    assert merge(asyncio.run(collect())) == expected(fx)


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_wrap_completion(fx: Fixture) -> None:
    data = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "MiniMax-M2",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": fx.input},
                "finish_reason": "stop",
            }
        ],
    }
    completions: list[dict[str, Any] | ChatCompletion] = [data, ChatCompletion.model_validate(data)]
    for completion in completions:
        out = wrap_completion(completion, tools=fx.tools, **fx.options)
        assert type(out) is type(completion)
        d: dict[str, Any] = out if isinstance(out, dict) else out.model_dump()
        choice = d["choices"][0]
        msg = choice["message"]
        e = expected(fx)
        assert msg["content"] == e["content"]
        assert msg.get("reasoning_content") == e["reasoning"]
        calls = [
            {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in msg.get("tool_calls") or []
        ]
        assert calls == e["tool_calls"]
        assert choice["finish_reason"] == e["finish_reason"]


TEXT = (
    'Plan.</think>Hi<minimax:tool_call><invoke name="f"><parameter name="x">1</parameter>'
    "</invoke></minimax:tool_call>"
)


def test_length_finish_stays_and_usage_passes_through() -> None:
    chunks = raw_chunks(TEXT, 4, finish="length")
    usage = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "MiniMax-M2",
        "choices": [],
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
    }
    out = list(wrap_stream(sdk([*chunks, usage])))
    assert merge(out)["finish_reason"] == "length"
    assert out[-1].usage is not None and out[-1].usage.total_tokens == 8


def test_held_back_chunks_are_not_sent() -> None:
    out = list(wrap_stream(raw_chunks(TEXT, 1)))
    # Far fewer chunks than characters: markup produces nothing until a tag completes.
    assert len(out) < len(TEXT)
    for c in out[1:]:
        choice = c["choices"][0]
        delta = choice["delta"]
        assert (
            choice["finish_reason"]
            or delta.get("content")
            or delta.get("reasoning_content")
            or delta.get("tool_calls")
        )


def test_choices_are_parsed_independently() -> None:
    a = 'A thinks.</think>A says.<minimax:tool_call><invoke name="f"></invoke></minimax:tool_call>'
    b = "B thinks.</think>B says."
    chunks = []
    for i in range(max(len(a), len(b))):
        if i < len(a):
            chunks.append(chunk(0, {"content": a[i]}))
        if i < len(b):
            chunks.append(chunk(1, {"content": b[i]}))
    chunks += [chunk(0, {}, "stop"), chunk(1, {}, "stop")]
    out = list(wrap_stream(chunks))
    per_choice: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    for c in out:
        per_choice[c["choices"][0]["index"]].append(c)
    m0, m1 = merge(per_choice[0]), merge(per_choice[1])
    assert (m0["reasoning"], m0["content"], m0["finish_reason"]) == (
        "A thinks.",
        "A says.",
        "tool_calls",
    )
    assert [c["name"] for c in m0["tool_calls"]] == ["f"]
    assert (m1["reasoning"], m1["content"], m1["finish_reason"]) == ("B thinks.", "B says.", "stop")


def test_upstream_reasoning_passes_through_and_content_starts_outside() -> None:
    chunks = [
        chunk(0, {"role": "assistant", "reasoning_content": "Upstream reasoning."}),
        chunk(0, {"content": 'Answer.<minimax:tool_call><invoke name="f">'}),
        chunk(0, {"content": "</invoke></minimax:tool_call>"}),
        chunk(0, {}, "stop"),
    ]
    m = merge(wrap_stream(sdk(chunks)))
    assert m["reasoning"] == "Upstream reasoning."
    assert m["content"] == "Answer."
    assert [c["name"] for c in m["tool_calls"]] == ["f"]
    assert m["finish_reason"] == "tool_calls"
    # The newer `reasoning` field name is respected too.
    chunks[0]["choices"][0]["delta"] = {"role": "assistant", "reasoning": "R."}
    out = list(wrap_stream(chunks))
    assert out[0]["choices"][0]["delta"]["reasoning"] == "R."
    assert merge(out)["content"] == "Answer."


def test_cut_off_stream_is_flushed() -> None:
    text = 'Plan.</think><minimax:tool_call><invoke name="f"><parameter name="x">abc'
    out = list(wrap_stream(sdk(raw_chunks(text, 4, finish=None))))
    m = merge(out)
    assert m["tool_calls"] == [{"name": "f", "arguments": '{"x": "abc"}'}]
    assert m["finish_reason"] is None
    assert json.loads(m["tool_calls"][0]["arguments"]) == {"x": "abc"}


def test_schema_types_come_from_tools() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"x": {"type": "string"}}}}}]  # fmt: skip
    m = merge(wrap_stream(raw_chunks(TEXT, 5), tools=tools))
    assert m["tool_calls"][0]["arguments"] == '{"x": "1"}'


def test_misuse_raises_at_call_time() -> None:
    with pytest.raises(ValueError, match="inline"):
        wrap_stream([], reasoning="hidden")
    with pytest.raises(ValueError, match="inline"):
        awrap_stream(sdk([]), reasoning="hidden")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model_dump"):
        list(wrap_stream([object()]))
    with pytest.raises(TypeError, match="list of dicts"):
        StreamRewriter(tools="f")

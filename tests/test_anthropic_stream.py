"""``minimax_parser.anthropic_stream`` without the proxy: raw chat completion chunks (dicts and
``openai`` SDK objects, sync and async) into Anthropic events and messages over every golden
fixture, checked with the ``anthropic`` SDK's own accumulator and types; request translation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from minimax_parser import anthropic_stream as ast
from minimax_parser.openai_stream import StreamRewriter

from conftest import Fixture, load_fixtures

FIXTURES = load_fixtures()
USAGE = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def chunks(text: str, piece: int = 3, finish: str = "stop") -> list[dict[str, Any]]:
    base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    out = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    for i in range(0, len(text), piece):
        delta = {"content": text[i : i + piece]}
        out.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    out.append({**base, "choices": [], "usage": USAGE})
    return out


def completion(text: str) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": USAGE,
    }


def accumulate(events: Iterable[dict[str, Any]]) -> Message:
    snapshot = None
    bufs: dict[int, bytes] = {}
    for event in events:
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)  # type: ignore[arg-type]
    assert snapshot is not None
    return Message.model_validate(snapshot.model_dump())


def summary(message: Message) -> dict[str, Any]:
    data = message.model_dump(exclude_none=True)
    data.pop("id")
    for block in data["content"]:
        block.pop("id", None)  # each parse has its own call ids
    return data


def want(fx: Fixture) -> dict[str, Any]:
    calls = [(c["name"], json.loads(c["arguments"])) for c in fx.expected["tool_calls"]]
    return {
        "thinking": fx.expected["reasoning"],
        "text": fx.expected["content"],
        "calls": calls,
        "stop_reason": "tool_use" if calls else "end_turn",
    }


def got(message: Message) -> dict[str, Any]:
    blocks = message.content
    return {
        "thinking": "".join(b.thinking for b in blocks if b.type == "thinking") or None,
        "text": "".join(b.text for b in blocks if b.type == "text") or None,
        "calls": [(b.name, b.input) for b in blocks if b.type == "tool_use"],
        "stop_reason": message.stop_reason,
    }


def test_every_fixture_sync_async_and_whole() -> None:
    async def collect(events: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e async for e in events]

    async def agen(items: list[Any]) -> AsyncIterator[Any]:
        for item in items:
            yield item

    for fx in FIXTURES:
        opts = {"tools": fx.tools, **fx.options}
        whole = Message.model_validate(ast.to_message(completion(fx.input), model="m", **opts))
        assert got(whole) == want(fx), fx.name
        assert whole.usage.input_tokens == 3 and whole.usage.output_tokens == 2
        raw = chunks(fx.input)
        events = list(ast.wrap_stream(raw, model="m", **opts))
        assert summary(accumulate(events)) == summary(whole), fx.name
        sdk = [ChatCompletionChunk.model_validate(c) for c in raw]
        assert summary(accumulate(ast.wrap_stream(sdk, model="m", **opts))) == summary(whole)
        async_events = asyncio.run(collect(ast.awrap_stream(agen(sdk), model="m", **opts)))
        assert summary(accumulate(async_events)) == summary(whole), fx.name
        sdk_whole = ChatCompletion.model_validate(completion(fx.input))
        again = Message.model_validate(ast.to_message(sdk_whole, model="m", **opts))
        assert summary(again) == summary(whole), fx.name


def test_parsed_chunks() -> None:
    """``parsed=True`` takes chunks whose markup is already parsed (our rewriter's output)."""
    for fx in FIXTURES[:200]:
        rewriter = StreamRewriter(tools=fx.tools, **fx.options)
        parsed = [out for c in chunks(fx.input) for out in rewriter.process(c)]
        parsed += rewriter.finish()
        events = list(ast.wrap_stream(parsed, model="m", parsed=True))
        assert got(accumulate(events)) == want(fx), fx.name


def test_length_cut_and_sse_encoding() -> None:
    text = '<minimax:tool_call>\n<invoke name="f">\n<parameter name="a">1'
    stream = ast.MessageStream(model="m", start_in_reasoning=False)
    events = stream.start()
    for c in chunks(text, finish="length"):
        events += stream.process(c)
    events += stream.finish()
    assert stream.finish() == []
    message = Message.model_validate(stream.message)
    assert message.stop_reason == "max_tokens"
    assert [(b.type, getattr(b, "input", None)) for b in message.content] == [
        ("tool_use", {"a": 1})
    ]
    assert ast.sse({"type": "ping"}) == b'event: ping\ndata: {"type": "ping"}\n\n'
    assert ast.error_body(429, "slow down") == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }
    assert ast.error_type(502) == "api_error" and ast.error_type(422) == "invalid_request_error"


def test_request_translation() -> None:
    body = {
        "model": "MiniMax-M3",
        "system": "Be brief.",
        "max_tokens": 100,
        "top_k": 20,
        "thinking": {"type": "disabled"},
        "tools": [
            {"name": "f", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search"},  # a server tool: left out
        ],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AAA="},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Hmm.", "signature": "x"},
                    {"type": "redacted_thinking", "data": "zzz"},
                    {"type": "text", "text": "Calling."},
                    {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": "é"}},
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "done"}],
            },
        ],
    }
    assert ast.to_chat_request(body, dialect="m3") == {
        "model": "MiniMax-M3",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA="}},
                ],
            },
            {
                "role": "assistant",
                "content": "<mm:think>Hmm.</mm:think>Calling.",
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"a": "é"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "done"},
        ],
        "tools": [
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "max_tokens": 100,
        "top_k": 20,
        "stream": False,
        "chat_template_kwargs": {"thinking_mode": "disabled"},
    }
    assert ast.parser_tools(body) == [{"name": "f", "input_schema": {"type": "object"}}]
    m2 = ast.to_chat_request({**body, "stream": True}, dialect="m2", restore="field")
    assert "chat_template_kwargs" not in m2  # thinking_mode is M3's
    assert m2["stream_options"] == {"include_usage": True}
    assert m2["messages"][2]["content"] == "Calling."
    assert m2["messages"][2]["reasoning_content"] == "Hmm."
    off = ast.to_chat_request(body, restore="off")
    assert (
        off["messages"][2]["content"] == "Calling."
        and "reasoning_content" not in off["messages"][2]
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"messages": "hi"}, "'messages' must be a list of objects, got a string"),
        ({"model": 3}, "'model' must be a string, got a number"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role must be"),
        ({"tools": [{"name": "f"}]}, "'tools[0].input_schema' must be an object, got null"),
        ({"tools": [{"input_schema": {}}]}, "'tools[0].name' must be a non-empty string"),
        ({"tool_choice": {"type": "any"}}, "needs a non-empty 'tools' list"),
        ({"tool_choice": "auto"}, "'tool_choice' must be"),
        ({"max_tokens": 0}, "'max_tokens' must be a positive integer"),
        ({"stop_sequences": "x"}, "'stop_sequences' must be a list of strings"),
        ({"stream": "yes"}, "'stream' must be a boolean, got a string"),
        ({"temperature": "hot"}, "'temperature' must be a number"),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]},
            "messages[0].content[0].tool_use_id must be a string",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t"}]}]},
            "must have a string 'id' and 'name'",
        ),
    ],
)
def test_request_errors(change: dict[str, Any], message: str) -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [], **change}
    with pytest.raises(ast.RequestError, match=None) as e:
        ast.to_chat_request(body)
    assert message in str(e.value)

"""``minimax_parser.responses_stream`` without the proxy: request translation, and chat chunk
streams (dicts and ``openai`` SDK objects, sync and async) turned into Responses events that the
SDK's own types accept, over every golden fixture."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pydantic
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent

from minimax_parser.render import think_block
from minimax_parser.responses_stream import (
    RequestError,
    astream_events,
    chat_request,
    response_from_completion,
    sse,
    stream_events,
)

from conftest import Fixture, load_fixtures

FIXTURES = load_fixtures()
EVENT: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ResponseStreamEvent)


def chunks(text: str, piece: int = 3, finish: str = "stop") -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
        }

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": text[i : i + piece]}) for i in range(0, len(text), piece)]
    return [*out, chunk({}, finish)]


def completion(text: str, **message: Any) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, **message},
                "finish_reason": "stop",
            }
        ],
    }


def outline(response: dict[str, Any]) -> list[tuple[str, str]]:
    """Each output item's kind and text (arguments for a call)."""
    out = []
    for item in response["output"]:
        if item["type"] == "function_call":
            out.append((item["name"], item["arguments"]))
        else:
            out.append((item["type"], "".join(p["text"] for p in item["content"])))
    return out


def merged(response: dict[str, Any]) -> dict[str, Any]:
    reasoning = "".join(t for k, t in outline(response) if k == "reasoning")
    content = "".join(t for k, t in outline(response) if k == "message")
    calls = [
        {"name": i["name"], "arguments": i["arguments"], "incomplete": i["status"] == "incomplete"}
        for i in response["output"]
        if i["type"] == "function_call"
    ]
    return {"reasoning": reasoning or None, "content": content or None, "tool_calls": calls}


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_events(fx: Fixture) -> None:
    request = {"model": "m", "input": "hi", "tools": fx.tools}
    events = list(stream_events(chunks(fx.input), request=request, **fx.options))
    for event in events:
        EVENT.validate_python(event)
        assert sse(event).startswith(f"event: {event['type']}\ndata: ".encode())
    final = events[-1]["response"]
    assert events[-1]["type"] == "response.completed"
    Response.model_validate(final)
    whole = response_from_completion(completion(fx.input), request=request, **fx.options)
    assert outline(whole) == outline(final)
    expected = {
        "reasoning": fx.expected["reasoning"],
        "content": fx.expected["content"],
        "tool_calls": fx.expected["tool_calls"],
    }
    assert merged(final) == expected


def test_sdk_objects_sync_and_async() -> None:
    text = (
        'Need it.</think>Sure.<minimax:tool_call><invoke name="f"><parameter name="n">3'
        "</parameter></invoke></minimax:tool_call>"
    )
    tools = [
        {
            "type": "function",
            "name": "f",
            "parameters": {"type": "object", "properties": {"n": {"type": "integer"}}},
        }
    ]
    sdk = [ChatCompletionChunk.model_validate(c) for c in chunks(text)]
    sync = list(stream_events(sdk, tools=tools))

    async def source() -> AsyncIterator[ChatCompletionChunk]:
        for c in sdk:
            yield c

    async def collect() -> list[dict[str, Any]]:
        return [e async for e in astream_events(source(), tools=tools)]

    asynced = asyncio.run(collect())
    assert [e["type"] for e in sync] == [e["type"] for e in asynced]
    want = [("reasoning", "Need it."), ("message", "Sure."), ("f", '{"n": 3}')]
    assert outline(sync[-1]["response"]) == outline(asynced[-1]["response"]) == want
    whole = response_from_completion(ChatCompletion.model_validate(completion(text)), tools=tools)
    assert outline(whole) == want


def test_upstream_parsed_fields_pass_through() -> None:
    """A server that separates reasoning and parses calls itself (vLLM with parser flags)."""
    done = {
        "reasoning_content": "Hmm.",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        ],
    }
    whole = response_from_completion(completion("Ok.", **done))
    assert outline(whole) == [("reasoning", "Hmm."), ("message", "Ok."), ("f", "{}")]
    assert whole["output"][2]["call_id"] == "call_1"


def test_length_and_failure() -> None:
    events = list(stream_events(chunks("Thinking.</think>Hel", finish="length")))
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert [i["status"] for i in events[-1]["response"]["output"]] == ["completed", "incomplete"]


# -- request translation -----------------------------------------------------------------------


def test_string_input_and_instructions() -> None:
    body = {"model": "m", "input": "Hi", "instructions": "Be brief.", "max_output_tokens": 9}
    assert chat_request(body) == {
        "model": "m",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "max_tokens": 9,
    }


@pytest.mark.parametrize("restore", ["inline", "field", "off"])
@pytest.mark.parametrize("dialect", ["m2", "m3"])
def test_items_become_one_assistant_turn(dialect: Any, restore: Any) -> None:
    body = {
        "model": "m",
        "input": [
            {"role": "developer", "content": "Rules."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Go."}]},
            {
                "type": "reasoning",
                "summary": [],
                "content": [{"type": "reasoning_text", "text": "R."}],
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "A."}],
            },
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "g", "arguments": '{"x": 1}'},
            {"type": "function_call_output", "call_id": "c1", "output": "one"},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "two"}],
            },
            {"role": "developer", "content": "Later rule."},
        ],
        "tools": [{"type": "function", "name": "f", "parameters": {}}, {"type": "web_search"}],
        "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "s", "schema": {}, "strict": True}},
        "store": False,
        "stream": True,
    }
    out = chat_request(body, dialect=dialect, restore=restore)
    assistant: dict[str, Any] = {"role": "assistant", "content": "A."}
    if restore == "inline":
        assistant["content"] = think_block("R.", dialect) + "A."
    elif restore == "field":
        assistant["reasoning_content"] = "R."
    assistant["tool_calls"] = [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "c2", "type": "function", "function": {"name": "g", "arguments": '{"x": 1}'}},
    ]
    assert out == {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Rules."},
            {"role": "user", "content": "Go."},
            assistant,
            {"role": "tool", "tool_call_id": "c1", "content": "one"},
            {"role": "tool", "tool_call_id": "c2", "content": "two"},
            {"role": "system", "content": "Later rule."},
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "s", "schema": {}, "strict": True},
        },
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_images_stay_parts() -> None:
    content = [
        {"type": "input_text", "text": "What?"},
        {"type": "input_image", "image_url": "data:x"},
    ]
    out = chat_request({"model": "m", "input": [{"role": "user", "content": content}]})
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "What?"},
        {"type": "image_url", "image_url": {"url": "data:x"}},
    ]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"input": "x", "previous_response_id": "r"}, "previous_response_id"),
        ({"input": [{"type": "item_reference", "id": "x"}]}, "'item_reference' are not supported"),
        ({"input": [{"role": "user", "content": [{"type": "input_file"}]}]}, "'input_file'"),
        ({"input": [{"role": "tool", "content": "x"}]}, "role must be"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f"}]}, "arguments must be"),
        ({"input": "x", "instructions": ["x"]}, "'instructions' must be a string"),
        ({"input": "x", "text": {"format": {"type": "grammar"}}}, "text.format"),
    ],
)
def test_untranslatable(body: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestError, match=message.replace("(", r"\(")):
        chat_request(body)

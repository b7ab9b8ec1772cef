"""Every golden fixture through vLLM 0.32's own ``/v1/messages`` and ``/v1/responses`` serving.

vLLM serves the Anthropic Messages API with ``AnthropicServingMessages`` (a subclass of
``OpenAIServingChat``: it translates the request into a chat request, runs
``create_chat_completion`` and translates the chunks / the response) and the Responses API with
``OpenAIServingResponses`` (its own generators; the ``Parser`` comes from
``ParserManager.get_parser`` at construction, one instance per request, ``set_prompt_token_ids``
on it, then ``parse_delta`` / ``parse``). Both reach our ``MinimaxRsParser`` through the
``_compose_parser`` hook. These tests drive both classes for real with the stub engine of
``test_serving.py`` (M2 fixtures with the M2 tokenizer and template, M3 fixtures with the M3
tokenizer and template of ``test_m3.py``), streamed and not, and compare what a client receives
(Anthropic blocks accumulated by the ``anthropic`` SDK's own stream accumulator; Responses items)
with the fixture's expected message: reasoning, text, calls with typed arguments (compared as
JSON values), and the stop reason. vLLM's own translation choices are asserted as they are and
documented in ``docs/vllm.md``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from functools import cache
from typing import Any

import pytest
from test_m3 import M3_TEMPLATE, fixture_setups, m3_engine
from test_serving import CHAT_TEMPLATE, EOS, Script, replay_engine

import minimax_parser.vllm_plugin as vllm_plugin

from conftest import (
    ONLY_PARSER_API,
    PROMPT_IN_REASONING,
    UNRELATED_TOOL,
    Fixture,
    get_m3_tokenizer,
    get_tokenizer,
    load_fixtures,
    openai_tools,
)

pytestmark = ONLY_PARSER_API

FIXTURES = load_fixtures("m2") + load_fixtures("m3")
SYSTEM = "You are helpful."  # M2: the system turn of test_serving's prompt


def _unsupported(f: Fixture) -> str | None:
    if f.options.get("tool_calls_in_reasoning") == "ignore":
        return "tool_calls_in_reasoning='ignore' has no vLLM switch"
    return None


SERVED = [f for f in FIXTURES if _unsupported(f) is None]


def _finish(f: Fixture) -> str:
    """What the replayed engine reports: a cut-off response ran out of tokens."""
    cut = "truncation" in f.name or any(c["incomplete"] for c in f.expected["tool_calls"])
    return "length" if cut and f.input else "stop"


def _reasoning_parser(f: Fixture) -> str:
    return "minimax_rs_append_think" if f.options.get("reasoning") == "inline" else "minimax_rs"


def _template_kwargs(f: Fixture) -> dict[str, Any]:
    """The chat-template kwargs that give the fixture's start state."""
    if f.dialect == "m3":
        return dict(fixture_setups(f)[0].template_kwargs)
    return {} if f.options.get("start_in_reasoning", True) else {"reasoning_closed": True}


def _tools(f: Fixture) -> list[dict[str, Any]]:
    """The fixture's tools as flat ``{name, description, parameters}`` (none: an unrelated one)."""
    out = []
    for tool in openai_tools(f.tools) or [UNRELATED_TOOL]:
        fn = tool["function"]
        out.append(
            {
                "name": fn["name"],
                "description": fn.get("description") or "",
                "parameters": fn.get("parameters") or {"type": "object", "properties": {}},
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# The servers


def _engine(dialect: str) -> Any:
    return m3_engine() if dialect == "m3" else replay_engine()


def _flags(dialect: str, reasoning_parser: str) -> dict[str, Any]:
    return dict(
        chat_template=M3_TEMPLATE if dialect == "m3" else CHAT_TEMPLATE,
        chat_template_content_format="string",
        enable_auto_tools=True,
        tool_parser="minimax_rs",
        reasoning_parser=reasoning_parser,
    )


def _models_and_renderer(dialect: str, flags: dict[str, Any]) -> tuple[Any, Any]:
    models_mod = importlib.import_module("vllm.entrypoints.openai.models.serving")
    online = importlib.import_module("vllm.renderers.online_renderer")
    engine = _engine(dialect)
    model = engine.model_config.model
    models = models_mod.OpenAIServingModels(
        engine_client=engine,
        base_model_paths=[models_mod.BaseModelPath(name=model, model_path=model)],
    )
    renderer = online.OnlineRenderer(
        model_config=engine.model_config, renderer=engine.renderer, request_logger=None, **flags
    )
    return models, renderer


@cache
def anthropic_server(dialect: str, reasoning_parser: str) -> Any:
    vllm_plugin.register()
    serving_mod = importlib.import_module("vllm.entrypoints.anthropic.serving")
    flags = _flags(dialect, reasoning_parser)
    models, renderer = _models_and_renderer(dialect, flags)
    serving = serving_mod.AnthropicServingMessages(
        _engine(dialect),
        models,
        "assistant",
        online_renderer=renderer,
        request_logger=None,
        **flags,
    )
    assert serving.parser_cls.__name__ == "MinimaxRsParser"
    return serving


@cache
def responses_server(dialect: str, reasoning_parser: str) -> Any:
    vllm_plugin.register()
    serving_mod = importlib.import_module("vllm.entrypoints.openai.responses.serving")
    flags = _flags(dialect, reasoning_parser)
    models, renderer = _models_and_renderer(dialect, flags)
    serving = serving_mod.OpenAIServingResponses(
        _engine(dialect), models, renderer, request_logger=None, **flags
    )
    # The Responses server builds its Parser class once, through the same hook.
    assert serving.parser.__name__ == "MinimaxRsParser"
    return serving


def _script(f: Fixture, per_step: int) -> Script:
    tokenizer = get_m3_tokenizer() if f.dialect == "m3" else get_tokenizer()
    ids = tokenizer.encode(f.input, add_special_tokens=False)
    finish = _finish(f)
    if finish == "stop":
        ids.append(EOS)  # both tokenizers have the turn tokens at the same ids
    return Script([ids], [finish], per_step)


def _check_engine_input(f: Fixture, script: Script) -> None:
    """vLLM rendered the expected prompt and our ``adjust_request`` reached the engine."""
    if f.dialect == "m3":
        assert script.seen["prompt_token_ids"] == fixture_setups(f)[0].prompt_ids()
    else:
        closed = "</think>\n\n" if _template_kwargs(f) else ""
        want = get_tokenizer().encode(PROMPT_IN_REASONING + closed, add_special_tokens=False)
        assert script.seen["prompt_token_ids"] == want
    assert script.seen["sampling_params"].skip_special_tokens is False


def expected_calls(f: Fixture) -> list[dict[str, Any]]:
    return [
        {"name": c["name"], "arguments": json.loads(c["arguments"])}
        for c in f.expected["tool_calls"]
    ]


# ---------------------------------------------------------------------------------------------
# /v1/messages


def _anthropic_request(f: Fixture, stream: bool) -> Any:
    protocol = importlib.import_module("vllm.entrypoints.anthropic.protocol")
    body: dict[str, Any] = {
        "model": _engine(f.dialect).model_config.model,
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": [
            {"name": t["name"], "description": t["description"], "input_schema": t["parameters"]}
            for t in _tools(f)
        ],
        "stream": stream,
    }
    if f.dialect == "m2":
        body["system"] = SYSTEM
    if kwargs := _template_kwargs(f):
        body["chat_template_kwargs"] = kwargs
    return protocol.AnthropicMessagesRequest(**body)


def run_messages(f: Fixture, stream: bool, per_step: int = 1) -> dict[str, Any]:
    """The Anthropic message a client ends up with: the non-streaming JSON, or the ``anthropic``
    SDK's accumulation of the SSE events."""
    serving = anthropic_server(f.dialect, _reasoning_parser(f))
    script = _script(f, per_step)
    _engine(f.dialect).script = script
    request = _anthropic_request(f, stream)

    async def go() -> Any:
        result = await serving.create_messages(request)
        if not stream:
            return result
        return [event async for event in result]

    result = asyncio.run(go())
    _check_engine_input(f, script)
    # The chat layer asked our parser whether the prompt closed reasoning.
    assert script.seen["reasoning_ended"] is reasoning_ended(f)
    if not stream:
        assert not hasattr(result, "error"), result
        message: dict[str, Any] = json.loads(result.model_dump_json(exclude_none=True))
        return message
    accumulate = importlib.import_module("anthropic.lib.streaming._messages").accumulate_event
    snapshot: Any = None
    json_bufs: dict[int, bytes] = {}
    names = []
    for raw in result:
        head, data, blank = raw.split("\n", 2)
        assert head.startswith("event: ") and data.startswith("data: ") and blank == "\n", raw
        event = json.loads(data[len("data: ") :])
        assert event["type"] == head[len("event: ") :], raw
        assert event["type"] != "error", event
        names.append(event["type"])
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "input_json_delta":
            # every fragment extends a JSON prefix of the call's arguments
            assert event["delta"]["partial_json"]
        snapshot = accumulate(event=event, current_snapshot=snapshot, json_bufs=json_bufs)
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop")
    accumulated: dict[str, Any] = json.loads(snapshot.model_dump_json(exclude_none=True))
    return accumulated


def reasoning_ended(f: Fixture) -> bool:
    """What ``is_reasoning_end(prompt)`` answers for the fixture's prompt (M3 adaptive: False,
    reasoning may still open)."""
    if f.dialect == "m3":
        return fixture_setups(f)[0].reasoning_ended
    return not f.options.get("start_in_reasoning", True)


def blocks_as_message(message: dict[str, Any], streamed: bool) -> dict[str, Any]:
    """The Anthropic blocks folded into the fixture's shape, checking each block."""
    kinds = [b["type"] for b in message["content"]]
    thinking = [b for b in message["content"] if b["type"] == "thinking"]
    texts = [b for b in message["content"] if b["type"] == "text"]
    tool_uses = [b for b in message["content"] if b["type"] == "tool_use"]
    assert len(kinds) == len(thinking) + len(texts) + len(tool_uses), kinds
    for b in thinking:
        assert isinstance(b["signature"], str) and b["signature"], b
    for b in tool_uses:
        assert b["id"].startswith("chatcmpl-tool-") and isinstance(b["input"], dict), b
    if not streamed:
        # vLLM's non-streaming order: one thinking block, one text block, then the calls.
        assert kinds == sorted(kinds, key=["thinking", "text", "tool_use"].index), kinds
        assert len(thinking) <= 1 and len(texts) <= 1, kinds
    text = "".join(b["text"] for b in texts)
    return {
        "reasoning": "".join(b["thinking"] for b in thinking) or None,
        "content": text or None,
        "tool_calls": [{"name": b["name"], "arguments": b["input"]} for b in tool_uses],
    }


def want_message(f: Fixture) -> dict[str, Any]:
    return {
        "reasoning": f.expected["reasoning"],
        "content": f.expected["content"],
        "tool_calls": expected_calls(f),
    }


def anthropic_stop_reason(f: Fixture) -> str:
    """Our proxy's rule: ``max_tokens`` for a cut-off response (calls or not), else
    ``tool_use`` when calls were made, else ``end_turn``. vLLM's streaming path follows it; its
    non-streaming chat layer reports ``finish_reason="tool_calls"`` for a cut-off response with
    calls (mapped to ``tool_use``), which the plugin's hook sets back to ``length``."""
    if _finish(f) == "length":
        return "max_tokens"
    return "tool_use" if f.expected["tool_calls"] else "end_turn"


@pytest.mark.parametrize("mode", ["stream", "full"])
@pytest.mark.parametrize("f", SERVED, ids=[f.name for f in SERVED])
def test_messages(f: Fixture, mode: str) -> None:
    streamed = mode == "stream"
    message = run_messages(f, streamed, per_step=1 if f.dialect == "m2" else 3)
    assert message["type"] == "message" and message["role"] == "assistant"
    assert blocks_as_message(message, streamed) == want_message(f)
    assert message["stop_reason"] == anthropic_stop_reason(f)
    assert message["usage"]["output_tokens"] == len(_script(f, 1).token_ids[0])


# ---------------------------------------------------------------------------------------------
# /v1/responses


def _responses_request(f: Fixture, stream: bool) -> Any:
    protocol = importlib.import_module("vllm.entrypoints.openai.responses.protocol")
    body: dict[str, Any] = {
        "model": _engine(f.dialect).model_config.model,
        "input": "Hi",
        "tools": [{"type": "function", **t} for t in _tools(f)],
        "tool_choice": "auto",
        "stream": stream,
        "store": False,
    }
    if f.dialect == "m2":
        body["instructions"] = SYSTEM
    if kwargs := _template_kwargs(f):
        body["chat_template_kwargs"] = kwargs
    return protocol.ResponsesRequest(**body)


def run_responses(f: Fixture, stream: bool, per_step: int = 1) -> dict[str, Any]:
    """The Responses object a client ends up with; streaming, the ``response.completed`` event's,
    checked against the items the stream announced and their deltas."""
    serving = responses_server(f.dialect, _reasoning_parser(f))
    script = _script(f, per_step)
    _engine(f.dialect).script = script
    request = _responses_request(f, stream)

    async def go() -> Any:
        result = await serving.create_responses(request)
        if not stream:
            return result
        return [json.loads(event.model_dump_json()) async for event in result]

    result = asyncio.run(go())
    _check_engine_input(f, script)
    if not stream:
        response: dict[str, Any] = json.loads(result.model_dump_json())
        assert response.get("object") == "response", response
        return response
    events: list[dict[str, Any]] = result
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"], kinds
    # vLLM ends every stream with response.completed, whatever the response's status.
    assert kinds[-1] == "response.completed" and "error" not in kinds, kinds
    added = [e for e in events if e["type"] == "response.output_item.added"]
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert [e["output_index"] for e in added] == list(range(len(added)))
    assert len(done) == len(added)
    final = events[-1]["response"]
    assert [_strip(i) for i in final["output"]] == [_strip(i) for i in done]
    # The deltas add up to each finished item.
    for index, item in enumerate(done):
        deltas = [e for e in events if e.get("output_index") == index and "delta" in e]
        joined = "".join(e["delta"] for e in deltas)
        if item["type"] == "function_call":
            assert joined == item["arguments"], item
        elif item["type"] == "message":
            assert joined == "".join(c["text"] for c in item["content"]), item
        elif item["type"] == "reasoning":
            assert joined == "".join(c["text"] for c in item["content"]), item
    return dict(final)


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("id", "status")}


def items_as_message(response: dict[str, Any]) -> dict[str, Any]:
    reasoning, content, calls = "", "", []
    for item in response["output"]:
        if item["type"] == "reasoning":
            reasoning += "".join(c["text"] for c in item["content"])
        elif item["type"] == "message":
            assert item["role"] == "assistant"
            assert {c["type"] for c in item["content"]} <= {"output_text"}
            content += "".join(c["text"] for c in item["content"])
        else:
            assert item["type"] == "function_call", item
            assert item["call_id"].startswith("chatcmpl-tool-"), item
            calls.append({"name": item["name"], "arguments": json.loads(item["arguments"])})
    return {"reasoning": reasoning or None, "content": content or None, "tool_calls": calls}


@pytest.mark.parametrize("mode", ["stream", "full"])
@pytest.mark.parametrize("f", SERVED, ids=[f.name for f in SERVED])
def test_responses(f: Fixture, mode: str) -> None:
    response = run_responses(f, mode == "stream", per_step=1 if f.dialect == "m2" else 3)
    assert items_as_message(response) == want_message(f)
    assert response["status"] == ("incomplete" if _finish(f) == "length" else "completed")
    assert response["usage"]["output_tokens"] == len(_script(f, 1).token_ids[0])


# ---------------------------------------------------------------------------------------------
# The Responses stream's split of a delta that finishes a call and goes on with text


def test_split_puts_a_running_calls_fragment_first() -> None:
    """One engine step holds the end of a call and the text after it (``}`` then ``after``).
    vLLM's ``split_delta`` orders reasoning, content, tool calls; the plugin moves the fragment
    of the call still open in front, so the call's item is finished before the message opens."""
    vllm_plugin.register()
    events = importlib.import_module("vllm.entrypoints.openai.responses.streaming_events")
    serving = importlib.import_module("vllm.entrypoints.openai.responses.serving")
    protocol = importlib.import_module("vllm.entrypoints.generate.base.protocol")
    fragment = protocol.DeltaToolCall(index=0, function=protocol.DeltaFunctionCall(arguments="}"))
    delta = protocol.DeltaMessage(content="after", tool_calls=[fragment])
    assert serving.split_delta is events.split_delta
    parts = serving.split_delta(delta)
    assert [(p.content, p.tool_calls) for p in parts] == [(None, [fragment]), ("after", [])]
    # A new call (it has a name) keeps vLLM's order: the text came before it.
    start = protocol.DeltaToolCall(
        index=1, id="x", type="function", function=protocol.DeltaFunctionCall(name="f")
    )
    delta = protocol.DeltaMessage(content="text", tool_calls=[start])
    assert [p.content for p in serving.split_delta(delta)] == ["text", None]


def test_responses_stream_with_a_call_ending_mid_step() -> None:
    """The M3 fixtures whose call ends in the same step as the text after it, streamed in
    steps of 1 to 4 tokens (without the hook vLLM's stream failed at 3 tokens per step)."""
    names = {
        "m3_closing/missing_close_invoke_block_end",
        "m3_closing/element_named_invoke_closed_by_block_end",
    }
    chosen = [f for f in SERVED if f.name in names]
    assert len(chosen) == len(names)
    for f in chosen:
        for per_step in (1, 2, 3, 4):
            response = run_responses(f, True, per_step)
            assert items_as_message(response) == want_message(f), per_step
            kinds = [item["type"] for item in response["output"]]
            assert kinds.index("function_call") < kinds.index("message"), kinds

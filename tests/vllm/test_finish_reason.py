"""``finish_reason`` of a response the engine cut off (``length``) inside or after a tool call.

vLLM 0.32's non-streaming chat layer (``chat_completion_full_generator``) reports
``"tool_calls"`` whenever auto tool choice parsed calls, whatever the engine's reason; its
streaming path turns only ``"stop"`` into ``"tool_calls"``. ``register()`` wraps the
non-streaming method so that, for requests served with our tool parser, a choice the engine cut
off says ``"length"`` there too, and ``/v1/messages`` (``AnthropicServingMessages``, a subclass)
says ``max_tokens``. vLLM's own parsers keep vLLM's behaviour. The stub engine of
``test_serving.py`` replays the token ids through vLLM's ``OutputProcessor``, with M3 output and
the M3 tokenizer and template of ``test_m3.py``; the golden fixtures of both dialects are run by
``test_serving.py``, ``test_m3.py`` and ``test_protocols.py``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from typing import Any

import pytest
from test_m3 import (
    PARIS_3,
    SETUPS,
    TOOLS,
    WEATHER,
    as_message,
    m3_engine,
    message,
    same,
    serve_full,
    serve_stream,
)
from test_protocols import anthropic_server
from test_serving import EOS, Script

import minimax_parser.vllm_plugin as vllm_plugin

from conftest import ONLY_PARSER_API, N, get_m3_tokenizer

pytestmark = ONLY_PARSER_API

SETUP = SETUPS["adaptive"]
CUT_INSIDE = f'Checking.{N}<tool_call>\n{N}<invoke name="get_weather">{N}<location>Par'
COMPLETE_THEN_CUT = "Checking." + WEATHER + " Then I will also"
COMPLETE = "Checking." + WEATHER

# (raw output, what the engine reports, the expected message, the finish_reason a client gets)
CASES = {
    "cut-inside-a-call": (
        CUT_INSIDE,
        "length",
        message(None, "Checking.", ("get_weather", {"location": "Par"})),
        "length",
    ),
    "complete-call-then-cut": (
        COMPLETE_THEN_CUT,
        "length",
        message(None, "Checking. Then I will also", PARIS_3),
        "length",
    ),
    "complete-call-stopped": (COMPLETE, "stop", message(None, "Checking.", PARIS_3), "tool_calls"),
    "cut-without-calls": ("Checking the", "length", message(None, "Checking the"), "length"),
}


@pytest.mark.parametrize("case", CASES)
def test_chat_completions(case: str) -> None:
    """Streamed and not, the same message and the same finish_reason."""
    text, engine_finish, want, finish_reason = CASES[case]
    (full,), _ = serve_full(SETUP, [text], [engine_finish])
    assert same(as_message(full), want), full
    assert full.finish_reason == finish_reason
    for per_step in (1, 4):
        (streamed,), _, _ = serve_stream(SETUP, [text], [engine_finish], per_step=per_step)
        assert same(as_message(streamed), want), streamed
        assert streamed.finish_reason == finish_reason


def test_each_choice_keeps_its_own_reason() -> None:
    """``n=2``: the engine's reason is looked up per choice index."""
    texts = [COMPLETE_THEN_CUT, COMPLETE, CUT_INSIDE]
    replies, _ = serve_full(SETUP, texts, ["length", "stop", "length"])
    assert [r.finish_reason for r in replies] == ["length", "tool_calls", "length"]
    assert all(r.tool_calls for r in replies)
    replies, _ = serve_full(SETUP, texts[1::-1], ["stop", "length"])
    assert [r.finish_reason for r in replies] == ["tool_calls", "length"]


@pytest.mark.parametrize(
    ("names", "fixed"),
    [
        (("minimax_rs", "minimax_rs"), True),
        (("minimax_m3", "minimax_rs"), True),  # our tool parser after vLLM's reasoning parser
        (("minimax_rs", "minimax_m3"), False),  # vLLM's tool parser: vLLM's behaviour
        (("minimax_m3", "minimax_m3"), False),
    ],
)
def test_only_our_tool_parser(names: tuple[str, str], fixed: bool) -> None:
    (got,), _ = serve_full(SETUP, [COMPLETE_THEN_CUT], ["length"], names=names)
    assert [c["name"] for c in got.tool_calls] == ["get_weather"], got
    assert got.finish_reason == ("length" if fixed else "tool_calls")


def test_hook_is_installed_once() -> None:
    vllm_plugin.register()
    vllm_plugin.register()
    chat = importlib.import_module("vllm.entrypoints.openai.chat_completion.serving")
    anthropic = importlib.import_module("vllm.entrypoints.anthropic.serving")
    method = chat.OpenAIServingChat.__dict__["chat_completion_full_generator"]
    assert getattr(method, "__minimax_rs_hook__", False)
    assert not getattr(method.__wrapped__, "__minimax_rs_hook__", False)
    # /v1/messages goes through the same method.
    assert "chat_completion_full_generator" not in anthropic.AnthropicServingMessages.__dict__


# ---------------------------------------------------------------------------------------------
# /v1/messages


def _messages(text: str, engine_finish: str, stream: bool) -> tuple[str, list[str]]:
    """The Anthropic ``stop_reason`` and block types a client gets (non-streamed: the response;
    streamed: the ``message_delta`` event and the ``content_block_start`` events)."""
    serving = anthropic_server("m3", "minimax_rs")
    ids = get_m3_tokenizer().encode(text, add_special_tokens=False)
    if engine_finish == "stop":
        ids.append(EOS)
    m3_engine().script = Script([ids], [engine_finish], 3)
    protocol = importlib.import_module("vllm.entrypoints.anthropic.protocol")
    tool: dict[str, Any] = dict(TOOLS[0])
    fn = tool["function"]
    request = protocol.AnthropicMessagesRequest(
        model=m3_engine().model_config.model,
        max_tokens=4096,
        messages=[{"role": "user", "content": "Hi"}],
        tools=[{"name": fn["name"], "description": "", "input_schema": fn["parameters"]}],
        stream=stream,
        chat_template_kwargs=dict(SETUP.template_kwargs),
    )

    async def go() -> Any:
        result = await serving.create_messages(request)
        if not stream:
            return result
        return [event async for event in result]

    result = asyncio.run(go())
    if not stream:
        assert not hasattr(result, "error"), result
        return result.stop_reason, [b.type for b in result.content]
    events = [json.loads(raw.split("\n", 2)[1][len("data: ") :]) for raw in result]
    (delta,) = [e for e in events if e["type"] == "message_delta"]
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    return delta["delta"]["stop_reason"], starts


@pytest.mark.parametrize("stream", [False, True], ids=["full", "stream"])
@pytest.mark.parametrize("case", CASES)
def test_messages_stop_reason(case: str, stream: bool) -> None:
    text, engine_finish, want, _ = CASES[case]
    stop_reason, blocks = _messages(text, engine_finish, stream)
    assert blocks.count("tool_use") == len(want["tool_calls"])
    if engine_finish == "length":
        assert stop_reason == "max_tokens"
    else:
        assert stop_reason == ("tool_use" if want["tool_calls"] else "end_turn")

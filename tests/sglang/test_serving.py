"""Every golden fixture, both dialects, through SGLang 0.5.23's chat-completions serving layer.

``OpenAIServingChat.handle_request`` runs for real: SGLang's ``ServerArgs`` from its own argument
parser (``--tool-call-parser minimax-rs --reasoning-parser minimax-rs``, or
``minimax-rs-append-think`` for ``reasoning="inline"`` fixtures), published as its HTTP server
publishes them; its ``TemplateManager`` loading the chat template; the request conversion
(template rendering, sampling parameters); the stream generator with its ``ReasoningParser`` and
``FunctionCallParser`` per choice; the non-streaming response builder. Only the model is
stubbed: :class:`ReplayTokenizerManager` answers ``generate_request`` by replaying the fixture's
token ids as SGLang's tokenizer manager hands the detokenizer's output to the serving layer
(cumulative ``text`` and ``output_ids``, ``meta_info`` with the finish reason), 1 or 4 tokens per
step, with the EOS token on the last step of a response that stops.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import minimax_parser.conformance as conformance
from minimax_parser.conformance import Fixture

FIXTURES = conformance.load_fixtures()
EOS = 200020  # [e~[, the turn end, at its id in the MiniMax vocabulary
MODEL = {"m2": "MiniMaxAI/MiniMax-M2.1", "m3": "MiniMaxAI/MiniMax-M3"}
# What SGLang reads from the model's config.json (the M3 checkpoint's model type turns on its
# request normalisation: thinking -> thinking_mode).
HF_CONFIG = {
    "m2": {"architectures": ["MiniMaxM2ForCausalLM"], "model_type": "minimax_m2"},
    "m3": {"architectures": ["MiniMaxM3VLForConditionalGeneration"], "model_type": "minimax_m3_vl"},
}
MESSAGES = [
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Hi"},
]
# The MiniMax-M2 template's shape: the generation prompt ends inside reasoning (``<think>\n``).
M2_TEMPLATE = (
    "]~!b[{% for m in messages %}]~b]{{ 'ai' if m['role'] == 'assistant' else m['role'] }}\n"
    "{{ m['content'] }}[e~[\n{% endfor %}]~b]ai\n<think>{{ '\\n' }}"
)
# MiniMax-M3's shape: a system block whose thinking instructions quote the reasoning tags, and a
# generation prompt that depends on ``thinking_mode`` (``<mm:think>`` when "enabled").
M3_TEMPLATE = (
    "]~!b[]~b]system\nYou are a helpful assistant.\n\n<thinking_instructions>\nThink inside "
    "<mm:think></mm:think> before answering when it helps.\nCurrent thinking mode: "
    "{{ thinking_mode | default('adaptive') }}.\n</thinking_instructions>[e~[\n"
    "{% for m in messages %}{% if m['role'] != 'system' %}]~b]"
    "{{ 'ai' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] }}[e~[\n"
    "{% endif %}{% endfor %}]~b]ai\n"
    "{% if thinking_mode == 'enabled' %}<mm:think>{% elif thinking_mode == 'disabled' %}"
    "</mm:think>{% endif %}"
)
UNRELATED_TOOL = {"type": "function", "function": {"name": "zz_unrelated", "parameters": {}}}
# Tool and reasoning parsers; set MINIMAX_PARSER_SGLANG_BUILTIN=1 to run the harness with
# SGLang's own MiniMax parsers instead (a development aid: they fail many fixtures).
BUILTIN = os.environ.get("MINIMAX_PARSER_SGLANG_BUILTIN") == "1"


def _start_in_reasoning(f: Fixture) -> bool:
    start = f.options.get("start_in_reasoning")
    return f.dialect == "m2" if start is None else bool(start)


def _parsers(f: Fixture) -> tuple[str, str]:
    inline = f.options.get("reasoning") == "inline"
    if BUILTIN:
        if f.dialect == "m3":
            return "minimax-m3", "minimax-m3"
        return "minimax-m2", "minimax-append-think" if inline else "minimax"
    return "minimax-rs", "minimax-rs-append-think" if inline else "minimax-rs"


def _unsupported(f: Fixture) -> str | None:
    if f.options.get("tool_calls_in_reasoning") == "ignore":
        return "tool_calls_in_reasoning='ignore' has no SGLang switch"
    return None


# SGLang runs its reasoning parser and its tool-call parser one after the other, and the reasoning
# parser takes only the first reasoning segment: a think block after it reaches the client as
# content, tags included, and so does one opened by a response that starts in content. These
# fixtures expect such a block as reasoning; through SGLang only their tool calls are checked.
LATER_THINK_BLOCK = {
    "channels/redundant_think_in_later_segment",
    "channels/segments_concatenated_without_separator",
    "channels/several_think_blocks",
    "channels/start_in_reasoning_false_text_before_think",
    "channels/start_in_reasoning_false_think_block",
    "channels/think_after_tool_call",
    "channels/tool_call_in_second_reasoning_segment",
    "channels/unclosed_second_think_block",
    "m3_calls/think_between_blocks",
    "m3_channels/several_think_blocks",
    "m3_channels/think_after_block",
    "m3_channels/unclosed_think_block_from_content",
    "m3_channels/vector16_mm_think_in_content_opens_reasoning",
    "tool_calls/think_after_tool_call_unclosed",
    "tool_calls/think_block_after_tool_call_then_second_call",
}


def _finish_reason(f: Fixture) -> str:
    """What the replayed engine reports: a cut-off response ran out of tokens."""
    cut = f.name.startswith(("truncation/", "m3_truncation/")) or any(
        c["incomplete"] for c in f.expected["tool_calls"]
    )
    return "length" if cut and f.input else "stop"


# ---------------------------------------------------------------------------------------------
# Tokenizers: the conformance command's, with a chat template


@cache
def tokenizer(dialect: str) -> Any:
    texts = [f.input for f in FIXTURES if f.dialect == dialect]
    if dialect == "m3":
        texts += [M3_TEMPLATE, "]~b]user\nHi[e~[\n]~b]ai\n<mm:think>"]
    tok = conformance.build_tokenizer(texts, dialect)
    tok.chat_template = M2_TEMPLATE if dialect == "m2" else M3_TEMPLATE
    return tok


def token_ids(f: Fixture) -> list[int]:
    ids: list[int] = tokenizer(f.dialect).encode(f.input, add_special_tokens=False)
    return ids


# ---------------------------------------------------------------------------------------------
# The serving object, with the model replaced by a replay of token ids


@dataclass
class Script:
    """What ``generate_request`` replays next, and what it saw."""

    token_ids: list[int]
    finish: str
    per_step: int
    seen: dict[str, Any] = field(default_factory=dict)


class ReplayTokenizerManager:
    """The ``TokenizerManager`` surface ``OpenAIServingChat`` uses.

    ``generate_request`` replays a script as SGLang's tokenizer manager yields the detokenizer's
    output in its default (non-incremental) streaming mode: each item carries the whole text and
    ids so far and ``meta_info`` (``id``, ``finish_reason`` as the scheduler's finish reasons
    serialise, token counts); a non-streaming request gets only the final item. The text is the
    detokenizer's: decoded with the request's ``skip_special_tokens``, an incomplete UTF-8
    character held back until it completes, the matched EOS token trimmed.
    """

    def __init__(self, tok: Any, server_args: Any, hf_config: dict[str, Any]) -> None:
        self.tokenizer = tok
        self.server_args = server_args
        self.model_path = server_args.model_path
        self.served_model_name = server_args.served_model_name
        self.model_config = SimpleNamespace(
            hf_config=SimpleNamespace(**hf_config),
            is_multimodal=False,
            get_default_sampling_params=dict,
        )
        self.request_logger = SimpleNamespace(log_requests=False, log_requests_level=0)
        self.processor = None  # a text-only model
        self.script: Script | None = None

    def config_value(self, name: str) -> Any:
        context = importlib.import_module("sglang.srt.runtime_context")
        return context.get_context().config_leaf(name)

    def create_abort_task(self, obj: Any) -> None:
        return None

    async def generate_request(self, obj: Any, request: Any = None) -> AsyncIterator[Any]:
        script, self.script = self.script, None
        assert script is not None, "one script per request"
        sampling = dict(obj.sampling_params or {})
        script.seen.update(input_ids=list(obj.input_ids), sampling_params=sampling)
        skip = sampling.get("skip_special_tokens", True)
        ids = list(script.token_ids) + ([EOS] if script.finish == "stop" else [])
        steps = [ids[i : i + script.per_step] for i in range(0, len(ids), script.per_step)]
        out: list[int] = []
        for k, step in enumerate(steps or [[]]):
            out = out + step
            last = k >= len(steps) - 1
            visible = out[:-1] if last and script.finish == "stop" else out
            text = self.tokenizer.decode(visible, skip_special_tokens=skip)
            if not last and text.endswith("\ufffd"):
                continue
            finish = None
            if last:
                finish = (
                    {"type": "stop", "matched": EOS}
                    if script.finish == "stop"
                    else {"type": "length", "length": len(out)}
                )
            item = {
                "text": text,
                "output_ids": list(out),
                "meta_info": {
                    "id": "replay",
                    "finish_reason": finish,
                    "prompt_tokens": len(obj.input_ids),
                    "completion_tokens": len(out),
                    "reasoning_tokens": 0,
                    "cached_tokens": 0,
                    "weight_version": "default",
                    "num_retractions": 0,
                },
            }
            if obj.stream or last:
                yield item
            await asyncio.sleep(0)


@dataclass
class Server:
    serving: Any
    manager: ReplayTokenizerManager


def _model_dir(dialect: str) -> Path:
    """A model folder holding only ``config.json``: what SGLang's server arguments read."""
    path = Path(tempfile.mkdtemp(prefix=f"minimax-parser-sglang-{dialect}-"))
    config = {
        **HF_CONFIG[dialect],
        "hidden_size": 64,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "num_hidden_layers": 1,
        "intermediate_size": 64,
        "vocab_size": EOS + 64,
        "max_position_embeddings": 1 << 16,
    }
    (path / "config.json").write_text(json.dumps(config), "utf-8")
    return path


@cache
def server(dialect: str, tool_parser: str, reasoning_parser: str) -> Server:
    """One ``OpenAIServingChat`` per dialect and parser pair, for the whole module: the server
    arguments from SGLang's own parser, published as its HTTP server publishes them."""
    if not BUILTIN:
        importlib.import_module("minimax_parser.sglang").register()
    server_args_mod = importlib.import_module("sglang.srt.server_args")
    context = importlib.import_module("sglang.srt.runtime_context")
    templates = importlib.import_module("sglang.srt.parser.template_manager")
    serving_chat = importlib.import_module("sglang.srt.entrypoints.openai.serving_chat")

    ap = argparse.ArgumentParser()
    server_args_mod.ServerArgs.add_cli_args(ap)
    argv = [
        "--model-path",
        str(_model_dir(dialect)),
        "--served-model-name",
        MODEL[dialect],
        "--skip-tokenizer-init",
        "--device",
        "cpu",
        "--tool-call-parser",
        tool_parser,
        "--reasoning-parser",
        reasoning_parser,
    ]
    server_args = server_args_mod.ServerArgs.from_cli_args(ap.parse_args(argv))
    context.publish(server_args, role="tokenizer")
    manager = ReplayTokenizerManager(tokenizer(dialect), server_args, HF_CONFIG[dialect])
    template_manager = templates.TemplateManager()
    template_manager.load_chat_template(manager, None, server_args.model_path)
    serving = serving_chat.OpenAIServingChat(manager, template_manager)
    return Server(serving, manager)


def _server(f: Fixture) -> Server:
    srv = server(f.dialect, *_parsers(f))
    # The process-wide config is the last one published; put this server's back.
    importlib.import_module("sglang.srt.runtime_context").publish(
        srv.manager.server_args, role="tokenizer"
    )
    return srv


# ---------------------------------------------------------------------------------------------
# Running one fixture


@dataclass
class Reply:
    """What the client received, merged."""

    reasoning: str | None
    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str


def _request(f: Fixture, stream: bool, **extra: Any) -> Any:
    protocol = importlib.import_module("sglang.srt.entrypoints.openai.protocol")
    messages = list(MESSAGES)
    body: dict[str, Any] = {
        "model": MODEL[f.dialect],
        # Without tools SGLang strips special tokens (M2's markers); an unrelated tool gives no
        # schema for any call, as a fixture without tools means.
        "tools": [
            t if "function" in t else {"type": "function", "function": t} for t in f.tools or []
        ]
        or [UNRELATED_TOOL],
        "tool_choice": "auto",
        "stream": stream,
    }
    start = _start_in_reasoning(f)
    if f.dialect == "m3":
        body["chat_template_kwargs"] = {"thinking_mode": "enabled" if start else "adaptive"}
    elif not start:
        # The M2 template always opens reasoning; a response after closed reasoning continues
        # an assistant message that closed it.
        messages.append({"role": "assistant", "content": "</think>\n\n"})
        body["continue_final_message"] = True
    body["messages"] = messages
    body.update(extra)
    return protocol.ChatCompletionRequest(**body)


def _prompt(f: Fixture) -> str:
    if f.dialect == "m2":
        closed = "" if _start_in_reasoning(f) else "</think>\n\n"
        return "]~!b[]~b]system\nYou are helpful.[e~[\n]~b]user\nHi[e~[\n]~b]ai\n<think>\n" + closed
    mode = "enabled" if _start_in_reasoning(f) else "adaptive"
    template = importlib.import_module("jinja2").Template(M3_TEMPLATE)
    rendered: str = template.render(messages=MESSAGES, thinking_mode=mode)
    return rendered


def _check_engine_input(f: Fixture, script: Script) -> None:
    tok = tokenizer(f.dialect)
    assert tok.decode(script.seen["input_ids"]) == _prompt(f)
    # Tools are declared, so SGLang keeps the special tokens (M2's markers) in the text.
    assert script.seen["sampling_params"]["skip_special_tokens"] is False


def _run(f: Fixture, stream: bool, per_step: int, **extra: Any) -> tuple[Any, Script]:
    srv = _server(f)
    script = Script(token_ids(f), _finish_reason(f), per_step)
    srv.manager.script = script
    request = _request(f, stream, **extra)

    async def go() -> Any:
        response = await srv.serving.handle_request(request, None)
        if not stream:
            return response
        assert hasattr(response, "body_iterator"), f"error response: {response.body!r}"
        return [line async for line in response.body_iterator]

    result = asyncio.run(go())
    _check_engine_input(f, script)
    return result, script


def run_stream(f: Fixture, per_step: int, **extra: Any) -> tuple[Reply, list[dict[str, Any]]]:
    lines, _ = _run(f, True, per_step, **extra)
    for line in lines:
        assert line.startswith("data: ") and line.endswith("\n\n"), line
    assert lines[-1] == "data: [DONE]\n\n"
    chunks = [json.loads(line[len("data: ") :]) for line in lines[:-1]]
    return merge_chunks(chunks), chunks


def merge_chunks(chunks: list[dict[str, Any]]) -> Reply:
    """Merges SSE chunks as an OpenAI client does, checking the streaming contract."""
    choices = []
    for c in chunks:
        assert "error" not in c, c
        assert c["object"] == "chat.completion.chunk"
        assert c["id"] == chunks[0]["id"]
        if c["choices"]:
            (choice,) = c["choices"]
            assert choice["index"] == 0
            choices.append(choice)
    assert choices[0]["delta"].get("role") == "assistant"
    finishes = [c.get("finish_reason") for c in choices]
    assert finishes[-1] is not None and all(r is None for r in finishes[:-1]), finishes
    reasoning, content = "", ""
    calls: dict[int, dict[str, Any]] = {}
    for choice in choices:
        delta = choice["delta"]
        reasoning += delta.get("reasoning_content") or ""
        content += delta.get("content") or ""
        for tc in delta.get("tool_calls") or []:
            fn = tc.get("function") or {}
            if tc["index"] not in calls:
                assert tc["index"] == len(calls), "calls are announced in index order"
                assert tc.get("id") and fn.get("name"), tc
                calls[tc["index"]] = {"id": tc["id"], "name": fn["name"], "arguments": ""}
            else:
                # OpenAI clients concatenate repeated names/ids: they must come only once.
                assert not tc.get("id") and not fn.get("name"), tc
            calls[tc["index"]]["arguments"] += fn.get("arguments") or ""
    ids = [c["id"] for c in calls.values()]
    assert len(set(ids)) == len(ids)
    return Reply(
        reasoning or None, content or None, [calls[i] for i in sorted(calls)], finishes[-1]
    )


def run_full(f: Fixture, **extra: Any) -> Reply:
    response, _ = _run(f, False, 4, **extra)
    data = json.loads(response.model_dump_json())
    assert data.get("object") == "chat.completion", data
    (choice,) = data["choices"]
    message = choice["message"]
    assert message["role"] == "assistant"
    calls = []
    for tc in message.get("tool_calls") or []:
        assert tc["id"] and tc["type"] == "function", tc
        fn = tc["function"]
        calls.append({"id": tc["id"], "name": fn["name"], "arguments": fn["arguments"]})
    return Reply(
        message.get("reasoning_content") or None,
        message.get("content") or None,
        calls,
        choice["finish_reason"],
    )


def _message(got: Reply) -> dict[str, Any]:
    return {
        "reasoning": got.reasoning,
        "content": got.content,
        "tool_calls": [{"name": c["name"], "arguments": c["arguments"]} for c in got.tool_calls],
    }


def expected(f: Fixture) -> dict[str, Any]:
    e = f.expected
    return {
        "reasoning": e["reasoning"],
        "content": e["content"],
        "tool_calls": [{"name": c["name"], "arguments": c["arguments"]} for c in e["tool_calls"]],
    }


def check_reply(f: Fixture, got: Reply) -> None:
    for call in got.tool_calls:
        json.loads(call["arguments"])
    if f.name in LATER_THINK_BLOCK and not BUILTIN:
        message, want = _message(got), expected(f)
        assert message["tool_calls"] == want["tool_calls"]
        # Still a difference: when it goes, the fixture leaves LATER_THINK_BLOCK.
        assert message != want
    else:
        assert _message(got) == expected(f)
    # SGLang: "tool_calls" when calls were made and the engine stopped.
    finish = _finish_reason(f)
    complete = not any(c["incomplete"] for c in f.expected["tool_calls"])
    if f.expected["tool_calls"] and finish == "stop" and complete:
        assert got.finish_reason == "tool_calls"
    else:
        assert got.finish_reason == finish


# ---------------------------------------------------------------------------------------------
# Tests

SUPPORTED = [f for f in FIXTURES if _unsupported(f) is None]
IDS = [f.name for f in SUPPORTED]


@pytest.mark.parametrize("f", SUPPORTED, ids=IDS)
def test_stream_one_token_per_step(f: Fixture) -> None:
    got, _ = run_stream(f, 1)
    check_reply(f, got)


@pytest.mark.parametrize("f", SUPPORTED, ids=IDS)
def test_stream_four_tokens_per_step(f: Fixture) -> None:
    got, _ = run_stream(f, 4)
    check_reply(f, got)


@pytest.mark.parametrize("f", SUPPORTED, ids=IDS)
def test_non_streaming(f: Fixture) -> None:
    check_reply(f, run_full(f))


def _lines(chunks: list[dict[str, Any]], key: str) -> Iterator[str]:
    for c in chunks:
        for choice in c["choices"]:
            if choice["delta"].get(key):
                yield choice["delta"][key]


@pytest.mark.parametrize("f", SUPPORTED, ids=IDS)
def test_stream_reasoning_false(f: Fixture) -> None:
    """``stream_reasoning=False``: the same message, the reasoning in one piece."""
    got, chunks = run_stream(f, 1, stream_reasoning=False)
    check_reply(f, got)
    assert len(list(_lines(chunks, "reasoning_content"))) == (1 if got.reasoning else 0)


@pytest.mark.parametrize("f", SUPPORTED, ids=IDS)
def test_separate_reasoning_false(f: Fixture) -> None:
    """``separate_reasoning=False``: SGLang skips the reasoning parser, so the reasoning stays in
    the content; the calls are the fixture's, streamed or not."""
    got, chunks = run_stream(f, 3, separate_reasoning=False)
    full = run_full(f, separate_reasoning=False)
    assert not list(_lines(chunks, "reasoning_content"))
    assert got.reasoning is None and full.reasoning is None
    want = expected(f)["tool_calls"]
    assert _message(got)["tool_calls"] == want == _message(full)["tool_calls"]
    assert (got.content or "").strip() == (full.content or "").strip()

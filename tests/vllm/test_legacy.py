"""vLLM 0.11.2: the legacy serving path, driven through its own ``OpenAIServingChat``.

``chat_completion_stream_generator`` (vllm/entrypoints/openai/serving_chat.py, 0.11.2) builds the
reasoning parser and then the tool parser per request (lines 579-597), and for each delta calls
``extract_reasoning_streaming`` with the growing ``previous_text``/``current_text`` until
``is_reasoning_end`` says the hand-off is due (lines 941-991), then ``extract_tool_calls_streaming``
(lines 992-1016); at the end it reads ``tool_parser.prev_tool_call_arr`` /
``streamed_args_for_tool`` (lines 1114-1183). The tests run that generator itself, fed by a stub
engine that replays a tokenized response, and merge the SSE chunks as a client would.
``chat_completion_full_generator`` is driven the same way for non-streaming.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

import minimax_parser as mp
import minimax_parser.vllm_plugin as vllm_plugin
from minimax_parser.vllm_plugin.common import Response

from conftest import (
    LEGACY,
    PROMPT_AFTER_REASONING,
    PROMPT_IN_REASONING,
    SPECIAL,
    VLLM_VERSION,
    Fixture,
    get_m3_tokenizer,
    load_fixtures,
    make_request,
    token_deltas,
)

pytestmark = pytest.mark.skipif(
    not LEGACY, reason=f"vLLM 0.11.2 serving path; installed vLLM is {VLLM_VERSION}"
)

FIXTURES = load_fixtures()
EOS = SPECIAL["[e~["]
CHUNKS = [1, 3, 16, 10_000]
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


def serving(reasoning: str | None = "minimax_rs", tool: str | None = "minimax_rs") -> Any:
    """An ``OpenAIServingChat`` with only the attributes its two generators read (its
    ``__init__`` needs a running engine)."""
    vllm_plugin.register()
    sc = importlib.import_module("vllm.entrypoints.openai.serving_chat")
    tools = importlib.import_module("vllm.entrypoints.openai.tool_parsers").ToolParserManager
    reasonings = importlib.import_module("vllm.reasoning").ReasoningParserManager
    obj = object.__new__(sc.OpenAIServingChat)
    obj.response_role = "assistant"
    obj.use_harmony = False
    obj.tool_call_id_type = "random"
    obj.reasoning_parser = reasonings.get_reasoning_parser(reasoning) if reasoning else None
    obj.tool_parser = tools.get_tool_parser(tool) if tool else None
    obj.enable_auto_tools = tool is not None
    obj.enable_force_include_usage = False
    obj.enable_log_outputs = False
    obj.request_logger = None
    obj.enable_prompt_tokens_details = False
    obj.log_error_stack = False
    return obj


def prompt_ids(tokenizer: Any, start_in_reasoning: bool = True) -> list[int]:
    text = PROMPT_IN_REASONING if start_in_reasoning else PROMPT_AFTER_REASONING
    return list(tokenizer.encode(text, add_special_tokens=False))


async def _replay(
    prompt: list[int], choices: list[list[tuple[str, list[int]]]]
) -> AsyncIterator[Any]:
    """RequestOutputs as the v1 engine yields them in DELTA mode, choices round-robin."""
    outputs = importlib.import_module("vllm.outputs")
    pending = [list(c) for c in choices]
    while any(pending):
        for i, pieces in enumerate(pending):
            if not pieces:
                continue
            text, ids = pieces.pop(0)
            out = outputs.CompletionOutput(
                index=i,
                text=text,
                token_ids=list(ids),
                cumulative_logprob=None,
                logprobs=None,
                finish_reason=None if pieces else "stop",
            )
            yield outputs.RequestOutput(
                request_id="r",
                prompt=None,
                prompt_token_ids=prompt,
                prompt_logprobs=None,
                outputs=[out],
                finished=not any(pending),
            )


def _prepare(obj: Any, tokenizer: Any, request: Any) -> Any:
    # what OpenAIServingEngine._preprocess_chat does before generation
    if obj.tool_parser is not None and request.tool_choice != "none" and request.tools:
        request = obj.tool_parser(tokenizer).adjust_request(request=request)
    return request


def stream_chunks(
    tokenizer: Any,
    texts: list[str],
    request: Any,
    per_delta: int = 1,
    prompt: list[int] | None = None,
    **names: Any,
) -> list[dict[str, Any]]:
    protocol = importlib.import_module("vllm.entrypoints.openai.protocol")
    obj = serving(**names)
    request = _prepare(obj, tokenizer, request)
    request.n = len(texts)
    # an empty response still ends with the EOS token (its text is not in the output)
    choices = [list(token_deltas(tokenizer, t, per_delta)) or [("", [EOS])] for t in texts]

    async def run() -> list[str]:
        gen = obj.chat_completion_stream_generator(
            request,
            _replay(prompt if prompt is not None else prompt_ids(tokenizer), choices),
            "r",
            "m",
            [],
            tokenizer,
            protocol.RequestResponseMetadata(request_id="r"),
        )
        return [x async for x in gen]

    lines = asyncio.run(run())
    assert lines[-1] == "data: [DONE]\n\n"
    chunks = [json.loads(line[len("data: ") :]) for line in lines[:-1]]
    for c in chunks:
        assert "error" not in c, c
    return chunks


def merge_chunks(chunks: list[dict[str, Any]], index: int = 0) -> dict[str, Any]:
    """Merges SSE deltas of one choice as an OpenAI client would."""
    reasoning, content, finish = "", "", None
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            if choice["index"] != index:
                continue
            assert finish is None, "nothing after the finish chunk"
            finish = choice.get("finish_reason")
            d = choice["delta"]
            reasoning += d.get("reasoning") or ""
            content += d.get("content") or ""
            for tc in d.get("tool_calls") or []:
                fn = tc.get("function") or {}
                if tc["index"] not in calls:
                    assert tc.get("id") and fn.get("name"), "the first delta of a call has both"
                    calls[tc["index"]] = {"id": tc["id"], "name": fn["name"], "arguments": ""}
                else:
                    assert tc.get("id") in (None, calls[tc["index"]]["id"])
                calls[tc["index"]]["arguments"] += fn.get("arguments") or ""
    return {
        "reasoning": reasoning or None,
        "content": content or None,
        "tool_calls": [calls[i] for i in sorted(calls)],
        "finish_reason": finish,
    }


def full_response(
    tokenizer: Any, text: str, request: Any, prompt: list[int] | None = None, **names: Any
) -> Any:
    protocol = importlib.import_module("vllm.entrypoints.openai.protocol")
    obj = serving(**names)
    request = _prepare(obj, tokenizer, request)
    ids = list(tokenizer.encode(text, add_special_tokens=False))

    async def run() -> Any:
        return await obj.chat_completion_full_generator(
            request,
            _replay(prompt if prompt is not None else prompt_ids(tokenizer), [[(text, ids)]]),
            "r",
            "m",
            [],
            tokenizer,
            protocol.RequestResponseMetadata(request_id="r"),
        )

    response = asyncio.run(run())
    assert isinstance(response, protocol.ChatCompletionResponse), response
    return response


def expected(f: Fixture) -> dict[str, Any]:
    return {
        "reasoning": f.expected["reasoning"],
        "content": f.expected["content"],
        "tool_calls": [
            {"name": c["name"], "arguments": c["arguments"]} for c in f.expected["tool_calls"]
        ],
    }


def reasoning_name(f: Fixture) -> str:
    return "minimax_rs_append_think" if f.options.get("reasoning") == "inline" else "minimax_rs"


def _unsupported(f: Fixture) -> str | None:
    if f.options.get("tool_calls_in_reasoning") == "ignore":
        return "tool_calls_in_reasoning='ignore' has no vLLM switch"
    return None


@pytest.mark.parametrize("per_delta", CHUNKS)
@pytest.mark.parametrize("f", FIXTURES, ids=[f.name for f in FIXTURES])
def test_stream_generator(tokenizer: Any, f: Fixture, per_delta: int) -> None:
    if reason := _unsupported(f):
        pytest.skip(reason)
    prompt = prompt_ids(tokenizer, f.options.get("start_in_reasoning", True))
    chunks = stream_chunks(
        tokenizer,
        [f.input],
        make_request(f.tools, stream=True),
        per_delta,
        prompt,
        reasoning=reasoning_name(f),
    )
    got = merge_chunks(chunks)
    finish = got.pop("finish_reason")
    assert finish == ("tool_calls" if f.expected["tool_calls"] else "stop")
    for call in got["tool_calls"]:
        assert call.pop("id").startswith("chatcmpl-tool-")
        json.loads(call["arguments"])
    assert got == expected(f)


@pytest.mark.parametrize("f", FIXTURES, ids=[f.name for f in FIXTURES])
def test_full_generator(tokenizer: Any, f: Fixture) -> None:
    if reason := _unsupported(f):
        pytest.skip(reason)
    prompt = prompt_ids(tokenizer, f.options.get("start_in_reasoning", True))
    response = full_response(
        tokenizer, f.input, make_request(f.tools), prompt, reasoning=reasoning_name(f)
    )
    message = response.choices[0].message
    got = {
        "reasoning": message.reasoning,
        "content": message.content,
        "tool_calls": [
            {"name": c.function.name, "arguments": c.function.arguments}
            for c in message.tool_calls or []
        ],
    }
    assert got == expected(f)
    assert response.choices[0].finish_reason == ("tool_calls" if got["tool_calls"] else "stop")


def test_parsers_are_linked_and_own_the_stream(tokenizer: Any) -> None:
    """Linked per request; the generator's hand-off question is answered False only for the
    id lists it passes in the same step, so the token-id helper stays honest elsewhere."""
    obj = serving()
    chunks = stream_chunks(tokenizer, [TEXT], make_request(TOOLS, stream=True), 1)
    got = merge_chunks(chunks)
    assert got["finish_reason"] == "tool_calls"
    rp = obj.reasoning_parser(tokenizer)
    end = list(tokenizer.encode("x</think>", add_special_tokens=False))
    assert rp.is_reasoning_end(end)


@pytest.mark.parametrize("per_delta", [1, 2, 7, 1000])
def test_multi_token_equals_single_token_and_parse(tokenizer: Any, per_delta: int) -> None:
    text = "a\n</think>\nb<think>\nc\n</think>d" + TEXT.split("</think>")[1]
    got = merge_chunks(
        stream_chunks(tokenizer, [text], make_request(TOOLS, stream=True), per_delta)
    )
    msg = mp.parse(text, tools=TOOLS)
    assert (got["reasoning"], got["content"]) == (msg.reasoning, msg.content)
    assert [(c["name"], c["arguments"]) for c in got["tool_calls"]] == [
        (c.name, c.arguments) for c in msg.tool_calls
    ]


def test_two_choices_keep_separate_state(tokenizer: Any) -> None:
    # 0.11.2 shares one reasoning parser and one tool parser between the n choices
    other = "Just thinking.\n</think>\nNo tools needed."
    chunks = stream_chunks(tokenizer, [TEXT, other], make_request(TOOLS, stream=True), 1)
    first, second = merge_chunks(chunks, 0), merge_chunks(chunks, 1)
    assert first["content"] == "Checking." and len(first["tool_calls"]) == 1
    assert first["finish_reason"] == "tool_calls"
    assert second == {
        "reasoning": "Just thinking.",
        "content": "No tools needed.",
        "tool_calls": [],
        "finish_reason": "stop",
    }


@pytest.mark.parametrize("stream", [True, False])
def test_tool_choice_none_drops_calls(tokenizer: Any, stream: bool) -> None:
    request = make_request(TOOLS, tool_choice="none", stream=stream)
    if stream:
        got = merge_chunks(stream_chunks(tokenizer, [TEXT], request, 3))
        assert got["tool_calls"] == [] and got["content"] == "Checking."
        assert got["reasoning"] == "I should call."
    else:
        message = full_response(tokenizer, TEXT, request).choices[0].message
        assert message.content == "Checking." and not message.tool_calls


def test_include_reasoning_false(tokenizer: Any) -> None:
    request = make_request(TOOLS, include_reasoning=False, stream=True)
    got = merge_chunks(stream_chunks(tokenizer, [TEXT], request, 1))
    assert got["reasoning"] is None and got["content"] == "Checking."
    assert len(got["tool_calls"]) == 1


def test_reasoning_parser_alone_passes_the_rest_through(tokenizer: Any) -> None:
    text = "Hmm.\n</think>\nHi <b>"
    for n in (1, 100):
        got = merge_chunks(
            stream_chunks(tokenizer, [text], make_request(None, stream=True), n, tool=None)
        )
        assert got["reasoning"] == "Hmm."
        assert got["content"].strip() == "Hi <b>"


def test_tool_parser_alone_keeps_think_markup_as_content(tokenizer: Any) -> None:
    text = "<think>a</think>Hi"
    got = merge_chunks(
        stream_chunks(tokenizer, [text], make_request(TOOLS, stream=True), 1, reasoning=None)
    )
    assert got["content"] == text and got["reasoning"] is None


def test_final_delta_with_a_whole_call_is_not_replaced(tokenizer: Any) -> None:
    # the last delta starts a call and carries its arguments: 0.11.2's "remaining arguments"
    # step must leave it alone
    text = 'x</think><minimax:tool_call><invoke name="get_weather"><parameter name="days">3'
    got = merge_chunks(stream_chunks(tokenizer, [text], make_request(TOOLS, stream=True), 10_000))
    msg = mp.parse(text, tools=TOOLS)
    assert [(c["name"], c["arguments"]) for c in got["tool_calls"]] == [
        (c.name, c.arguments) for c in msg.tool_calls
    ]
    assert got["finish_reason"] == "tool_calls"


def test_feeds_only_delta_text(tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear: the parser sees each delta once, never the growing current_text."""
    fed: list[str] = []
    real = Response.feed

    def spy(self: Any, text: str) -> list[Any]:
        fed.append(text)
        return real(self, text)

    monkeypatch.setattr(Response, "feed", spy)
    pieces = [t for t, _ in token_deltas(tokenizer, TEXT, 1)]
    merge_chunks(stream_chunks(tokenizer, [TEXT], make_request(TOOLS, stream=True), 1))
    assert [t for t in fed if t] == [t for t in pieces if t]


def test_missing_markers_become_an_error_response(tokenizer: Any) -> None:
    hf: Any = importlib.import_module("tokenizers")
    fast = importlib.import_module("transformers").PreTrainedTokenizerFast
    plain: Any = fast(
        tokenizer_object=hf.Tokenizer(hf.models.WordLevel({"a": 0, "<unk>": 1}, unk_token="<unk>"))
    )
    obj = serving()
    with pytest.raises(RuntimeError, match=r"minimax_rs.*</think>"):
        obj.reasoning_parser(plain)
    with pytest.raises(RuntimeError, match=r"minimax_rs.*</think>"):
        obj.tool_parser(plain)
    # the stream generator turns it into an error event (serving_chat.py lines 578-587)
    protocol = importlib.import_module("vllm.entrypoints.openai.protocol")

    async def run() -> list[str]:
        gen = obj.chat_completion_stream_generator(
            make_request(TOOLS, stream=True),
            _replay([], [[("a", [0])]]),
            "r",
            "m",
            [],
            plain,
            protocol.RequestResponseMetadata(request_id="r"),
        )
        return [x async for x in gen]

    lines = asyncio.run(run())
    assert "needs the MiniMax-M2 tokenizer" in lines[0] and lines[-1] == "data: [DONE]\n\n"


def test_m3_tokenizer_is_refused() -> None:
    """vLLM 0.11 has no MiniMax-M3 model; an M3 tokenizer (namespace token in the vocabulary) is
    an error naming the vLLM release that serves M3, at the first request."""
    obj = serving()
    m3 = get_m3_tokenizer()
    for build in (obj.reasoning_parser, obj.tool_parser):
        with pytest.raises(RuntimeError, match=r"minimax_rs.*MiniMax-M3.*vLLM 0\.32"):
            build(m3)


def test_token_id_helpers(tokenizer: Any) -> None:
    rp = serving().reasoning_parser(tokenizer)

    def ids(text: str) -> list[int]:
        return list(tokenizer.encode(text, add_special_tokens=False))

    assert not rp.is_reasoning_end(ids(PROMPT_IN_REASONING))
    assert rp.is_reasoning_end(ids(PROMPT_AFTER_REASONING))
    history = "]~b]ai\n<think>x</think>done[e~[\n]~b]user\nagain[e~[\n]~b]ai\n"
    assert not rp.is_reasoning_end(ids(history))
    out = ids("ab cd</think>hi")
    assert rp.extract_content_ids(out) == ids("hi")
    assert rp.count_reasoning_tokens(out) == len(ids("ab cd"))

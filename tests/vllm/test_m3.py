"""MiniMax-M3 on vLLM 0.32: ``--tool-call-parser minimax_rs --reasoning-parser minimax_rs``.

No flag selects the dialect: the tokenizer does (``]<]minimax[>[`` in the vocabulary → M3). The
start state of a response comes from ``chat_template_kwargs["thinking_mode"]`` (``"enabled"`` →
reasoning first) and from the end of the prompt, never from think tags quoted earlier in it: M3's
system prompt quotes ``<mm:think></mm:think>`` in its thinking instructions (vLLM #46042, #50549).

Everything runs through vLLM's own code: ``ParserManager.get_parser`` resolving the two names,
``Parser.parse_delta`` per token (and 3, 16, all tokens per delta), ``set_prompt_token_ids`` +
``Parser.parse``, and ``OpenAIServingChat.create_chat_completion`` streaming and non-streaming with
an M3-shaped chat template (test_serving.py's replay engine). The tokenizer holds the namespace
token and the think tags at 200058-200060; the other M3 tags arrive as ordinary text pieces.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from test_parser_manager import parser_class as m2_parser_class
from test_serving import (
    ReplayEngineClient,
    Reply,
    Script,
    Server,
    _HfConfig,
    _ModelConfig,
    merge_chunks,
)

import minimax_parser as mp
import minimax_parser.vllm_plugin as vllm_plugin
from minimax_parser.vllm_plugin.common import (
    M3MarkerIds,
    MissingMarkersError,
    dialect_of,
    marker_ids,
)

from conftest import (
    M3_MARKERS,
    M3_SYSTEM,
    ONLY_PARSER_API,
    SPECIAL,
    UNRELATED_TOOL,
    Fixture,
    N,
    get_m3_tokenizer,
    get_tokenizer,
    load_fixtures,
    m3_prompt,
    merge_deltas,
    openai_tools,
    token_deltas,
)
from conftest import make_request as m2_request

pytestmark = ONLY_PARSER_API

MODEL = "MiniMaxAI/MiniMax-M3"
NS, THINK, END = M3_MARKERS.values()
EOS = SPECIAL["[e~["]
CHUNKS = [1, 3, 16, 10_000]
M3_FIXTURES = load_fixtures("m3")

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["location"],
            },
        },
    },
    {"type": "function", "function": {"name": "noargs", "parameters": {"type": "object"}}},
]


def block(*invokes: str) -> str:
    """A tool block as M3's template writes it."""
    return f"{N}<tool_call>\n" + "".join(f"{i}\n" for i in invokes) + f"{N}</tool_call>"


def invoke(name: str, **args: Any) -> str:
    params = "".join(f"{N}<{k}>{v}{N}</{k}>" for k, v in args.items())
    return f'{N}<invoke name="{name}">{params}{N}</invoke>'


WEATHER = block(invoke("get_weather", location="Paris", days=3))
PARIS_3 = ("get_weather", {"location": "Paris", "days": 3})


# ---------------------------------------------------------------------------------------------
# Where a response starts: thinking_mode and the prompt's end


@dataclass(frozen=True)
class Setup:
    """The request's ``chat_template_kwargs`` and the prompt vLLM renders for it."""

    name: str
    template_kwargs: dict[str, Any]
    prompt: str | None  # None: the parser is never told the prompt
    starts_in_reasoning: bool
    reasoning_ended: bool  # what is_reasoning_end(prompt) answers

    def prompt_ids(self) -> list[int] | None:
        if self.prompt is None:
            return None
        return list(get_m3_tokenizer().encode(self.prompt, add_special_tokens=False))


SETUPS = {
    s.name: s
    for s in [
        # The template's default: the prompt ends with the bare assistant header.
        Setup("default", {}, m3_prompt("adaptive"), False, False),
        Setup("adaptive", {"thinking_mode": "adaptive"}, m3_prompt("adaptive"), False, False),
        Setup("enabled", {"thinking_mode": "enabled"}, m3_prompt("enabled"), True, False),
        Setup("disabled", {"thinking_mode": "disabled"}, m3_prompt("disabled"), False, True),
        # No kwarg, but the prompt (another template, continue_final_message ...) ends inside
        # reasoning or after it, with whitespace tokens behind the tag.
        Setup("prompt-opened", {}, m3_prompt("adaptive") + "<mm:think>\n", True, False),
        Setup("prompt-closed", {}, m3_prompt("adaptive") + "</mm:think>\n\n", False, True),
        # Non-streaming batch-style use without a prompt: thinking_mode alone decides.
        Setup("enabled-no-prompt", {"thinking_mode": "enabled"}, None, True, False),
        Setup("adaptive-no-prompt", {}, None, False, False),
    ]
}


def parser_class(reasoning: str | None = "minimax_rs", tool: str | None = "minimax_rs") -> Any:
    ParserManager = importlib.import_module("vllm.parser").ParserManager
    vllm_plugin.register()
    cls = ParserManager.get_parser(
        tool_parser_name=tool,
        reasoning_parser_name=reasoning,
        enable_auto_tools=True,
        model_name=MODEL,
        tokenizer=get_m3_tokenizer(),
    )
    assert cls is not None
    ours = (reasoning or "").startswith("minimax_rs") and tool == "minimax_rs"
    assert (cls.__name__ == "MinimaxRsParser") is ours, cls.__mro__
    return cls


def make_request(setup: Setup, tools: Any = TOOLS, **kwargs: Any) -> Any:
    protocol = importlib.import_module("vllm.entrypoints.openai.chat_completion.protocol")
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": openai_tools(tools) or [UNRELATED_TOOL],
        "tool_choice": "auto",
    }
    if setup.template_kwargs:
        body["chat_template_kwargs"] = setup.template_kwargs
    body.update(kwargs)
    return protocol.ChatCompletionRequest(**body)


def build(cls: Any, setup: Setup, request: Any) -> Any:
    """A parser as ``OpenAIServingChat._make_parser`` builds it."""
    return cls(
        get_m3_tokenizer(),
        request.tools,
        chat_template_kwargs=dict(setup.template_kwargs),
        model_config=None,
    )


def stream(
    text: str, setup: Setup, per_delta: int = 1, request: Any = None, **names: Any
) -> dict[str, Any]:
    request = request or make_request(setup)
    parser = build(parser_class(**names), setup, request)
    request = parser.adjust_request(request)
    prompt = setup.prompt_ids()
    pieces = list(token_deltas(get_m3_tokenizer(), text, per_delta)) or [("", [])]
    out = [
        parser.parse_delta(t, ids, request, prompt, finished=i == len(pieces) - 1)
        for i, (t, ids) in enumerate(pieces)
    ]
    got = merge_deltas(out)
    for call in got["tool_calls"]:
        assert call.pop("id").startswith("chatcmpl-tool-")
    return got


def one_shot(text: str, setup: Setup, request: Any = None, **names: Any) -> dict[str, Any]:
    request = request or make_request(setup)
    parser = build(parser_class(**names), setup, request)
    prompt = setup.prompt_ids()
    if prompt is not None:
        parser.set_prompt_token_ids(prompt)  # as chat_completion_full_generator does
    reasoning, content, calls = parser.parse(text, request, enable_auto_tools=True)
    return {
        "reasoning": reasoning,
        "content": content,
        "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in calls or []],
    }


def message(reasoning: str | None, content: str | None, *calls: tuple[str, Any]) -> dict[str, Any]:
    return {
        "reasoning": reasoning,
        "content": content,
        "tool_calls": [{"name": n, "arguments": json.dumps(a)} for n, a in calls],
    }


def same(got: dict[str, Any], want: dict[str, Any]) -> bool:
    """Equal, with arguments compared as JSON values."""

    def norm(m: dict[str, Any]) -> dict[str, Any]:
        calls = [(c["name"], json.loads(c["arguments"])) for c in m["tool_calls"]]
        return {**m, "tool_calls": calls}

    return norm(got) == norm(want)


# (setup, raw output, expected message)
CASES = {
    # Adaptive with the realistic system prompt (it quotes <mm:think></mm:think>): the model
    # thinks, or writes the bare closer of a turn without thinking.
    "adaptive-thinks": ("adaptive", "<mm:think>plan</mm:think>Answer.", message("plan", "Answer.")),
    "adaptive-bare-closer": ("adaptive", "</mm:think>Hello.", message(None, "Hello.")),
    "default-thinks": ("default", "<mm:think>plan</mm:think>Answer.", message("plan", "Answer.")),
    "default-bare-closer": ("default", "</mm:think>Hello.", message(None, "Hello.")),
    "adaptive-plain": ("adaptive", "Hello there.", message(None, "Hello there.")),
    "adaptive-think-then-call": (
        "adaptive",
        "<mm:think>Weather needed.</mm:think>Checking." + WEATHER,
        message("Weather needed.", "Checking.", PARIS_3),
    ),
    # thinking_mode="enabled": the prompt ends with <mm:think>, the output starts in reasoning.
    "enabled-call": (
        "enabled",
        "Need weather.</mm:think>Checking." + WEATHER,
        message("Need weather.", "Checking.", PARIS_3),
    ),
    "enabled-no-closer-call": (
        "enabled",
        "thinking" + block(invoke("noargs")),
        message("thinking", None, ("noargs", {})),
    ),
    "enabled-no-prompt": ("enabled-no-prompt", "plan</mm:think>ok", message("plan", "ok")),
    # thinking_mode="disabled": the prompt ends with </mm:think>.
    "disabled-call": (
        "disabled",
        block(invoke("get_weather", location="Paris")),
        message(None, None, ("get_weather", {"location": "Paris"})),
    ),
    "disabled-text": ("disabled", "Just text.", message(None, "Just text.")),
    "prompt-opened": ("prompt-opened", "plan</mm:think>ok", message("plan", "ok")),
    "prompt-closed": ("prompt-closed", "ok", message(None, "ok")),
    "adaptive-no-prompt": ("adaptive-no-prompt", "<mm:think>p</mm:think>q", message("p", "q")),
}


@pytest.mark.parametrize("per_delta", CHUNKS)
@pytest.mark.parametrize("case", list(CASES))
def test_cases_streamed(case: str, per_delta: int) -> None:
    setup, text, want = CASES[case]
    got = stream(text, SETUPS[setup], per_delta)
    assert same(got, want), got


@pytest.mark.parametrize("case", list(CASES))
def test_cases_one_shot(case: str) -> None:
    setup, text, want = CASES[case]
    got = one_shot(text, SETUPS[setup])
    assert same(got, want), got


@pytest.mark.parametrize("setup", list(SETUPS))
def test_start_state(m3_tokenizer: Any, setup: str) -> None:
    s = SETUPS[setup]
    request = make_request(s)
    parser = build(parser_class(), s, request)
    prompt = s.prompt_ids()
    if prompt is not None:
        assert parser.is_reasoning_end(prompt) is s.reasoning_ended
        parser.set_prompt_token_ids(prompt)
    assert parser._response.start_in_reasoning is s.starts_in_reasoning
    assert parser._response.dialect == "m3"


def test_realistic_prompt_quotes_the_tags(m3_tokenizer: Any) -> None:
    """The prompt holds <mm:think></mm:think> and </mm:think> as single tokens long before its
    end; a user message quoting them does not count either."""
    prompt = m3_tokenizer.encode(m3_prompt("adaptive"), add_special_tokens=False)
    assert THINK in prompt and END in prompt
    assert max(i for i, t in enumerate(prompt) if t == END) > prompt.index(THINK)
    quoted = m3_prompt("adaptive", user="Why does </mm:think> close <mm:think>?")
    ids = marker_ids(m3_tokenizer, "test")
    assert isinstance(ids, M3MarkerIds)
    for text in (m3_prompt("adaptive"), quoted):
        tokens = m3_tokenizer.encode(text, add_special_tokens=False)
        assert not ids.starts_in_reasoning(tokens) and not ids.prompt_reasoning_ended(tokens)


def test_dialect_from_the_vocabulary(m3_tokenizer: Any) -> None:
    ids = marker_ids(m3_tokenizer, "test")
    assert ids is marker_ids(m3_tokenizer, "other")  # once per tokenizer
    assert isinstance(ids, M3MarkerIds) and ids.dialect == "m3"
    assert (ids.namespace, ids.think_start, ids.think_end) == (NS, THINK, END)
    assert dialect_of(m3_tokenizer.get_vocab()) == "m3"
    # The namespace token decides, whatever else the vocabulary has.
    both = {"<think>": 1, "</think>": 2, "<minimax:tool_call>": 3, "</minimax:tool_call>": 4}
    assert dialect_of(both) == "m2"
    assert dialect_of({**both, **M3_MARKERS}) == "m3"
    with pytest.raises(MissingMarkersError, match="<mm:think>"):
        M3MarkerIds({"]<]minimax[>[": 1, "</mm:think>": 2})


def test_startup_check_names_the_flags(m3_tokenizer: Any) -> None:
    """A vocabulary with the namespace token but no think tags fails when the server starts."""
    data = json.loads(m3_tokenizer.backend_tokenizer.to_str())
    data["added_tokens"] = [t for t in data["added_tokens"] if t["content"] != "<mm:think>"]
    del data["model"]["vocab"]["<mm:think>"]
    tokenizers = importlib.import_module("tokenizers")
    fast = importlib.import_module("transformers").PreTrainedTokenizerFast
    broken = fast(tokenizer_object=tokenizers.Tokenizer.from_str(json.dumps(data)))
    ParserManager = importlib.import_module("vllm.parser").ParserManager
    vllm_plugin.register()
    with pytest.raises(TypeError, match=r"--tool-call-parser minimax_rs.*<mm:think>"):
        ParserManager.get_parser(
            tool_parser_name="minimax_rs",
            reasoning_parser_name="minimax_rs",
            enable_auto_tools=True,
            model_name=MODEL,
            tokenizer=broken,
        )


def test_token_id_answers(m3_tokenizer: Any) -> None:
    def ids(text: str) -> list[int]:
        return list(m3_tokenizer.encode(text, add_special_tokens=False))

    adaptive = build(parser_class(), SETUPS["adaptive"], make_request(SETUPS["adaptive"]))
    enabled = build(parser_class(), SETUPS["enabled"], make_request(SETUPS["enabled"]))
    out = ids("<mm:think>plan it</mm:think>Answer.")
    adaptive.set_prompt_token_ids(SETUPS["adaptive"].prompt_ids())
    assert adaptive.count_reasoning_tokens(out) == len(ids("plan it"))
    rp = adaptive.reasoning_parser
    assert rp.extract_content_ids(out) == ids("Answer.")
    assert rp.extract_content_ids(ids("</mm:think>Hi")) == ids("Hi")
    assert rp.extract_content_ids(ids("Hi")) == ids("Hi")
    assert rp.is_reasoning_end_streaming(out, [END]) and not rp.is_reasoning_end_streaming(out, [1])
    # enabled: reasoning first; a tool block ends it (the namespace token opens the block)
    out = ids("ab cd</mm:think>hi")
    enabled.set_prompt_token_ids(SETUPS["enabled"].prompt_ids())
    assert enabled.count_reasoning_tokens(out) == len(ids("ab cd"))
    assert enabled.reasoning_parser.extract_content_ids(out) == ids("hi")
    via_tool = ids("ab" + WEATHER)
    assert enabled.reasoning_parser.extract_content_ids(via_tool) == ids(WEATHER)
    counter = build(parser_class(), SETUPS["enabled"], make_request(SETUPS["enabled"]))
    counter.set_prompt_token_ids(SETUPS["enabled"].prompt_ids())
    assert counter.count_reasoning_tokens(via_tool) == len(ids("ab"))


# ---------------------------------------------------------------------------------------------
# Request options


@pytest.mark.parametrize(
    "choice", ["auto", "required", {"type": "function", "function": {"name": "get_weather"}}]
)
def test_no_m2_structural_tag_and_native_parsing(choice: Any) -> None:
    """vLLM has no M3 structural tag (its ``minimax`` tag is M2 markup): no constraint is set for
    any ``tool_choice``, and ``required`` / named calls are parsed from the native output, as
    vLLM's own ``minimax_m3`` does."""
    setup = SETUPS["enabled"]
    request = make_request(setup, tool_choice=choice)
    parser = build(parser_class(), setup, request)
    assert parser.tool_parser.supports_required_and_named is False
    adjusted = parser.adjust_request(request)
    assert adjusted.structured_outputs is None
    assert adjusted.skip_special_tokens is False
    want = message("Need weather.", "Checking.", PARIS_3)
    text = "Need weather.</mm:think>Checking." + WEATHER
    assert same(stream(text, setup, 1, make_request(setup, tool_choice=choice)), want)
    assert same(one_shot(text, setup, make_request(setup, tool_choice=choice)), want)


def test_m2_tokenizer_keeps_the_m2_structural_tag() -> None:
    request = m2_request(TOOLS, tool_choice="required")
    parser = m2_parser_class()(get_tokenizer(), request.tools)
    assert parser.tool_parser.structural_tag_model == "minimax"
    assert parser.adjust_request(request).structured_outputs is not None


def test_tool_choice_none_and_include_reasoning_false() -> None:
    setup = SETUPS["adaptive"]
    text = "<mm:think>Weather needed.</mm:think>Checking." + WEATHER
    for run in (stream, one_shot):
        got = run(text, setup, request=make_request(setup, tool_choice="none"))
        assert got == message("Weather needed.", "Checking."), run
    got = stream(text, setup, 1, make_request(setup, include_reasoning=False))
    assert got["reasoning"] is None and got["content"] == "Checking."
    assert [c["name"] for c in got["tool_calls"]] == ["get_weather"]


@pytest.mark.parametrize(
    ("setup", "text"),
    [
        ("adaptive", "<mm:think>plan</mm:think>Answer."),
        ("adaptive", "</mm:think>Hello."),
        ("enabled", "plan</mm:think>ok"),
    ],
)
@pytest.mark.parametrize("per_delta", [1, 10_000])
def test_append_think_keeps_the_tags_in_content(setup: str, text: str, per_delta: int) -> None:
    s = SETUPS[setup]
    start = s.starts_in_reasoning
    want = mp.parse(text, dialect="m3", reasoning="inline", start_in_reasoning=start)
    got = stream(text, s, per_delta, reasoning="minimax_rs_append_think")
    assert (got["reasoning"], got["content"]) == (None, want.content)
    assert (want.content or "").startswith("<mm:think>") != (text.startswith("</mm:think>"))
    got = one_shot(text, s, reasoning="minimax_rs_append_think")
    assert (got["reasoning"], got["content"]) == (None, want.content)


# ---------------------------------------------------------------------------------------------
# Our classes next to vLLM's (vLLM's own composition)


@pytest.mark.parametrize("per_delta", [1, 3, 10_000])
def test_our_reasoning_parser_with_vllms_m3_tool_parser(per_delta: int) -> None:
    setup = SETUPS["adaptive"]
    text = "<mm:think>Weather needed.</mm:think>Checking." + WEATHER
    want = message("Weather needed.", "Checking.", PARIS_3)
    assert same(stream(text, setup, per_delta, tool="minimax_m3"), want)
    assert same(one_shot(text, setup, tool="minimax_m3"), want)
    # the tool block inside reasoning that never closed (enabled): it ends the reasoning
    text = "Need weather." + WEATHER
    enabled = SETUPS["enabled"]
    want = message("Need weather.", None, PARIS_3)
    assert same(stream(text, enabled, per_delta, tool="minimax_m3"), want)


@pytest.mark.parametrize("per_delta", [1, 10_000])
def test_our_tool_parser_after_vllms_m3_reasoning_parser(per_delta: int) -> None:
    setup = SETUPS["enabled"]  # vLLM's reasoning parser reads thinking_mode too
    text = "Need weather.</mm:think>Checking." + WEATHER
    want = message("Need weather.", "Checking.", PARIS_3)
    assert same(stream(text, setup, per_delta, reasoning="minimax_m3"), want)
    assert same(one_shot(text, setup, reasoning="minimax_m3"), want)


@pytest.mark.parametrize("per_delta", [1, 10_000])
def test_our_parsers_alone(per_delta: int) -> None:
    setup = SETUPS["adaptive"]
    # reasoning parser only: the first reasoning segment, then the raw rest as content
    for text, want in [
        ("<mm:think>plan</mm:think>Answer.", message("plan", "Answer.")),
        ("</mm:think>Hello.", message(None, "Hello.")),
        ("Hi <b>", message(None, "Hi <b>")),
        ("<mm:th", message(None, "<mm:th")),
    ]:
        got = stream(text, setup, per_delta, tool=None)
        assert (got["reasoning"], (got["content"] or "").strip() or None) == (
            want["reasoning"],
            want["content"],
        ), text
    got = stream("plan</mm:think>ok", SETUPS["enabled"], per_delta, tool=None)
    assert (got["reasoning"], got["content"]) == ("plan", "ok")
    # tool parser only: think markup is content, calls are parsed
    text = "<mm:think>plan</mm:think>Answer." + block(invoke("noargs"))
    got = stream(text, setup, per_delta, reasoning=None)
    assert got["reasoning"] is None and got["content"] == "<mm:think>plan</mm:think>Answer."
    assert [(c["name"], c["arguments"]) for c in got["tool_calls"]] == [("noargs", "{}")]


def test_vllms_own_m3_pair_misreads_the_realistic_adaptive_prompt() -> None:
    """vLLM 0.32's built-in ``minimax_m3`` pair, streaming with the realistic adaptive prompt:
    ``is_reasoning_end(prompt)`` finds the quoted ``<mm:think></mm:think>`` and declares reasoning
    over before the response starts, so the reasoning and the closer reach ``content`` (vLLM
    #46042 / #50549). Ours, same request, same deltas: right."""
    setup = SETUPS["adaptive"]
    names = {"reasoning": "minimax_m3", "tool": "minimax_m3"}
    builtin = build(parser_class(**names), setup, make_request(setup))
    assert builtin.is_reasoning_end(setup.prompt_ids()) is True
    for text, want in [
        ("<mm:think>plan</mm:think>Answer.", message("plan", "Answer.")),
        ("</mm:think>Hello.", message(None, "Hello.")),
    ]:
        theirs = stream(text, setup, 1, **names)
        assert theirs == message(None, text), theirs
        assert stream(text, setup, 1) == want


# ---------------------------------------------------------------------------------------------
# The golden M3 fixtures


def _unsupported(f: Fixture) -> str | None:
    if f.options.get("tool_calls_in_reasoning") == "ignore":
        return "tool_calls_in_reasoning='ignore' has no vLLM switch"
    return None


def fixture_setups(f: Fixture) -> list[Setup]:
    """The setups that give the fixture's start state; the first is the template's own mode."""
    if f.options.get("start_in_reasoning"):
        return [SETUPS["enabled"], SETUPS["prompt-opened"]]
    return [SETUPS["adaptive"], SETUPS["disabled"], SETUPS["default"]]


def fixture_names(f: Fixture) -> dict[str, Any]:
    inline = f.options.get("reasoning") == "inline"
    return {"reasoning": "minimax_rs_append_think" if inline else "minimax_rs"}


def expected(f: Fixture) -> dict[str, Any]:
    return {
        "reasoning": f.expected["reasoning"],
        "content": f.expected["content"],
        "tool_calls": [
            {"name": c["name"], "arguments": c["arguments"]} for c in f.expected["tool_calls"]
        ],
    }


def test_m3_fixtures_are_present() -> None:
    assert len(M3_FIXTURES) >= 100, "the golden M3 fixtures (python/minimax_parser/fixtures/m3_*)"
    assert {f.dialect for f in M3_FIXTURES} == {"m3"}


@pytest.mark.parametrize("per_delta", CHUNKS)
@pytest.mark.parametrize("f", M3_FIXTURES, ids=[f.name for f in M3_FIXTURES])
def test_fixture_parse_delta(f: Fixture, per_delta: int) -> None:
    if reason := _unsupported(f):
        pytest.skip(reason)
    setups = fixture_setups(f)
    request = make_request(setups[0], f.tools)
    got = stream(f.input, setups[0], per_delta, request, **fixture_names(f))
    assert got == expected(f)
    if per_delta == 1:  # the other ways to reach the same start state
        for setup in setups[1:]:
            request = make_request(setup, f.tools)
            assert stream(f.input, setup, 1, request, **fixture_names(f)) == expected(f), setup


@pytest.mark.parametrize("f", M3_FIXTURES, ids=[f.name for f in M3_FIXTURES])
def test_fixture_parse(f: Fixture) -> None:
    if reason := _unsupported(f):
        pytest.skip(reason)
    for setup in fixture_setups(f):
        got = one_shot(f.input, setup, make_request(setup, f.tools), **fixture_names(f))
        assert got == expected(f), setup


# ---------------------------------------------------------------------------------------------
# OpenAIServingChat with an M3-shaped chat template

# M3's template shape: the system block with the thinking instructions, the turns, and the end
# chosen by thinking_mode (unset: adaptive).
M3_TEMPLATE = (
    M3_SYSTEM.format(mode="{{ thinking_mode or 'adaptive' }}")
    + "{% for m in messages %}]~b]{{ m['role'] }}\n{{ m['content'] }}[e~[\n{% endfor %}]~b]ai\n"
    + "{% if thinking_mode == 'enabled' %}<mm:think>"
    + "{% elif thinking_mode == 'disabled' %}</mm:think>{% endif %}"
)


@dataclass
class _M3HfConfig(_HfConfig):
    model_type: str = "minimax_m3"


@dataclass
class _M3ModelConfig(_ModelConfig):
    model = MODEL
    tokenizer = MODEL
    hf_config = _M3HfConfig()
    hf_text_config = _M3HfConfig()

    def get_vocab_size(self) -> int:
        return max(M3_MARKERS.values()) + 1


@cache
def m3_engine() -> ReplayEngineClient:
    hf = importlib.import_module("vllm.tokenizers.hf")
    return ReplayEngineClient(hf.get_cached_tokenizer(get_m3_tokenizer()), _M3ModelConfig())


@cache
def m3_server(reasoning_parser: str = "minimax_rs", tool_parser: str = "minimax_rs") -> Server:
    vllm_plugin.register()
    models_mod = importlib.import_module("vllm.entrypoints.openai.models.serving")
    online = importlib.import_module("vllm.renderers.online_renderer")
    serving_mod = importlib.import_module("vllm.entrypoints.openai.chat_completion.serving")
    engine = m3_engine()
    models = models_mod.OpenAIServingModels(
        engine_client=engine,
        base_model_paths=[models_mod.BaseModelPath(name=MODEL, model_path=MODEL)],
    )
    flags: dict[str, Any] = dict(
        chat_template=M3_TEMPLATE,
        chat_template_content_format="string",
        enable_auto_tools=True,
        tool_parser=tool_parser,
        reasoning_parser=reasoning_parser,
    )
    renderer = online.OnlineRenderer(
        model_config=engine.model_config, renderer=engine.renderer, request_logger=None, **flags
    )
    serving = serving_mod.OpenAIServingChat(
        engine, models, "assistant", online_renderer=renderer, request_logger=None, **flags
    )
    assert serving.parser_cls is not None
    ours = reasoning_parser.startswith("minimax_rs") and tool_parser == "minimax_rs"
    assert (serving.parser_cls.__name__ == "MinimaxRsParser") is ours
    return Server(serving, engine)


def _serving_request(setup: Setup, tools: Any, stream: bool, **extra: Any) -> Any:
    assert setup.prompt is not None
    protocol = importlib.import_module("vllm.entrypoints.openai.chat_completion.protocol")
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": openai_tools(tools) or [UNRELATED_TOOL],
        "tool_choice": "auto",
        "stream": stream,
    }
    if setup.template_kwargs:
        body["chat_template_kwargs"] = setup.template_kwargs
    body.update(extra)
    return protocol.ChatCompletionRequest(**body)


def _script(texts: list[str], finish: list[str], per_step: int) -> Script:
    token_ids = []
    for text, reason in zip(texts, finish, strict=True):
        ids = get_m3_tokenizer().encode(text, add_special_tokens=False)
        if reason == "stop":
            ids.append(EOS)
        token_ids.append(ids)
    return Script(token_ids, finish, per_step)


def _check_engine_input(setup: Setup, script: Script, names: tuple[str, str]) -> None:
    # vLLM rendered the M3-shaped template with the request's thinking_mode.
    assert script.seen["prompt_token_ids"] == setup.prompt_ids()
    if names[0].startswith("minimax_rs") and names[1] == "minimax_rs":
        assert script.seen["sampling_params"].skip_special_tokens is False
        # the serving layer's is_reasoning_end(prompt), handed to the engine
        assert script.seen["reasoning_ended"] is setup.reasoning_ended


def serve_stream(
    setup: Setup,
    texts: list[str],
    finish: list[str],
    tools: Any = TOOLS,
    per_step: int = 1,
    names: tuple[str, str] = ("minimax_rs", "minimax_rs"),
    **extra: Any,
) -> tuple[list[Reply], list[dict[str, Any]], Script]:
    srv = m3_server(*names)
    script = _script(texts, finish, per_step)
    srv.engine.script = script
    request = _serving_request(setup, tools, True, n=len(texts), **extra)

    async def go() -> list[str]:
        gen = await srv.serving.create_chat_completion(request)
        assert not hasattr(gen, "model_dump"), f"error response: {gen}"
        return [line async for line in gen]

    lines = asyncio.run(go())
    _check_engine_input(setup, script, names)
    assert lines[-1] == "data: [DONE]\n\n"
    chunks = [json.loads(line[len("data: ") :]) for line in lines[:-1]]
    return merge_chunks(chunks, len(texts)), chunks, script


def serve_full(
    setup: Setup,
    texts: list[str],
    finish: list[str],
    tools: Any = TOOLS,
    names: tuple[str, str] = ("minimax_rs", "minimax_rs"),
) -> tuple[list[Reply], dict[str, Any]]:
    srv = m3_server(*names)
    script = _script(texts, finish, 4)
    srv.engine.script = script
    request = _serving_request(setup, tools, False, n=len(texts))
    response = asyncio.run(srv.serving.create_chat_completion(request))
    _check_engine_input(setup, script, names)
    data = json.loads(response.model_dump_json())
    assert data.get("object") == "chat.completion", data
    replies = []
    for choice in data["choices"]:
        msg = choice["message"]
        calls = [
            {"id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
            for c in msg.get("tool_calls") or []
        ]
        replies.append(
            Reply(msg.get("reasoning"), msg.get("content"), calls, choice["finish_reason"])
        )
    return replies, data["usage"]


def as_message(reply: Reply) -> dict[str, Any]:
    for call in reply.tool_calls:
        assert call["id"].startswith("chatcmpl-tool-")
    return {
        "reasoning": reply.reasoning,
        "content": reply.content,
        "tool_calls": [{"name": c["name"], "arguments": c["arguments"]} for c in reply.tool_calls],
    }


# The template ends the prompt by thinking_mode only; the other setups are covered above.
SERVED_CASES = [c for c in CASES if CASES[c][0] in ("default", "adaptive", "enabled", "disabled")]


@pytest.mark.parametrize("case", SERVED_CASES)
def test_serving_cases(case: str) -> None:
    setup_name, text, want = CASES[case]
    setup = SETUPS[setup_name]
    calls = bool(want["tool_calls"])
    (got,), _, _ = serve_stream(setup, [text], ["stop"])
    assert same(as_message(got), want)
    assert got.finish_reason == ("tool_calls" if calls else "stop")
    options = {"include_usage": True, "continuous_usage_stats": True}
    (got,), chunks, script = serve_stream(
        setup, [text], ["stop"], per_step=4, stream_options=options
    )
    assert same(as_message(got), want)
    usage = chunks[-1]["usage"]
    assert usage["completion_tokens"] == len(script.token_ids[0])
    reasoning_tokens = usage["completion_tokens_details"]["reasoning_tokens"]
    assert (reasoning_tokens > 0) is bool(want["reasoning"])
    (got,), usage = serve_full(setup, [text], ["stop"])
    assert same(as_message(got), want)
    assert got.finish_reason == ("tool_calls" if calls else "stop")


def test_serving_two_choices_do_not_mix() -> None:
    setup = SETUPS["adaptive"]
    texts = ["<mm:think>plan</mm:think>Answer.", "</mm:think>Checking." + WEATHER]
    wants = [
        message("plan", "Answer."),
        message(None, "Checking.", PARIS_3),
    ]
    replies, _, _ = serve_stream(setup, texts, ["stop", "stop"], per_step=3)
    assert [same(as_message(r), w) for r, w in zip(replies, wants, strict=True)] == [True, True]
    replies, _ = serve_full(setup, texts, ["stop", "stop"])
    assert [same(as_message(r), w) for r, w in zip(replies, wants, strict=True)] == [True, True]


def test_serving_vllms_own_pair_streams_the_reasoning_as_content() -> None:
    """The same request served with vLLM's built-in ``minimax_m3`` pair: streaming, the
    realistic adaptive prompt sends the reasoning and its tags as content (vLLM #46042 /
    #50549); non-streaming, its ``parse`` ignores the prompt and gets it right."""
    setup = SETUPS["adaptive"]
    text = "<mm:think>plan</mm:think>Answer."
    builtin = ("minimax_m3", "minimax_m3")
    (theirs,), _, _ = serve_stream(setup, [text], ["stop"], names=builtin)
    assert (theirs.reasoning, theirs.content) == (None, text)
    (theirs,), _ = serve_full(setup, [text], ["stop"], names=builtin)
    assert (theirs.reasoning, theirs.content) == ("plan", "Answer.")
    (ours,), _, _ = serve_stream(setup, [text], ["stop"])
    assert (ours.reasoning, ours.content) == ("plan", "Answer.")


def _fixture_finish(f: Fixture) -> str:
    cut = any(c["incomplete"] for c in f.expected["tool_calls"]) or "truncation" in f.name
    return "length" if cut and f.input else "stop"


SERVED_FIXTURES = [f for f in M3_FIXTURES if _unsupported(f) is None]


@pytest.mark.parametrize("mode", ["stream-1", "full"])
@pytest.mark.parametrize("f", SERVED_FIXTURES, ids=[f.name for f in SERVED_FIXTURES])
def test_serving_fixture(f: Fixture, mode: str) -> None:
    setup = fixture_setups(f)[0]
    names = (fixture_names(f)["reasoning"], "minimax_rs")
    finish = _fixture_finish(f)
    if mode == "full":
        (got,), _ = serve_full(setup, [f.input], [finish], f.tools, names)
    else:
        (got,), _, _ = serve_stream(setup, [f.input], [finish], f.tools, names=names)
    assert as_message(got) == expected(f)
    # "length" wins over "tool_calls", non-streamed too (the plugin's finish_reason hook).
    if f.expected["tool_calls"] and finish == "stop":
        assert got.finish_reason == "tool_calls"
    else:
        assert got.finish_reason == finish

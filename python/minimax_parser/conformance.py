"""The conformance table: the golden fixtures through every MiniMax parser installed here.

``minimax-parser conformance`` runs each golden fixture (raw output, tools, options, expected
message; shipped in the package, see :func:`load_fixtures`) through:

* ``minimax-parser``: this package, one-shot and streamed one character at a time;
* ``vllm``: vLLM's built-in parser pair for the fixture's dialect (``minimax_m2`` or
  ``minimax_m3``, tool and reasoning), through its own ``ParserManager`` (``parse`` and
  ``parse_delta`` token by token with a small real tokenizer that has the dialect's markers at
  their real ids), when vLLM can be imported;
* ``sglang``: SGLang's ``MinimaxM2Detector`` after its ``minimax`` reasoning parser, or its
  ``MinimaxM3Detector`` after its ``minimax-m3`` reasoning parser, one-shot and streamed, when
  SGLang can be imported;
* ``sglang-minimax-rs``: this package inside SGLang (``minimax-rs``, see
  :mod:`minimax_parser.sglang`), through SGLang's own ``ReasoningParser`` and
  ``FunctionCallParser``, when SGLang can be imported;

and prints, per dialect and engine, how many fixtures it passes and which SPEC rules it breaks.
A fixture passes when both the one-shot and the streamed result equal its expected message:
reasoning and content compared as text (trimmed, empty as ``None``), tool calls by name and by the
JSON value of their arguments. Fixtures whose options an engine has no switch for are counted as
not applicable. A fixture's dialect is its ``"dialect"`` option (``"m2"`` when absent).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import (
    ContentDelta,
    ReasoningDelta,
    StreamParser,
    ToolCallEnd,
    ToolCallStart,
    __version__,
    parse,
)

__all__ = [
    "DIALECTS",
    "ENGINES",
    "FIXTURES_DIR",
    "Fixture",
    "Result",
    "load_fixtures",
    "main",
    "run_engine",
]

#: The dialects, in report order, with the name the report gives each.
DIALECTS = {"m2": "MiniMax-M2", "m3": "MiniMax-M3"}


@dataclass
class Fixture:
    """One golden fixture."""

    name: str
    rule: str
    input: str
    tools: list[dict[str, Any]] | None
    options: dict[str, Any]
    expected: dict[str, Any]
    engines: dict[str, str] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        """``"m2"`` or ``"m3"``: the fixture's ``dialect`` option, ``"m2"`` when absent."""
        return str(self.options.get("dialect", "m2"))


#: The golden fixtures, ``<group>/<name>.json``, shipped as package data. This is their one home:
#: the Rust suite, the fuzz seed corpus and ``tests/fixtures/make_fixtures.py`` (which writes
#: them) use this folder too; its format is described in ``tests/fixtures/README.md``.
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def default_fixtures_dir() -> Path:
    """The fixtures shipped with this package (:data:`FIXTURES_DIR`)."""
    return FIXTURES_DIR


def load_fixtures(root: Path | None = None) -> list[Fixture]:
    """Every fixture under ``root`` (default: :data:`FIXTURES_DIR`), sorted by name: each
    ``*.json`` file in a group folder below ``root``. Files directly in ``root`` are not
    fixtures."""
    root = root or FIXTURES_DIR
    paths = sorted(p for p in root.rglob("*.json") if p.parent != root)
    if not paths:
        raise FileNotFoundError(f"no fixtures under {root}; pass --fixtures DIR")
    out = []
    for path in paths:
        data = json.loads(path.read_text("utf-8"))
        out.append(
            Fixture(
                name=path.relative_to(root).with_suffix("").as_posix(),
                rule=data.get("rule", ""),
                input=data["input"],
                tools=data.get("tools"),
                options=data.get("options", {}),
                expected=data["expected"],
                engines=data.get("engines", {}),
            )
        )
    return out


def normalise(reasoning: str | None, content: str | None, calls: Sequence[Any]) -> dict[str, Any]:
    """A message in the comparable form (see the module docstring)."""

    def text(t: str | None) -> str | None:
        t = (t or "").strip()
        return t or None

    def args(a: Any) -> Any:
        if isinstance(a, str):
            try:
                return json.loads(a)
            except ValueError:
                return {"<invalid JSON>": a}
        return a

    return {
        "reasoning": text(reasoning),
        "content": text(content),
        "tool_calls": [[name, args(arguments)] for name, arguments in calls],
    }


def expected_of(f: Fixture) -> dict[str, Any]:
    e = f.expected
    calls = [(c["name"], c["arguments"]) for c in e["tool_calls"]]
    return normalise(e["reasoning"], e["content"], calls)


@dataclass
class Result:
    """One fixture through one engine."""

    fixture: Fixture
    applicable: bool
    one_shot: dict[str, Any] | None = None
    streamed: dict[str, Any] | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        want = expected_of(self.fixture)
        return self.error is None and self.one_shot == want and self.streamed == want


# -- engines ------------------------------------------------------------------------------------


def _ours(f: Fixture) -> Result:
    msg = parse(f.input, tools=f.tools, **f.options)
    one = normalise(msg.reasoning, msg.content, [(c.name, c.arguments) for c in msg.tool_calls])
    p = StreamParser(tools=f.tools, **f.options)
    events = [e for ch in f.input for e in p.feed(ch)] + p.finish()
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    content = "".join(e.text for e in events if isinstance(e, ContentDelta))
    ends = [(e.index, e.arguments) for e in events if isinstance(e, ToolCallEnd)]
    names = {e.index: e.name for e in events if isinstance(e, ToolCallStart)}
    streamed = normalise(reasoning, content, [(names[i], a) for i, a in ends])
    return Result(f, True, one, streamed)


def _starts_in_reasoning(f: Fixture) -> bool:
    """The fixture's start state: its ``start_in_reasoning`` option, else the dialect's default
    (M2 starts in reasoning, M3 in content)."""
    start = f.options.get("start_in_reasoning")
    return f.dialect == "m2" if start is None else bool(start)


# Markers at their ids in the real MiniMax-M2 vocabulary, and the chat template's turn tokens.
_SPECIAL = {
    "]~!b[": 200034,
    "]~b]": 200019,
    "[e~[": 200020,
    "<think>": 200050,
    "</think>": 200051,
    "<minimax:tool_call>": 200052,
    "</minimax:tool_call>": 200053,
}
_TURN = ("]~!b[", "]~b]", "[e~[")
# MiniMax-M3's markers at their ids in its vocabulary. They are added tokens but not special ones:
# they survive ``skip_special_tokens``, as in the real M3 tokenizer.
_M3_MARKERS = {"]<]minimax[>[": 200058, "<mm:think>": 200059, "</mm:think>": 200060}
_PROMPT = {
    True: "]~!b[]~b]user\nHi[e~[\n]~b]ai\n<think>\n",
    False: "]~!b[]~b]user\nHi[e~[\n]~b]ai\n<think>\n</think>\n\n",
}
# M3's chat template always opens with a system block whose thinking instructions quote the
# reasoning markers (paraphrased here); thinking_mode="enabled" ends the prompt with <mm:think>,
# "adaptive" (the default) with the bare assistant header.
_M3_SYSTEM = (
    "]~!b[]~b]system\nYou are a helpful assistant.\n\n<thinking_instructions>\nCurrent thinking "
    "mode: {mode}. Think inside <mm:think></mm:think> before answering when it helps; a reply "
    "without thinking starts with </mm:think>.\n</thinking_instructions>[e~[\n"
)
_M3_PROMPT = {
    True: _M3_SYSTEM.format(mode="enabled") + "]~b]user\nHi[e~[\n]~b]ai\n<mm:think>",
    False: _M3_SYSTEM.format(mode="adaptive") + "]~b]user\nHi[e~[\n]~b]ai\n",
}


def build_tokenizer(texts: Sequence[str], dialect: str = "m2") -> Any:
    """A small byte-level BPE tokenizer trained on ``texts`` with the dialect's markers at their
    real ids, as a transformers fast tokenizer: M2's four tags as special tokens (200050-200053),
    or M3's ``]<]minimax[>[``, ``<mm:think>``, ``</mm:think>`` as non-special added tokens
    (200058-200060); the chat template's turn tokens are special in both."""
    hf: Any = importlib.import_module("tokenizers")
    fast: Any = importlib.import_module("transformers").PreTrainedTokenizerFast
    special = _SPECIAL if dialect == "m2" else {t: _SPECIAL[t] for t in _TURN}
    added = {**special, **(_M3_MARKERS if dialect == "m3" else {})}
    tok = hf.Tokenizer(hf.models.BPE())
    tok.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = hf.decoders.ByteLevel()
    trainer = hf.trainers.BpeTrainer(
        vocab_size=1500,
        initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer)
    data = json.loads(tok.to_str())
    vocab: dict[str, int] = data["model"]["vocab"]
    used = set(vocab.values()) | set(added.values())
    for i in range(len(vocab), max(added.values()) + 1):
        if i not in used:
            vocab[f"<|filler_{i}|>"] = i
    vocab.update(added)
    data["added_tokens"] = [
        {
            "id": i,
            "content": c,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": c in special,
        }
        for c, i in added.items()
    ]
    return fast(tokenizer_object=hf.Tokenizer.from_str(json.dumps(data)))


@functools.lru_cache(maxsize=4)
def _tokenizer(dialect: str, texts: tuple[str, ...]) -> Any:
    """:func:`build_tokenizer` once per dialect and training set (both peers use it)."""
    return build_tokenizer(texts, dialect)


def _texts(fixtures: Sequence[Fixture], dialect: str) -> tuple[str, ...]:
    return tuple(f.input for f in fixtures if f.dialect == dialect)


def token_deltas(tokenizer: Any, text: str) -> Iterator[tuple[str, list[int]]]:
    """One token per delta, holding back an incomplete UTF-8 character as vLLM does."""
    held: list[int] = []
    ids = tokenizer.encode(text, add_special_tokens=False)
    for i, token in enumerate(ids):
        held.append(token)
        piece = tokenizer.decode(held, skip_special_tokens=False)
        if piece.endswith("\ufffd") and i + 1 < len(ids):
            continue
        yield piece, held
        held = []


class _Vllm:
    """vLLM's built-in parsers through ``ParserManager``: ``minimax_m2`` (or
    ``minimax_m2_append_think`` for inline reasoning) for M2 fixtures, ``minimax_m3`` for M3."""

    def __init__(self, fixtures: Sequence[Fixture]) -> None:
        self.vllm: Any = importlib.import_module("vllm")
        self.manager: Any = importlib.import_module("vllm.parser").ParserManager
        self.protocol: Any = importlib.import_module(
            "vllm.entrypoints.openai.chat_completion.protocol"
        )
        self.cached: Any = importlib.import_module("vllm.tokenizers.hf").get_cached_tokenizer
        self.texts = {d: _texts(fixtures, d) for d in DIALECTS}
        self.tokenizers: dict[str, Any] = {}
        self.version = f"vllm {self.vllm.__version__}"

    def tokenizer(self, dialect: str) -> Any:
        # Served models get vLLM's cached tokenizer (the vocabulary is read once); so do we.
        if dialect not in self.tokenizers:
            self.tokenizers[dialect] = self.cached(_tokenizer(dialect, self.texts[dialect]))
        return self.tokenizers[dialect]

    def _parser(self, f: Fixture) -> tuple[Any, Any]:
        tokenizer = self.tokenizer(f.dialect)
        extra: dict[str, Any] = {}
        if f.dialect == "m3":
            tool = reasoning = "minimax_m3"
            model = "MiniMaxAI/MiniMax-M3"
            # vLLM's server hands the request's chat_template_kwargs to the parsers; the M3
            # reasoning parser starts in reasoning when thinking_mode is "enabled".
            mode = "enabled" if _starts_in_reasoning(f) else "adaptive"
            extra["chat_template_kwargs"] = {"thinking_mode": mode}
        else:
            tool, model = "minimax_m2", "MiniMaxAI/MiniMax-M2.1"
            inline = f.options.get("reasoning") == "inline"
            reasoning = "minimax_m2_append_think" if inline else "minimax_m2"
        cls = self.manager.get_parser(
            tool_parser_name=tool,
            reasoning_parser_name=reasoning,
            enable_auto_tools=True,
            model_name=model,
            tokenizer=tokenizer,
        )
        tools = [
            t if "function" in t else {"type": "function", "function": t} for t in f.tools or []
        ]
        # vLLM forces tool_choice="none" without tools; an unrelated tool keeps "auto".
        tools = tools or [{"type": "function", "function": {"name": "zz_unrelated"}}]
        request = self.protocol.ChatCompletionRequest(
            model="m",
            messages=[{"role": "user", "content": "Hi"}],
            tools=tools,
            tool_choice="auto",
            **extra,
        )
        parser = cls(tokenizer, request.tools, model_config=None, **extra)
        return parser, parser.adjust_request(request)

    def __call__(self, f: Fixture) -> Result:
        m3 = f.dialect == "m3"
        if f.options.get("tool_calls_in_reasoning") == "ignore" or (
            m3 and f.options.get("reasoning") == "inline"  # no M3 inline parser in vLLM
        ):
            return Result(f, False)
        start = _starts_in_reasoning(f)
        tokenizer = self.tokenizer(f.dialect)
        parser, request = self._parser(f)
        one = None
        # vLLM 0.32's M2 parse() never sees the prompt: it assumes reasoning first. Its M3
        # parsers take the start state from thinking_mode.
        if start or m3:
            r, c, found = parser.parse(f.input, request, enable_auto_tools=True)
            one = normalise(r, c, [(x.name, x.arguments) for x in found or []])
        parser, request = self._parser(f)
        prompt_text = (_M3_PROMPT if m3 else _PROMPT)[start]
        prompt = tokenizer.encode(prompt_text, add_special_tokens=False)
        pieces = list(token_deltas(tokenizer, f.input)) or [("", [])]
        reasoning = content = ""
        calls: dict[int, list[str]] = {}
        for i, (text, ids) in enumerate(pieces):
            d = parser.parse_delta(
                text, ids, request, prompt_token_ids=prompt, finished=i == len(pieces) - 1
            )
            if d is None:
                continue
            reasoning += d.reasoning or ""
            content += d.content or ""
            for tc in d.tool_calls or []:
                call = calls.setdefault(tc.index, ["", ""])
                if tc.function is not None:
                    call[0] += tc.function.name or ""
                    call[1] += tc.function.arguments or ""
        streamed = normalise(reasoning, content, [tuple(calls[i]) for i in sorted(calls)])
        return Result(f, True, streamed if one is None else one, streamed)


class _Sglang:
    """SGLang's ``MinimaxM2Detector`` after its ``minimax`` reasoning parser for M2 fixtures;
    its ``MinimaxM3Detector`` after its ``minimax-m3`` reasoning parser for M3."""

    def __init__(self, fixtures: Sequence[Fixture]) -> None:
        sglang: Any = importlib.import_module("sglang")
        self.detectors: dict[str, Any] = {
            "m2": importlib.import_module("sglang.srt.function_call.minimax_m2").MinimaxM2Detector,
            "m3": importlib.import_module("sglang.srt.function_call.minimax_m3").MinimaxM3Detector,
        }
        self.reasoning: Any = importlib.import_module(
            "sglang.srt.parser.reasoning_parser"
        ).ReasoningParser
        self.tool: Any = importlib.import_module("sglang.srt.entrypoints.openai.protocol").Tool
        self.m3_texts = _texts(fixtures, "m3")
        self.version = f"sglang {getattr(sglang, '__version__', '?')}"

    def _tools(self, f: Fixture) -> list[Any]:
        tools = [
            self.tool.model_validate(t if "function" in t else {"type": "function", "function": t})
            for t in f.tools or []
        ]
        names = {t.function.name for t in tools}
        # SGLang drops calls to tools the request did not declare; declare the called ones.
        for name in re.findall(r"<invoke name=\"([^\"]+)\"", f.input):
            if name not in names:
                names.add(name)
                schema = {"type": "object", "properties": {}}
                function = {"name": name, "parameters": schema}
                tools.append(self.tool.model_validate({"type": "function", "function": function}))
        return tools

    def __call__(self, f: Fixture) -> Result:
        if f.options.get("tool_calls_in_reasoning") == "ignore":
            return Result(f, False)
        if f.dialect == "m3":
            return self._m3(f)
        if f.options.get("start_in_reasoning", True) is False:
            return Result(f, False)
        kind = "minimax-append-think" if f.options.get("reasoning") == "inline" else "minimax"
        tools = self._tools(f)
        reasoning, rest = self.reasoning(kind, stream_reasoning=True).parse_non_stream(f.input)
        res = self.detectors["m2"]().detect_and_parse(rest or "", tools)
        one = normalise(reasoning, res.normal_text, [(c.name, c.parameters) for c in res.calls])
        rp, det = self.reasoning(kind, stream_reasoning=True), self.detectors["m2"]()
        r_acc = c_acc = ""
        calls: dict[int, list[str]] = {}
        for i in range(0, len(f.input), 4):
            r, c = rp.parse_stream_chunk(f.input[i : i + 4])
            r_acc += r or ""
            if c:
                out = det.parse_streaming_increment(c, tools)
                c_acc += out.normal_text or ""
                for item in out.calls:
                    call = calls.setdefault(item.tool_index, ["", ""])
                    call[0] += item.name or ""
                    call[1] += item.parameters or ""
        streamed = normalise(r_acc, c_acc, [tuple(calls[i]) for i in sorted(calls)])
        return Result(f, True, one, streamed)

    def _m3(self, f: Fixture) -> Result:
        if f.options.get("reasoning") == "inline":  # no M3 inline reasoning parser in SGLang
            return Result(f, False)
        tools = self._tools(f)
        # SGLang forces reasoning first exactly when thinking_mode is "enabled".
        force = _starts_in_reasoning(f)

        def reasoning_parser() -> Any:
            return self.reasoning("minimax-m3", stream_reasoning=True, force_reasoning=force)

        reasoning, rest = reasoning_parser().parse_non_stream(f.input)
        res = self.detectors["m3"]().detect_and_parse(rest or "", tools)
        one = normalise(reasoning, res.normal_text, [(c.name, c.parameters) for c in res.calls])
        # Streamed one token per delta, as its server does, and flushed at the end as its server
        # does (the reasoning parser's parse_stream_end, then the detector's finish).
        rp, det = reasoning_parser(), self.detectors["m3"]()
        r_acc = c_acc = ""
        calls: dict[int, list[str]] = {}

        def absorb(out: Any) -> None:
            nonlocal c_acc
            c_acc += out.normal_text or ""
            for item in out.calls:
                call = calls.setdefault(item.tool_index, ["", ""])
                call[0] += item.name or ""
                call[1] += item.parameters or ""

        for text, _ in token_deltas(_tokenizer("m3", self.m3_texts), f.input):
            r, c = rp.parse_stream_chunk(text)
            r_acc += r or ""
            if c:
                absorb(det.parse_streaming_increment(c, tools))
        r, c = rp.parse_stream_end()
        r_acc += r or ""
        if c:
            absorb(det.parse_streaming_increment(c, tools))
        absorb(det.finish(tools))
        streamed = normalise(r_acc, c_acc, [tuple(calls[i]) for i in sorted(calls)])
        return Result(f, True, one, streamed)


class _SglangOurs:
    """This package inside SGLang (``minimax_parser.sglang``): its ``minimax-rs`` reasoning parser
    (``minimax-rs-append-think`` for inline reasoning) and tool-call parser, built and called as
    SGLang's chat-completions serving code builds and calls them (``ReasoningParser`` with the
    request, then ``FunctionCallParser`` when ``has_tool_call``; streamed one token per delta,
    both flushed at the end)."""

    def __init__(self, fixtures: Sequence[Fixture]) -> None:
        sglang: Any = importlib.import_module("sglang")
        plugin: Any = importlib.import_module("minimax_parser.sglang")
        plugin.register()
        self.plugin = plugin
        self.reasoning: Any = importlib.import_module(
            "sglang.srt.parser.reasoning_parser"
        ).ReasoningParser
        self.calls: Any = importlib.import_module(
            "sglang.srt.function_call.function_call_parser"
        ).FunctionCallParser
        self.protocol: Any = importlib.import_module("sglang.srt.entrypoints.openai.protocol")
        self.texts = {d: _texts(fixtures, d) for d in DIALECTS}
        self.version = f"sglang {getattr(sglang, '__version__', '?')} + minimax-rs"

    def _parsers(self, f: Fixture) -> tuple[Any, Any, Any]:
        tokenizer = _tokenizer(f.dialect, self.texts[f.dialect])
        kwargs = (
            {"thinking_mode": "enabled"} if f.dialect == "m3" and _starts_in_reasoning(f) else None
        )
        request = self.protocol.ChatCompletionRequest(
            model="m", messages=[{"role": "user", "content": "Hi"}], chat_template_kwargs=kwargs
        )
        inline = f.options.get("reasoning") == "inline"
        name = self.plugin.APPEND_THINK_PARSER_NAME if inline else self.plugin.REASONING_PARSER_NAME
        rp = self.reasoning(
            name, True, True, request, tokenizer=tokenizer, tool_call_parser_active=True
        )
        tools = [
            self.protocol.Tool.model_validate(
                t if "function" in t else {"type": "function", "function": t}
            )
            for t in f.tools or []
        ]
        fp = self.calls(
            tools, self.plugin.TOOL_PARSER_NAME, tokenizer=tokenizer, tool_choice="auto"
        )
        return rp, fp, tokenizer

    def __call__(self, f: Fixture) -> Result:
        if f.options.get("tool_calls_in_reasoning") == "ignore":
            return Result(f, False)
        # SGLang's parsers never see the prompt: an M2 response always starts in reasoning.
        if f.dialect == "m2" and f.options.get("start_in_reasoning", True) is False:
            return Result(f, False)
        rp, fp, tokenizer = self._parsers(f)
        reasoning, text = rp.parse_non_stream(f.input)
        found: list[Any] = []
        if fp.has_tool_call(text or ""):
            text, found = fp.parse_non_stream(text)
        one = normalise(reasoning, text, [(c.name, c.parameters) for c in found])
        rp, fp, _ = self._parsers(f)
        r_acc = c_acc = ""
        calls: dict[int, list[str]] = {}

        def absorb(normal: str, items: list[Any]) -> None:
            nonlocal c_acc
            c_acc += normal or ""
            for item in items:
                call = calls.setdefault(item.tool_index, ["", ""])
                call[0] += item.name or ""
                call[1] += item.parameters or ""

        for text, _ in token_deltas(tokenizer, f.input):
            r, n = rp.parse_stream_chunk(text)
            r_acc += r or ""
            if n:
                absorb(*fp.parse_stream_chunk(n))
        r, n = rp.parse_stream_end()
        r_acc += r or ""
        if n:
            absorb(*fp.parse_stream_chunk(n))
        absorb(*fp.parse_stream_end())
        streamed = normalise(r_acc, c_acc, [tuple(calls[i]) for i in sorted(calls)])
        return Result(f, True, one, streamed)


ENGINES: dict[str, Callable[[Sequence[Fixture]], Callable[[Fixture], Result]]] = {
    "minimax-parser": lambda fixtures: _ours,
    "vllm": _Vllm,
    "sglang": _Sglang,
    "sglang-minimax-rs": _SglangOurs,
}


def run_engine(name: str, fixtures: Sequence[Fixture]) -> tuple[str, list[Result]]:
    """Runs every fixture through engine ``name``; returns its version label and the results.
    Raises ``ImportError`` when the engine is not installed."""
    runner = ENGINES[name](fixtures)
    version = getattr(runner, "version", f"minimax-parser {__version__}")
    results = []
    for f in fixtures:
        try:
            results.append(runner(f))
        except Exception as e:  # an engine that raises on a fixture fails that fixture
            results.append(Result(f, True, error=f"{type(e).__name__}: {e}"))
    return version, results


def _section(rule: str, dialect: str = "m2") -> str:
    """The SPEC section a fixture's rule cites ("behaviour" for the appendix's choices); for M3
    with §7's part named (``§7 closing``), since all of M3 is one section."""
    m = re.search(r"SPEC §(\d+)((?: [A-Za-z]+)*)", rule)
    if not m:
        return "behaviour"
    return f"§{m.group(1)}{m.group(2) if dialect == 'm3' else ''}"


# What each engine runs, per dialect (the report's headings name them).
_PEERS = {
    "m2": "vLLM's `minimax_m2` tool and reasoning parsers; SGLang's `MinimaxM2Detector` after its "
    "`minimax` reasoning parser; this package inside SGLang (`minimax-rs`)",
    "m3": "vLLM's `minimax_m3` tool and reasoning parsers; SGLang's `MinimaxM3Detector` after its "
    "`minimax-m3` reasoning parser; this package inside SGLang (`minimax-rs`)",
}


def report(runs: Sequence[tuple[str, str, list[Result]]]) -> str:
    """The conformance tables, one per dialect, and the rules each engine breaks, as Markdown."""
    out: list[str] = []
    for dialect, title in DIALECTS.items():
        per_engine = [
            (name, version, [r for r in results if r.fixture.dialect == dialect])
            for name, version, results in runs
        ]
        count = max((len(results) for _, _, results in per_engine), default=0)
        if not count:
            continue
        out += [
            *([""] if out else []),
            f"## {title} ({count} fixtures)\n",
            f"{_PEERS[dialect]}.\n",
            "| engine | version | fixtures passed | not applicable | SPEC sections broken |",
            "|---|---|---:|---:|---|",
        ]
        details = []
        for name, version, results in per_engine:
            applicable = [r for r in results if r.applicable]
            failed = [r for r in applicable if not r.passed]
            sections = sorted({_section(r.fixture.rule, dialect) for r in failed})
            out.append(
                f"| {name} | {version} | {len(applicable) - len(failed)} / {len(applicable)} "
                f"| {len(results) - len(applicable)} | {', '.join(sections) or 'none'} |"
            )
            if failed:
                # How many of them are right one-shot and wrong only when streamed.
                split = sum(r.one_shot == expected_of(r.fixture) for r in failed if not r.error)
                details.append(
                    f"\n### {name} on {title}: rules broken ({len(failed)} fixtures, "
                    f"{split} of them only when streamed)\n"
                )
                rules: dict[str, list[str]] = {}
                for r in failed:
                    rules.setdefault(r.fixture.rule or "(no rule)", []).append(r.fixture.name)
                for rule, names in sorted(rules.items()):
                    shown = ", ".join(f"`{n}`" for n in names[:4])
                    more = f" and {len(names) - 4} more" if len(names) > 4 else ""
                    details.append(f"* {rule}: {shown}{more}")
        out += details
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``minimax-parser conformance``."""
    ap = argparse.ArgumentParser(prog="minimax-parser conformance", description=__doc__)
    ap.add_argument(
        "--fixtures",
        type=Path,
        default=None,
        help="fixtures folder, <group>/<name>.json (default: the ones shipped with the package)",
    )
    ap.add_argument("--engine", action="append", choices=sorted(ENGINES), help="repeatable")
    ap.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = ap.parse_args(argv)
    fixtures = load_fixtures(args.fixtures)
    runs = []
    for name in args.engine or list(ENGINES):
        try:
            version, results = run_engine(name, fixtures)
        except ImportError as e:
            print(f"{name}: not installed here ({e}); skipped", file=sys.stderr)
            continue
        runs.append((name, version, results))
    text = report(runs)
    print(text, end="")
    if args.markdown:
        header = (
            "# Conformance\n\nGenerated by `minimax-parser conformance --markdown "
            f"{args.markdown}` over {len(fixtures)} fixtures.\n\n"
        )
        args.markdown.write_text(header + text, "utf-8")
    return 0

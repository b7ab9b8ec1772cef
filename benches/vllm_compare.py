"""µs per token in the tool-call phase: vLLM's built-in ``minimax_m2`` vs ``minimax_rs`` (ours),
streamed through vLLM 0.32's ``ParserManager`` -> ``Parser.parse_delta`` path one token at a time,
plus SGLang's ``MinimaxM2Detector`` (after its ``minimax`` reasoning parser) when importable.

Under vLLM 0.11 the same workload goes through that release's own serving path instead
(``OpenAIServingChat.chat_completion_stream_generator``; there is no ``Parser`` and no SGLang
column): ``minimax_rs`` against 0.11's built-in ``minimax_m2`` tool and reasoning parsers, each
step timed whole and inside the parsers, next to what the generator's own text accumulation costs.

Run under a vLLM venv (scripts/vllm_env.sh) with this checkout's wheel installed there (as
scripts/test.sh installs it), from the repository root::

    "$(bash scripts/vllm_env.sh 0.32.0)" benches/vllm_compare.py
    "$(bash scripts/vllm_env.sh 0.11.2)" benches/vllm_compare.py

The workload is ``benches/workloads.write_file_response``: reasoning, a short reply, then one
``write_file`` call whose ``content`` is 80, 320 and 1,280 lines of code. Token ids come from the
test suite's tokenizer (``tests/vllm/conftest.py``: a byte-level BPE with the MiniMax markers as
single special tokens at ids 200050-200053); deltas are one token each, partial UTF-8 held back as
vLLM's detokenizer does. The tool-call phase is every delta from the one holding
``<minimax:tool_call>`` to the end (``finished=True`` included); its parse time divided by its token
count is the number reported. vLLM's built-in parser re-parses the growing arguments on every
delta, so a cell stops after ``--max-seconds`` and reports a lower bound (``>``: the time spent
divided by *all* of the phase's tokens, so it holds whatever the rest would have cost).

``--dialect m3`` (vLLM 0.32 only) runs the same call in MiniMax-M3's format
(``benches/workloads.write_file_response_m3``, ``thinking_mode="enabled"``): ours, both
``minimax_rs`` (our vLLM plugin, which takes the dialect from the tokenizer) through vLLM's
``ParserManager`` -> ``Parser.parse_delta`` and ``StreamParser(dialect="m3")`` fed the deltas
directly, against vLLM's built-in ``minimax_m3`` tool and reasoning parsers (the same vLLM path) and
SGLang's
``MinimaxM3Detector`` after its ``minimax-m3`` reasoning parser. The tokenizer is the test
suite's M3 one (``]<]minimax[>[``, ``<mm:think>``, ``</mm:think>`` at ids 200058-200060, trained
on the M3 fixtures); the tool-call phase starts at the delta holding
``]<]minimax[>[<tool_call>``. Besides µs per token it reports how flat each engine's cost is (1,280
vs 80 lines) and when the call's first argument byte after ``{`` reaches the client: how many
tokens into the tool-call phase, and the parser time spent until then.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches"))
sys.path.insert(0, str(ROOT / "tests" / "vllm"))

from workloads import (  # noqa: E402
    M3_MARKER,
    TOOLS,
    code_lines,
    write_file_response,
    write_file_response_m3,
)

TOOL_START = "<minimax:tool_call>"
MODEL = "MiniMaxAI/MiniMax-M2.1"
M3_TOOL_START = M3_MARKER + "<tool_call>"
M3_MODEL = "MiniMaxAI/MiniMax-M3"
# The M3 template's generation prompt in thinking_mode="enabled" ends with <mm:think>.
M3_PROMPT = (
    "]~!b[]~b]system\nYou are helpful.[e~[\n]~b]user\nRewrite src/lib.rs[e~[\n]~b]ai\n<mm:think>"
)
M3_TEMPLATE_KWARGS = {"thinking_mode": "enabled"}


def _request(protocol: Any, m3: bool = False) -> Any:
    """The streamed chat request of the workload, in the given vLLM protocol module."""
    return protocol.ChatCompletionRequest(
        model=M3_MODEL if m3 else MODEL,
        messages=[{"role": "user", "content": "Rewrite src/lib.rs"}],
        tools=TOOLS,
        tool_choice="auto",
        stream=True,
        **({"chat_template_kwargs": M3_TEMPLATE_KWARGS} if m3 else {}),
    )


@dataclass
class Workload:
    lines: int
    text: str
    deltas: list[tuple[str, list[int]]]
    tool_from: int  # index of the first tool-call-phase delta
    tool_tokens: int
    prompt_ids: list[int]
    expected_args: dict[str, Any]
    dialect: str = "m2"


@dataclass
class Cell:
    us_per_token: float  # the tool-call phase
    lower_bound: bool  # stopped by --max-seconds
    tokens_done: int  # tool-call-phase tokens parsed
    correct: bool | None  # final arguments == expected (None: not finished)
    # (tool-call-phase tokens up to the delta that gave the call's first argument byte after
    # "{", parser seconds until then); None when it never came
    first_arg: tuple[int, float] | None = None

    def show(self) -> str:
        if self.lower_bound:
            return f"> {self.us_per_token:,.0f}"
        return (
            f"{self.us_per_token:,.2f}" if self.us_per_token < 100 else f"{self.us_per_token:,.0f}"
        )


def vllm_test_helpers() -> Any:
    """``tests/vllm/conftest.py`` (its tokenizer and delta helper), first on ``sys.path``."""
    return importlib.import_module("conftest")


def build_workload(tokenizer: Any, lines: int, dialect: str = "m2") -> Workload:
    helpers = vllm_test_helpers()
    m3 = dialect == "m3"
    text = (write_file_response_m3 if m3 else write_file_response)(lines)
    deltas = list(helpers.token_deltas(tokenizer, text, 1))
    assert "".join(d for d, _ in deltas) == text
    seen, tool_from = "", None
    for i, (piece, _) in enumerate(deltas):
        seen += piece
        if (M3_TOOL_START if m3 else TOOL_START) in seen:
            tool_from = i
            break
    assert tool_from is not None
    prompt = M3_PROMPT if m3 else helpers.PROMPT_IN_REASONING
    return Workload(
        lines=lines,
        text=text,
        deltas=deltas,
        tool_from=tool_from,
        tool_tokens=sum(len(ids) for _, ids in deltas[tool_from:]),
        prompt_ids=tokenizer.encode(prompt, add_special_tokens=False),
        expected_args={"path": "src/lib.rs", "content": code_lines(lines)},
        dialect=dialect,
    )


def m3_tokenizer() -> Any:
    """The test suite's M3 tokenizer (``tests/vllm/conftest.py``: the conformance command's M3
    tokenizer trained on the M3 fixtures), in vLLM's cached wrapper as a served model has it."""
    cached = importlib.import_module("vllm.tokenizers.hf").get_cached_tokenizer
    return cached(vllm_test_helpers().get_m3_tokenizer())


# ---------------------------------------------------------------------------------------------
# Engines: each returns a function that streams the whole workload and yields timings.


@dataclass
class Timing:
    tool_time: float  # seconds in the tool-call phase
    tool_tokens: int  # tool-call-phase tokens fed
    done: bool  # every delta fed (not stopped by the budget)
    first_arg: tuple[int, float] | None  # see Cell.first_arg


def timed_run(
    w: Workload,
    step: Callable[[str, list[int], bool], Any],
    absorb: Callable[[Any], None],
    budget: float,
    args: dict[int, str] | None = None,
) -> Timing:
    """Feeds every delta and times the tool-call phase.

    Only ``step`` is timed. ``absorb`` folds its result into the client's view and drops it, as
    a server serializes each delta and lets it go: keeping tens of thousands of delta objects
    alive would time the garbage collector walking them, not the parser. ``args`` is the
    arguments text ``absorb`` collects per call, watched for the first byte after ``{``.
    """
    spent_total, tool_time, tool_tokens = 0.0, 0.0, 0
    first_arg = None
    n = len(w.deltas)
    clock = time.perf_counter
    for i, (piece, ids) in enumerate(w.deltas):
        t = clock()
        result = step(piece, ids, i == n - 1)
        dt = clock() - t
        absorb(result)
        del result
        spent_total += dt
        if i >= w.tool_from:
            tool_time += dt
            tool_tokens += len(ids)
        if first_arg is None and args and len(args.get(0, "").lstrip()) > 1:
            first_arg = (tool_tokens, tool_time)
        if spent_total > budget and i < n - 1:
            return Timing(tool_time, tool_tokens, False, first_arg)
    return Timing(tool_time, tool_tokens, True, first_arg)


def _cell(w: Workload, timing: Timing, args: dict[int, str]) -> Cell:
    correct = None
    if timing.done:
        correct = list(args) == [0] and json.loads(args[0]) == w.expected_args
    us = timing.tool_time / w.tool_tokens * 1e6
    return Cell(us, not timing.done, timing.tool_tokens, correct, timing.first_arg)


def vllm_engine(name: str, tokenizer: Any, m3: bool = False) -> Callable[[Workload, float], Cell]:
    """``name`` as tool and reasoning parser; for M3 built with ``thinking_mode="enabled"`` in
    ``chat_template_kwargs``, as vLLM's server builds it for such a request."""
    ParserManager = importlib.import_module("vllm.parser").ParserManager
    protocol = importlib.import_module("vllm.entrypoints.openai.chat_completion.protocol")
    if name.startswith("minimax_rs"):
        importlib.import_module("minimax_parser.vllm_plugin").register()
    cls = ParserManager.get_parser(
        tool_parser_name=name,
        reasoning_parser_name=name,
        enable_auto_tools=True,
        model_name=M3_MODEL if m3 else MODEL,
        tokenizer=tokenizer,
    )
    extra = {"chat_template_kwargs": M3_TEMPLATE_KWARGS} if m3 else {}

    def run(w: Workload, budget: float) -> Cell:
        request = _request(protocol, m3)
        parser = cls(tokenizer, request.tools, model_config=None, **extra)
        request = parser.adjust_request(request)
        args: dict[int, str] = {}

        def step(piece: str, ids: list[int], last: bool) -> Any:
            return parser.parse_delta(
                piece, ids, request, prompt_token_ids=w.prompt_ids, finished=last
            )

        def absorb(delta: Any) -> None:
            for tc in (delta.tool_calls if delta is not None else None) or []:
                if tc.function is not None and tc.function.arguments:
                    args[tc.index] = args.get(tc.index, "") + tc.function.arguments

        return _cell(w, timed_run(w, step, absorb, budget, args), args)

    return run


def sglang_engine() -> Callable[[Workload, float], Cell] | None:
    try:
        detector_mod = importlib.import_module("sglang.srt.function_call.minimax_m2")
        reasoning_mod = importlib.import_module("sglang.srt.parser.reasoning_parser")
        protocol = importlib.import_module("sglang.srt.entrypoints.openai.protocol")
    except Exception as e:  # any import failure means "no SGLang column"
        print(f"(SGLang not importable: {type(e).__name__}: {e})", file=sys.stderr)
        return None
    tools = [protocol.Tool(**t) for t in TOOLS]

    def run(w: Workload, budget: float) -> Cell:
        reasoning = reasoning_mod.ReasoningParser("minimax", stream_reasoning=True)
        detector = detector_mod.MinimaxM2Detector()
        args: dict[int, str] = {}

        def step(piece: str, ids: list[int], last: bool) -> Any:
            _, normal = reasoning.parse_stream_chunk(piece)
            return detector.parse_streaming_increment(normal, tools) if normal else None

        def absorb(result: Any) -> None:
            for call in result.calls if result is not None else ():
                args[call.tool_index] = args.get(call.tool_index, "") + (call.parameters or "")

        return _cell(w, timed_run(w, step, absorb, budget, args), args)

    return run


def sglang_m3_engine() -> Callable[[Workload, float], Cell] | None:
    """SGLang's ``MinimaxM3Detector`` after its ``minimax-m3`` reasoning parser (reasoning forced
    first, as its server does for ``thinking_mode="enabled"``); both flushed at the end as its
    server does."""
    try:
        detector_mod = importlib.import_module("sglang.srt.function_call.minimax_m3")
        reasoning_mod = importlib.import_module("sglang.srt.parser.reasoning_parser")
        protocol = importlib.import_module("sglang.srt.entrypoints.openai.protocol")
    except Exception as e:  # any import failure means "no SGLang column"
        print(f"(SGLang not importable: {type(e).__name__}: {e})", file=sys.stderr)
        return None
    tools = [protocol.Tool(**t) for t in TOOLS]

    def run(w: Workload, budget: float) -> Cell:
        reasoning = reasoning_mod.ReasoningParser(
            "minimax-m3", stream_reasoning=True, force_reasoning=True
        )
        detector = detector_mod.MinimaxM3Detector()
        args: dict[int, str] = {}

        def step(piece: str, ids: list[int], last: bool) -> Any:
            _, normal = reasoning.parse_stream_chunk(piece)
            results = [detector.parse_streaming_increment(normal, tools)] if normal else []
            if last:
                _, normal = reasoning.parse_stream_end()
                if normal:
                    results.append(detector.parse_streaming_increment(normal, tools))
                results.append(detector.finish(tools))
            return results

        def absorb(results: Any) -> None:
            for result in results:
                for call in result.calls:
                    args[call.tool_index] = args.get(call.tool_index, "") + (call.parameters or "")

        return _cell(w, timed_run(w, step, absorb, budget, args), args)

    return run


def ours_m3_engine() -> Callable[[Workload, float], Cell]:
    """``StreamParser(dialect="m3")`` fed each delta directly (no serving layer around it)."""
    mp = importlib.import_module("minimax_parser")

    def run(w: Workload, budget: float) -> Cell:
        parser = mp.StreamParser(tools=TOOLS, dialect="m3", start_in_reasoning=True)
        args: dict[int, str] = {}

        def step(piece: str, ids: list[int], last: bool) -> Any:
            events = parser.feed(piece)
            return events + parser.finish() if last else events

        def absorb(events: Any) -> None:
            for e in events:
                if isinstance(e, mp.ToolCallDelta):
                    args[e.index] = args.get(e.index, "") + e.arguments

        return _cell(w, timed_run(w, step, absorb, budget, args), args)

    return run


def best_of(run: Callable[[Workload, float], Cell], w: Workload, budget: float, n: int) -> Cell:
    cells = []
    for _ in range(n):
        gc.collect()  # start each run from a clean heap (the built-in leaves a lot behind)
        cells.append(run(w, budget))
    return min(cells, key=lambda c: c.us_per_token)


# ---------------------------------------------------------------------------------------------
# vLLM 0.11: the legacy serving path, ``OpenAIServingChat.chat_completion_stream_generator``


@dataclass
class LegacyCell:
    step_us: float  # the whole serving step, per tool-phase token
    parsers_us: float  # of which: inside the parser methods
    lower_bound: bool
    correct: bool | None
    trims: bool = False  # correct except for whitespace trimmed off string values

    def show(self) -> str:
        def fmt(x: float) -> str:
            return f"{x:,.2f}" if x < 100 else f"{x:,.0f}"

        if self.lower_bound:
            return f"> {fmt(self.step_us)} / > {fmt(self.parsers_us)}"
        return f"{fmt(self.step_us)} / {fmt(self.parsers_us)}"


_PARSER_METHODS = (
    "extract_reasoning_streaming",
    "is_reasoning_end",
    "extract_content_ids",
    "extract_tool_calls_streaming",
)


def _time_methods(classes: list[Any], spent: list[float]) -> None:
    """Adds the time spent in the parsers' streaming methods to ``spent[0]``."""
    clock = time.perf_counter
    for cls in classes:
        for name in _PARSER_METHODS:
            method = getattr(cls, name, None)
            if method is None or getattr(method, "_timed", False):
                continue

            def timed(*args: Any, _method: Any = method, **kwargs: Any) -> Any:
                t = clock()
                try:
                    return _method(*args, **kwargs)
                finally:
                    spent[0] += clock() - t

            timed._timed = True  # type: ignore[attr-defined]
            setattr(cls, name, timed)


def legacy_engine(name: str, tokenizer: Any) -> Callable[[Workload, float], LegacyCell]:
    """``--tool-call-parser NAME --reasoning-parser NAME`` with auto tool choice, through 0.11's
    own stream generator (built as ``tests/vllm/test_legacy.py`` builds it), one token per
    engine step. Each step is timed from the engine handing over its output to the generator
    asking for the next one (the generator's work for that output, chunk serialization
    included); the parsers' share is timed inside their methods."""
    legacy = importlib.import_module("test_legacy")
    protocol = importlib.import_module("vllm.entrypoints.openai.protocol")
    outputs = importlib.import_module("vllm.outputs")
    serving = legacy.serving(reasoning=name, tool=name)
    spent = [0.0]
    _time_methods([serving.reasoning_parser, serving.tool_parser], spent)

    def run(w: Workload, budget: float) -> LegacyCell:
        request = _request(protocol)
        request = legacy._prepare(serving, tokenizer, request)
        n = len(w.deltas)
        results = [
            outputs.RequestOutput(
                request_id="r",
                prompt=None,
                prompt_token_ids=w.prompt_ids,
                prompt_logprobs=None,
                outputs=[
                    outputs.CompletionOutput(
                        index=0,
                        text=piece,
                        token_ids=list(ids),
                        cumulative_logprob=None,
                        logprobs=None,
                        finish_reason="stop" if k == n - 1 else None,
                    )
                ],
                finished=k == n - 1,
            )
            for k, (piece, ids) in enumerate(w.deltas)
        ]
        clock = time.perf_counter
        stamps: list[tuple[float, float]] = []  # (clock, parser time) as each output goes in
        start = clock()

        async def replay() -> Any:
            for k, res in enumerate(results):
                if k and clock() - start > budget:
                    break
                stamps.append((clock(), spent[0]))
                yield res
            stamps.append((clock(), spent[0]))

        async def go() -> list[str]:
            gen = serving.chat_completion_stream_generator(
                request,
                replay(),
                "r",
                "m",
                [],
                tokenizer,
                protocol.RequestResponseMetadata(request_id="r"),
            )
            return [line async for line in gen]

        gc.collect()
        lines = asyncio.run(go())
        steps = len(stamps) - 1
        done = steps == n
        step_time = stamps[-1][0] - stamps[min(w.tool_from, steps)][0]
        parser_time = stamps[-1][1] - stamps[min(w.tool_from, steps)][1]
        correct = None
        per = 1e6 / w.tool_tokens
        if done:
            chunks = [json.loads(x[len("data: ") :]) for x in lines[:-1]]
            got = legacy.merge_chunks(chunks)
            args = [json.loads(c["arguments"]) for c in got["tool_calls"]]
            correct = args == [w.expected_args] and got["finish_reason"] == "tool_calls"
            if not correct and args and got["finish_reason"] == "tool_calls":
                # 0.11's built-in trims string values: the content's last newline goes.
                trimmed = {k: v.strip() for k, v in w.expected_args.items()}
                if [{k: v.strip() for k, v in a.items()} for a in args] == [trimmed]:
                    return LegacyCell(step_time * per, parser_time * per, not done, True, True)
        return LegacyCell(step_time * per, parser_time * per, not done, correct)

    return run


def alone_us(w: Workload, tokenizer: Any, repeat: int) -> float:
    """``minimax_rs``'s 0.11 reasoning parser driven directly with the same deltas (what the
    generator calls on each step when our two parsers are linked: ``extract_reasoning_streaming``
    and the two ``is_reasoning_end`` questions), without the generator around it; per tool-phase
    token, best of ``repeat``."""
    legacy = importlib.import_module("test_legacy")
    plugin = importlib.import_module("minimax_parser.vllm_plugin.v0_11")
    protocol = importlib.import_module("vllm.entrypoints.openai.protocol")
    serving = legacy.serving()
    clock = time.perf_counter
    best = float("inf")
    for _ in range(repeat):
        request = _request(protocol)
        served = plugin.ServedRequest(serving, request)
        served.prompt = w.prompt_ids
        token = plugin._SERVED.set(served)
        parser = serving.reasoning_parser(tokenizer)
        serving.tool_parser(tokenizer)
        plugin._SERVED.reset(token)
        n, spent = len(w.deltas), 0.0
        gc.collect()
        for k, (piece, ids) in enumerate(w.deltas):
            served.output = outputs_stub(k == n - 1)
            t = clock()
            parser.extract_reasoning_streaming("", "", piece, [], [], ids)
            parser.is_reasoning_end(ids)
            parser.is_reasoning_end(w.prompt_ids)
            dt = clock() - t
            if k >= w.tool_from:
                spent += dt
        best = min(best, spent)
    return best / w.tool_tokens * 1e6


def outputs_stub(last: bool) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(index=0, finish_reason="stop" if last else None)


def accumulation_us(w: Workload) -> float:
    """What 0.11's stream generator does with the text itself on every step, for any parser:
    ``current_text = previous_text + delta_text`` and the same for the token ids (both grow with
    the response), per tool-phase token; best of 3."""
    best = float("inf")
    clock = time.perf_counter
    for _ in range(3):
        previous_text, previous_ids = "", list[int]()
        spent = 0.0
        for k, (piece, ids) in enumerate(w.deltas):
            t = clock()
            current_text = previous_text + piece
            current_ids = previous_ids + ids
            dt = clock() - t
            previous_text, previous_ids = current_text, current_ids
            if k >= w.tool_from:
                spent += dt
        best = min(best, spent)
    return best / w.tool_tokens * 1e6


def _mark(cell: LegacyCell) -> str:
    return " (wrong)" if cell.correct is False else (" (trims)" if cell.trims else "")


def main_legacy(args: argparse.Namespace, vllm_version: str) -> None:
    tokenizer = vllm_test_helpers().get_tokenizer()
    ours = legacy_engine("minimax_rs", tokenizer)
    builtin = legacy_engine("minimax_m2", tokenizer)
    workloads = [build_workload(tokenizer, n) for n in args.lines]
    warm = build_workload(tokenizer, 8)
    ours(warm, args.max_seconds)
    builtin(warm, args.max_seconds)

    rows = []
    for w in workloads:
        cells = {}
        for label, run, repeat in (("minimax_rs", ours, args.repeat), ("minimax_m2", builtin, 1)):
            cell = min((run(w, args.max_seconds) for _ in range(repeat)), key=lambda c: c.step_us)
            cells[label] = cell
            status = {True: "ok", False: "WRONG", None: "stopped"}[cell.correct] + _mark(cell)
            print(
                f"  {w.lines} lines, {label}: {cell.show()} µs/token ({status}; "
                f"{time.strftime('%H:%M:%S')})",
                file=sys.stderr,
                flush=True,
            )
        rows.append((w, cells, accumulation_us(w), alone_us(w, tokenizer, args.repeat)))

    print(
        f"\nvLLM {vllm_version}, OpenAIServingChat.chat_completion_stream_generator, one token "
        "per engine step; µs per token in the tool-call phase, whole step / inside the parsers "
        "(lower is better)\n"
    )
    header = [
        "content lines",
        "tokens (tool phase / total)",
        "vLLM minimax_m2",
        "minimax_rs",
        "vLLM's text accumulation",
        "minimax_rs step minus accumulation",
        "minimax_rs parsers alone",
        "built-in / minimax_rs (step)",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for w, cells, acc, alone in rows:
        o, b = cells["minimax_rs"], cells["minimax_m2"]
        print(
            "| "
            + " | ".join(
                [
                    f"{w.lines:,}",
                    f"{w.tool_tokens:,} / {sum(len(i) for _, i in w.deltas):,}",
                    b.show() + _mark(b),
                    o.show() + _mark(o),
                    f"{acc:,.2f}",
                    f"{o.step_us - acc:,.2f}",
                    f"{alone:,.2f}",
                    ("> " if b.lower_bound else "") + f"{b.step_us / o.step_us:,.0f}x",
                ]
            )
            + " |"
        )
    first, last = rows[0], rows[-1]
    growth = (last[1]["minimax_rs"].step_us - last[2]) / (first[1]["minimax_rs"].step_us - first[2])
    parsers = last[1]["minimax_rs"].parsers_us / first[1]["minimax_rs"].parsers_us
    alone = last[3] / first[3]
    print()
    print(
        f"* minimax_rs, {last[0].lines:,} vs {first[0].lines:,} lines: parsers alone {alone:.2f}x; "
        f"inside the generator: in the parsers {parsers:.2f}x, step minus vLLM's accumulation "
        f"{growth:.2f}x (the generator copies the whole text and id list on every step, which "
        "slows whatever runs next to it)"
    )
    print(
        "* (trims): the call's arguments are right except that string values lose trailing "
        "whitespace (the content's last newline)"
    )
    print(
        f"* budget {args.max_seconds:g} s per cell; minimax_rs best of {args.repeat}; built-in one "
        "run; timers wrap the parser methods of both engines alike"
    )
    print(f"* command: {' '.join([sys.executable, *sys.argv])}")


def measure(
    engines: dict[str, tuple[Callable[[Workload, float], Cell], int]],
    workloads: list[Workload],
    warm: Workload,
    args: argparse.Namespace,
    *,
    first_arg: bool,
) -> dict[int, dict[str, Cell]]:
    """Each engine on ``warm`` once, then on each workload (best of its repeat count), engines
    in order at each size; progress on stderr."""
    for run, _ in engines.values():
        run(warm, args.max_seconds)
    results: dict[int, dict[str, Cell]] = {}
    for w in workloads:
        results[w.lines] = {}
        for name, (run, repeat) in engines.items():
            cell = best_of(run, w, args.max_seconds, repeat)
            results[w.lines][name] = cell
            status = {True: "ok", False: "WRONG ARGUMENTS", None: "stopped"}[cell.correct]
            first = f"first argument byte {_first_arg(cell)}; " if first_arg else ""
            print(
                f"  {w.lines} lines, {name}: {cell.show()} µs/token ({status}; "
                f"{cell.tokens_done}/{w.tool_tokens} tool-phase tokens; {first}"
                f"{time.strftime('%H:%M:%S')})",
                file=sys.stderr,
                flush=True,
            )
    return results


def _first_arg(cell: Cell) -> str:
    if cell.first_arg is None:
        return "never" if cell.correct is not None else "not reached"
    tokens, seconds = cell.first_arg
    ms = seconds * 1e3
    return f"{tokens:,} / {ms:,.2f} ms" if ms < 100 else f"{tokens:,} / {ms:,.0f} ms"


def main_m3(args: argparse.Namespace, vllm_version: str) -> None:
    tokenizer = m3_tokenizer()
    ours = "minimax-parser"
    sglang_name, vllm_name = "SGLang MinimaxM3Detector", "vLLM minimax_m3"
    # The fast engines run first at each size, so a long run of another cannot disturb them.
    engines: dict[str, tuple[Callable[[Workload, float], Cell], int]] = {
        ours: (ours_m3_engine(), args.repeat),
    }
    # Our vLLM plugin reads the dialect from the tokenizer's vocabulary.
    engines["minimax_rs"] = (vllm_engine("minimax_rs", tokenizer, m3=True), args.repeat)
    sglang = None if args.no_sglang else sglang_m3_engine()
    if sglang is not None:
        engines[sglang_name] = (sglang, args.repeat)
    engines[vllm_name] = (vllm_engine("minimax_m3", tokenizer, m3=True), args.repeat_builtin)

    workloads = [build_workload(tokenizer, n, "m3") for n in args.lines]
    warm = build_workload(tokenizer, 8, "m3")
    results = measure(engines, workloads, warm, args, first_arg=True)

    names = [n for n in (vllm_name, "minimax_rs", sglang_name, ours) if n in engines]
    print(
        f'\nvLLM {vllm_version}, MiniMax-M3 (thinking_mode="enabled"), one token per delta; µs '
        "per token in the tool-call phase (lower is better). vLLM through "
        'ParserManager -> Parser.parse_delta; minimax-parser\'s StreamParser(dialect="m3") '
        "and SGLang's detectors driven directly.\n"
    )
    # Like with like: vLLM's built-in against our plugin (the same vLLM path), SGLang's
    # detectors against our parser (both driven directly).
    ratios = [(a, b) for a, b in ((vllm_name, "minimax_rs"), (sglang_name, ours)) if a in names]
    header = ["content lines", "tokens (tool phase / total)", *names]
    header += [f"{a} / {b}" for a, b in ratios]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for w in workloads:
        row = results[w.lines]
        cells = [
            f"{w.lines:,}",
            f"{w.tool_tokens:,} / {sum(len(i) for _, i in w.deltas):,}",
            *(row[n].show() + ("" if row[n].correct is not False else " (wrong)") for n in names),
            *(
                ("> " if row[a].lower_bound else "")
                + f"{row[a].us_per_token / row[b].us_per_token:,.1f}x"
                for a, b in ratios
            ),
        ]
        print("| " + " | ".join(cells) + " |")

    print(
        "\nThe call's first argument byte after `{`: tool-call-phase tokens until the delta that "
        "carries it / parser time until then\n"
    )
    print("| content lines | " + " | ".join(names) + " |")
    print("|" + "---|" * (len(names) + 1))
    for w in workloads:
        print(
            f"| {w.lines:,} | " + " | ".join(_first_arg(results[w.lines][n]) for n in names) + " |"
        )

    first, last = workloads[0].lines, workloads[-1].lines
    print()
    for n in names:
        a, b = results[first][n], results[last][n]
        growth = b.us_per_token / a.us_per_token
        target = f" (target ≤ 1.2x: {'met' if growth <= 1.2 else 'MISSED'})" if n == ours else ""
        bound = "> " if b.lower_bound else ""
        print(f"* {n}, per-token cost {last:,} vs {first:,} lines: {bound}{growth:.2f}x{target}")
    print(
        f"* budget {args.max_seconds:g} s per cell; best of {args.repeat} "
        f"({args.repeat_builtin} for vLLM's built-in)"
    )
    print(f"* command: {' '.join([sys.executable, *sys.argv])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, nargs="+", default=[80, 320, 1280])
    ap.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="time budget per cell (one engine, one size); a cell over it reports a lower bound",
    )
    ap.add_argument("--repeat", type=int, default=7, help="best of N for minimax_rs and SGLang")
    ap.add_argument("--no-sglang", action="store_true")
    ap.add_argument(
        "--dialect",
        choices=["m2", "m3"],
        default="m2",
        help="m3: the MiniMax-M3 workload (vLLM 0.32 only)",
    )
    ap.add_argument(
        "--repeat-builtin", type=int, default=3, help="m3: best of N for vLLM's minimax_m3"
    )
    args = ap.parse_args()

    vllm_version = importlib.import_module("vllm").__version__
    if args.dialect == "m3":
        if vllm_version.startswith("0.11."):
            ap.error("--dialect m3 needs vLLM 0.32 (0.11 has no minimax_m3 parser)")
        main_m3(args, vllm_version)
        return
    if vllm_version.startswith("0.11."):
        main_legacy(args, vllm_version)
        return
    tokenizer = vllm_test_helpers().get_tokenizer()
    # The fast engines run first at each size, so the built-in's long runs cannot disturb them.
    engines: dict[str, tuple[Callable[[Workload, float], Cell], int]] = {
        "minimax_rs": (vllm_engine("minimax_rs", tokenizer), args.repeat),
    }
    sglang = None if args.no_sglang else sglang_engine()
    if sglang is not None:
        engines["SGLang MinimaxM2Detector"] = (sglang, args.repeat)
    engines["vLLM minimax_m2"] = (vllm_engine("minimax_m2", tokenizer), 1)

    workloads = [build_workload(tokenizer, n) for n in args.lines]
    warm = build_workload(tokenizer, 8)
    results = measure(engines, workloads, warm, args, first_arg=False)

    names = ["vLLM minimax_m2", "minimax_rs", *(["SGLang MinimaxM2Detector"] if sglang else [])]
    print(
        f"\nvLLM {vllm_version}, Parser.parse_delta one token per delta; µs per token in the "
        "tool-call phase (lower is better)\n"
    )
    header = ["content lines", "tokens (tool phase / total)", *names, "built-in / minimax_rs"]
    if sglang is not None:
        header.append("SGLang / minimax_rs")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for w in workloads:
        row = results[w.lines]
        ours = row["minimax_rs"].us_per_token
        builtin = row["vLLM minimax_m2"]
        cells = [
            f"{w.lines:,}",
            f"{w.tool_tokens:,} / {sum(len(i) for _, i in w.deltas):,}",
            *(row[n].show() + ("" if row[n].correct is not False else " (wrong)") for n in names),
            ("> " if builtin.lower_bound else "") + f"{builtin.us_per_token / ours:,.0f}x",
        ]
        if sglang is not None:
            cells.append(f"{row['SGLang MinimaxM2Detector'].us_per_token / ours:,.1f}x")
        print("| " + " | ".join(cells) + " |")

    first, last = workloads[0].lines, workloads[-1].lines
    ours_first = results[first]["minimax_rs"].us_per_token
    ours_last = results[last]["minimax_rs"].us_per_token
    builtin_last = results[last]["vLLM minimax_m2"]
    ratio = builtin_last.us_per_token / ours_last
    print()
    print(
        f"* built-in / minimax_rs at {last:,} lines: {'> ' if builtin_last.lower_bound else ''}"
        f"{ratio:,.0f}x (target ≥ 1,000x at 1,280 lines: "
        f"{'met' if ratio >= 1000 else ('not shown' if builtin_last.lower_bound else 'MISSED')})"
    )
    growth = ours_last / ours_first
    print(
        f"* minimax_rs per-token cost, {last:,} vs {first:,} lines: {growth:.2f}x "
        f"(target ≤ 1.2x: {'met' if growth <= 1.2 else 'MISSED'})"
    )
    print(
        f"* budget {args.max_seconds:g} s per cell; minimax_rs and SGLang best of {args.repeat}; "
        "built-in one run"
    )
    print(f"* command: {' '.join([sys.executable, *sys.argv])}")


if __name__ == "__main__":
    main()

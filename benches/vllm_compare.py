"""µs per token in the tool-call phase: vLLM's built-in ``minimax_m2`` vs ``minimax_rs`` (ours),
streamed through vLLM 0.32's ``ParserManager`` -> ``Parser.parse_delta`` path one token at a time,
plus SGLang's ``MinimaxM2Detector`` (after its ``minimax`` reasoning parser) when importable.

Run under the vLLM 0.32 venv, from the repository root::

    PYTHONPATH=python ~/.cache/minimax-parser/venv-vllm-0.32.0/bin/python benches/vllm_compare.py

The workload is ``benches/workloads.write_file_response``: reasoning, a short reply, then one
``write_file`` call whose ``content`` is 80, 320 and 1,280 lines of code. Token ids come from the
test suite's tokenizer (``tests/vllm/conftest.py``: a byte-level BPE with the MiniMax markers as
single special tokens at ids 200050-200053); deltas are one token each, partial UTF-8 held back as
vLLM's detokenizer does. The tool-call phase is every delta from the one holding
``<minimax:tool_call>`` to the end (``finished=True`` included); its parse time divided by its token
count is the number reported. vLLM's built-in parser re-parses the growing arguments on every
delta, so a cell stops after ``--max-seconds`` and reports a lower bound (``>``: the time spent
divided by *all* of the phase's tokens, so it holds whatever the rest would have cost).
"""

from __future__ import annotations

import argparse
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

from workloads import TOOLS, code_lines, write_file_response  # noqa: E402

TOOL_START = "<minimax:tool_call>"
MODEL = "MiniMaxAI/MiniMax-M2.1"


@dataclass
class Workload:
    lines: int
    text: str
    deltas: list[tuple[str, list[int]]]
    tool_from: int  # index of the first tool-call-phase delta
    tool_tokens: int
    prompt_ids: list[int]
    expected_args: dict[str, Any]


@dataclass
class Cell:
    us_per_token: float  # the tool-call phase
    lower_bound: bool  # stopped by --max-seconds
    tokens_done: int  # tool-call-phase tokens parsed
    correct: bool | None  # final arguments == expected (None: not finished)

    def show(self) -> str:
        if self.lower_bound:
            return f"> {self.us_per_token:,.0f}"
        return (
            f"{self.us_per_token:,.2f}" if self.us_per_token < 100 else f"{self.us_per_token:,.0f}"
        )


def vllm_test_helpers() -> Any:
    """``tests/vllm/conftest.py`` (its tokenizer and delta helper), first on ``sys.path``."""
    return importlib.import_module("conftest")


def build_workload(tokenizer: Any, lines: int) -> Workload:
    helpers = vllm_test_helpers()
    text = write_file_response(lines)
    deltas = list(helpers.token_deltas(tokenizer, text, 1))
    assert "".join(d for d, _ in deltas) == text
    seen, tool_from = "", None
    for i, (piece, _) in enumerate(deltas):
        seen += piece
        if TOOL_START in seen:
            tool_from = i
            break
    assert tool_from is not None
    return Workload(
        lines=lines,
        text=text,
        deltas=deltas,
        tool_from=tool_from,
        tool_tokens=sum(len(ids) for _, ids in deltas[tool_from:]),
        prompt_ids=tokenizer.encode(helpers.PROMPT_IN_REASONING, add_special_tokens=False),
        expected_args={"path": "src/lib.rs", "content": code_lines(lines)},
    )


# ---------------------------------------------------------------------------------------------
# Engines: each returns a function that streams the whole workload and yields timings.


def timed_run(
    w: Workload,
    step: Callable[[str, list[int], bool], Any],
    absorb: Callable[[Any], None],
    budget: float,
) -> tuple[float, int, bool]:
    """Feeds every delta; returns (tool-phase seconds, tool-phase tokens fed, completed).

    Only ``step`` is timed. ``absorb`` folds its result into the client's view and drops it, as
    a server serializes each delta and lets it go: keeping tens of thousands of delta objects
    alive would time the garbage collector walking them, not the parser.
    """
    spent_total, tool_time, tool_tokens = 0.0, 0.0, 0
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
        if spent_total > budget and i < n - 1:
            return tool_time, tool_tokens, False
    return tool_time, tool_tokens, True


def vllm_engine(name: str, tokenizer: Any) -> Callable[[Workload, float], Cell]:
    ParserManager = importlib.import_module("vllm.parser").ParserManager
    protocol = importlib.import_module("vllm.entrypoints.openai.chat_completion.protocol")
    if name == "minimax_rs":
        importlib.import_module("minimax_parser.vllm_plugin").register()
    cls = ParserManager.get_parser(
        tool_parser_name=name,
        reasoning_parser_name=name,
        enable_auto_tools=True,
        model_name=MODEL,
        tokenizer=tokenizer,
    )

    def run(w: Workload, budget: float) -> Cell:
        request = protocol.ChatCompletionRequest(
            model=MODEL,
            messages=[{"role": "user", "content": "Rewrite src/lib.rs"}],
            tools=TOOLS,
            tool_choice="auto",
            stream=True,
        )
        parser = cls(tokenizer, request.tools, model_config=None)
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

        tool_time, tokens, done = timed_run(w, step, absorb, budget)
        correct = None
        if done:
            correct = list(args) == [0] and json.loads(args[0]) == w.expected_args
        return Cell(tool_time / w.tool_tokens * 1e6, not done, tokens, correct)

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

        tool_time, tokens, done = timed_run(w, step, absorb, budget)
        correct = None
        if done:
            correct = list(args) == [0] and json.loads(args[0]) == w.expected_args
        return Cell(tool_time / w.tool_tokens * 1e6, not done, tokens, correct)

    return run


def best_of(run: Callable[[Workload, float], Cell], w: Workload, budget: float, n: int) -> Cell:
    cells = []
    for _ in range(n):
        gc.collect()  # start each run from a clean heap (the built-in leaves a lot behind)
        cells.append(run(w, budget))
    return min(cells, key=lambda c: c.us_per_token)


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
    args = ap.parse_args()

    vllm_version = importlib.import_module("vllm").__version__
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
    for run, _ in engines.values():
        run(warm, args.max_seconds)

    results: dict[int, dict[str, Cell]] = {}
    for w in workloads:
        results[w.lines] = {}
        for name, (run, repeat) in engines.items():
            cell = best_of(run, w, args.max_seconds, repeat)
            results[w.lines][name] = cell
            status = {True: "ok", False: "WRONG ARGUMENTS", None: "stopped"}[cell.correct]
            print(
                f"  {w.lines} lines, {name}: {cell.show()} µs/token ({status}; "
                f"{cell.tokens_done}/{w.tool_tokens} tool-phase tokens; "
                f"{time.strftime('%H:%M:%S')})",
                file=sys.stderr,
                flush=True,
            )

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

"""µs per token in the tool-call phase under SGLang: ``minimax-rs`` (ours, registered by
``minimax_parser.sglang.register()``) vs SGLang's built-in ``minimax-m2`` (``MinimaxM2Detector``),
each through SGLang's own ``FunctionCallParser`` after its ``ReasoningParser`` (``minimax-rs`` /
``minimax``), driven as SGLang's chat-completions stream generator drives them: per delta the
reasoning parser's ``parse_stream_chunk``, its normal text into the ``FunctionCallParser``'s
``parse_stream_chunk``; on the last delta both parsers' ``parse_stream_end``.

Run under the SGLang environment (scripts/vllm_env.sh 0.32.0 installs SGLang 0.5.23 beside vLLM)
with this checkout's wheel installed there, from the repository root::

    "$(bash scripts/vllm_env.sh 0.32.0)" benches/sglang_compare.py

The workload is ``benches/workloads.write_file_response`` (reasoning, a short reply, one
``write_file`` call whose ``content`` is 80, 320 and 1,280 lines of code), one token per delta
from the conformance command's MiniMax-M2 tokenizer (the markers as single special tokens at
their real ids), partial UTF-8 held back as SGLang's detokenizer does. The tool-call phase is every
delta from the one holding ``<minimax:tool_call>`` to the end; its parse time divided by its token
count is the number reported, best of ``--repeat``. A cell over ``--max-seconds`` stops and
reports a lower bound (``>``). Flatness is the per-token cost at 1,280 lines over that at 80.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import minimax_parser.conformance as conformance

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benches"))

from vllm_compare import TOOL_START, Cell, Workload, _cell, measure, timed_run  # noqa: E402

from workloads import TOOLS, code_lines, write_file_response  # noqa: E402

OURS, BUILTIN = "minimax-rs", "SGLang minimax-m2"


def build_workload(tokenizer: Any, lines: int) -> Workload:
    text = write_file_response(lines)
    deltas = [(piece, list(ids)) for piece, ids in conformance.token_deltas(tokenizer, text)]
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
        prompt_ids=[],
        expected_args={"path": "src/lib.rs", "content": code_lines(lines)},
    )


def engine(tool_parser: str, reasoning_parser: str, tokenizer: Any) -> Callable[..., Cell]:
    """``--tool-call-parser tool_parser --reasoning-parser reasoning_parser``: the two parser
    objects SGLang's stream generator builds for one choice of a request with ``TOOLS``."""
    fcp = importlib.import_module("sglang.srt.function_call.function_call_parser")
    reasoning_mod = importlib.import_module("sglang.srt.parser.reasoning_parser")
    protocol = importlib.import_module("sglang.srt.entrypoints.openai.protocol")
    request = protocol.ChatCompletionRequest(
        model="m",
        messages=[{"role": "user", "content": "Rewrite src/lib.rs"}],
        tools=TOOLS,
        tool_choice="auto",
        stream=True,
    )

    def run(w: Workload, budget: float) -> Cell:
        reasoning = reasoning_mod.ReasoningParser(
            reasoning_parser,
            request.stream_reasoning,
            True,  # the M2 template opens reasoning (SGLang's `minimax` forces it too)
            request,
            tokenizer=tokenizer,
            tool_call_parser_active=True,
        )
        parser = fcp.FunctionCallParser(
            tools=request.tools, tool_call_parser=tool_parser, tokenizer=tokenizer
        )
        args: dict[int, str] = {}

        def step(piece: str, ids: list[int], last: bool) -> Any:
            _, normal = reasoning.parse_stream_chunk(piece)
            if last:
                _, end = reasoning.parse_stream_end()
                normal = (normal or "") + (end or "")
            calls = list(parser.parse_stream_chunk(normal)[1]) if normal else []
            if last:
                calls += parser.parse_stream_end()[1]
            return calls

        def absorb(calls: Any) -> None:
            for call in calls:
                args[call.tool_index] = args.get(call.tool_index, "") + (call.parameters or "")

        return _cell(w, timed_run(w, step, absorb, budget, args), args)

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, nargs="+", default=[80, 320, 1280])
    ap.add_argument("--max-seconds", type=float, default=300.0, help="time budget per cell")
    ap.add_argument("--repeat", type=int, default=7, help="best of N for each engine")
    args = ap.parse_args()

    importlib.import_module("minimax_parser.sglang").register()
    version = importlib.import_module("importlib.metadata").version("sglang")
    texts = [f.input for f in conformance.load_fixtures() if f.dialect == "m2"]
    tokenizer = conformance.build_tokenizer(texts)
    engines: dict[str, tuple[Callable[[Workload, float], Cell], int]] = {
        OURS: (engine("minimax-rs", "minimax-rs", tokenizer), args.repeat),
        BUILTIN: (engine("minimax-m2", "minimax", tokenizer), args.repeat),
    }
    workloads = [build_workload(tokenizer, n) for n in args.lines]
    results = measure(engines, workloads, build_workload(tokenizer, 8), args, first_arg=False)

    print(
        f"\nSGLang {version}, FunctionCallParser after ReasoningParser, one token per delta; "
        "µs per token in the tool-call phase (lower is better)\n"
    )
    header = ["content lines", "tokens (tool phase / total)", BUILTIN, OURS, "built-in / ours"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for w in workloads:
        row = results[w.lines]
        builtin, ours = row[BUILTIN], row[OURS]
        cells = [
            f"{w.lines:,}",
            f"{w.tool_tokens:,} / {sum(len(i) for _, i in w.deltas):,}",
            *(c.show() + ("" if c.correct is not False else " (wrong)") for c in (builtin, ours)),
            ("> " if builtin.lower_bound else "")
            + f"{builtin.us_per_token / ours.us_per_token:,.0f}x",
        ]
        print("| " + " | ".join(cells) + " |")
    first, last = workloads[0].lines, workloads[-1].lines
    print()
    for name in (BUILTIN, OURS):
        a, b = results[first][name], results[last][name]
        bound = "> " if b.lower_bound else ""
        print(
            f"* {name}, per-token cost {last:,} vs {first:,} lines: {bound}"
            f"{b.us_per_token / a.us_per_token:.2f}x"
        )
    print(f"* budget {args.max_seconds:g} s per cell; best of {args.repeat}")
    print(f"* {time.strftime('%Y-%m-%d')}; command: {' '.join([sys.executable, *sys.argv])}")


if __name__ == "__main__":
    main()

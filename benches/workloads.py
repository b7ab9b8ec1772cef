"""Benchmark workloads, generated so the numbers do not depend on files on disk.

They mirror the criterion benches in ``benches/core.rs``."""

from __future__ import annotations

from typing import Any

from minimax_parser.cli import tokenize

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "write_file",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}, "filters": {"type": "object"}},
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "days": {"type": "integer"},
                    "unit": {"enum": ["celsius", "fahrenheit"]},
                },
            },
        },
    },
]


def code_lines(n: int) -> str:
    return "".join(
        f"    let value_{i} = compute(&input[{i}..], {i} * 2); // step {i}\n" for i in range(n)
    )


def write_file_response(lines: int) -> str:
    """Reasoning, a short reply, then one write_file call with ``lines`` lines of code."""
    return (
        "The user wants the module rewritten; I will write the whole file.</think>\n\n"
        'Writing it now.\n<minimax:tool_call>\n<invoke name="write_file">\n'
        '<parameter name="path">src/lib.rs</parameter>\n'
        f'<parameter name="content">{code_lines(lines)}</parameter>\n'
        "</invoke>\n</minimax:tool_call>"
    )


#: MiniMax-M3's marker in front of every structural tag of a tool-call block.
M3_MARKER = "]<]minimax[>["


def write_file_response_m3(lines: int) -> str:
    """The same response in MiniMax-M3's format, as its chat template lays it out (no whitespace
    between elements; ``thinking_mode="enabled"``, so it starts in reasoning): reasoning, a short
    reply, then one write_file call whose ``content`` element holds ``lines`` lines of code."""
    n = M3_MARKER
    return (
        "The user wants the module rewritten; I will write the whole file.</mm:think>"
        f'Writing it now.{n}<tool_call>\n{n}<invoke name="write_file">'
        f"{n}<path>src/lib.rs{n}</path>{n}<content>{code_lines(lines)}{n}</content>"
        f"{n}</invoke>\n{n}</tool_call>"
    )


def reasoning_prose(size: int) -> str:
    words = "the user wants to refactor module so I should check which functions are called".split()
    out, i, n = [], 0, 0
    while n < size:
        w = words[(i * 7 + i // 3) % len(words)] + ("\n" if i % 17 == 16 else " ")
        out.append(w)
        n += len(w)
        i += 1
    return "".join(out) + "</think>\n\nDone."


def tool_heavy(size: int) -> str:
    """Dense tool calls with typed parameters (the same text as ``tool_heavy`` in core.rs)."""
    out, i, n = ["Plan.</think>\n\n"], 0, len("Plan.</think>\n\n")
    while n < size:
        block = (
            '<minimax:tool_call>\n<invoke name="get_weather">\n'
            f'<parameter name="location">City {i}</parameter>\n'
            f'<parameter name="days">{i % 14}</parameter>\n'
            '<parameter name="unit">celsius</parameter>\n</invoke>\n'
            '<invoke name="search">\n'
            f'<parameter name="query">weather in city {i}</parameter>\n'
            f'<parameter name="filters">{{"lang": "en", "n": {i}}}</parameter>\n'
            "</invoke>\n</minimax:tool_call>\nok\n"
        )
        out.append(block)
        n += len(block)
        i += 1
    return "".join(out)


def token_deltas(text: str) -> list[str]:
    """Token-sized deltas, as an engine streams them."""
    return tokenize(text)

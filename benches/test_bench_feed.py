"""pytest-benchmark: per-delta ``feed`` cost from Python, and one-shot ``parse``.

Run: ``pytest benches --benchmark-only`` (after ``pip install .``, a release build)."""

from __future__ import annotations

from typing import Any

import pytest

import minimax_parser as mp

from workloads import TOOLS, reasoning_prose, token_deltas, tool_heavy, write_file_response


def stream_all(deltas: list[str]) -> int:
    p = mp.StreamParser(tools=TOOLS)
    n = 0
    for d in deltas:
        n += len(p.feed(d))
    return n + len(p.finish())


@pytest.mark.parametrize("lines", [80, 320, 1280])
def test_feed_write_file(benchmark: Any, lines: int) -> None:
    deltas = token_deltas(write_file_response(lines))
    benchmark.extra_info["deltas"] = len(deltas)
    events = benchmark(stream_all, deltas)
    assert events > 0
    if benchmark.stats is not None:
        per_delta_us = benchmark.stats.stats.min / len(deltas) * 1e6
        benchmark.extra_info["min_us_per_delta"] = round(per_delta_us, 3)


@pytest.mark.parametrize(
    ("name", "text"),
    [("reasoning_1MB", reasoning_prose(1 << 20)), ("tool_heavy_1MB", tool_heavy(1 << 20))],
)
def test_parse(benchmark: Any, name: str, text: str) -> None:
    msg = benchmark(mp.parse, text, tools=TOOLS)
    assert msg.content
    benchmark.extra_info["bytes"] = len(text.encode())

"""Prints the README's Python benchmark table: µs per token-sized ``feed`` and one-shot MB/s.

Run: ``python benches/feed_cost.py`` (after ``pip install .``, a release build). Each number is
the best of several repetitions, all measured in this one run."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import minimax_parser as mp

from workloads import TOOLS, reasoning_prose, token_deltas, tool_heavy, write_file_response


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def stream(deltas: list[str]) -> None:
    p = mp.StreamParser(tools=TOOLS)
    for d in deltas:
        p.feed(d)
    p.finish()


def stream_with_snapshots(deltas: list[str]) -> None:
    p = mp.StreamParser(tools=TOOLS)
    for d in deltas:
        p.feed(d)
        p.message()
    p.finish()


def main() -> None:
    print("| workload | deltas | µs per delta |")
    print("|---|---:|---:|")
    per: dict[tuple[str, int], float] = {}
    for label, run in (("", stream), (" + message() after each", stream_with_snapshots)):
        for lines in (80, 320, 1280):
            deltas = token_deltas(write_file_response(lines))
            t = best(lambda d=deltas, r=run: r(d), 20)  # type: ignore[misc]
            us = per[label, lines] = t / len(deltas) * 1e6
            print(f"| write_file, {lines} lines, token deltas{label} | {len(deltas)} | {us:.3f} |")
    for label in ("", " + message() after each"):
        ratio = per[label, 1280] / per[label, 80]
        print(f"\n1,280 vs 80 lines, cost per delta{label}: {ratio:.2f}x")
    print()
    print("| one-shot parse | MB/s |")
    print("|---|---:|")
    for name, text in (
        ("reasoning prose, 1 MB", reasoning_prose(1 << 20)),
        ("tool-call heavy, 1 MB", tool_heavy(1 << 20)),
    ):
        t = best(lambda s=text: mp.parse(s, tools=TOOLS), 20)  # type: ignore[misc]
        print(f"| {name} | {len(text.encode()) / t / 1e6:,.0f} |")


if __name__ == "__main__":
    main()

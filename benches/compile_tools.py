"""Prints the README's table of ``StreamParser(tools=...)`` build time against the size of
``tools`` (Python dicts → Rust → compiled types, end to end), for the shapes of
``benches/schema.rs`` and the two hostile lists of issue 8.

Run: ``python benches/compile_tools.py`` (after ``pip install .``). To compare with another build
of the package, run the same file with that build's interpreter (``--hostile-only`` for a build
whose compile time is exponential: the larger shapes would not finish)."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import minimax_parser as mp


def tool(shape: str, i: int) -> dict[str, Any]:
    params: dict[str, Any]
    if shape == "flat":
        types = ["string", "integer", "boolean", "number"]
        props = {
            f"param_{p}": {"type": types[p % 4], "description": "what this parameter is for"}
            for p in range(12)
        }
        params = {"type": "object", "properties": props}
    elif shape == "ref_fan_out":
        defs: dict[str, Any] = {
            f"d{d}": {"anyOf": [{"$ref": f"#/$defs/d{d + 1}"}] * 4} for d in range(40)
        }
        defs["d40"] = {"type": "integer"}
        params = {"$defs": defs, "properties": {"x": {"$ref": "#/$defs/d0"}}}
    elif shape == "self_ref":
        params = {"properties": {"x": {"anyOf": [{"$ref": "#/properties/x"}] * 32}}}
    else:
        s: dict[str, Any] = {"type": ["string", "null"]}
        for _ in range(50):
            s = {"anyOf": [s, {"type": "integer"}]}
        params = {"properties": {"x": s}}
    return {"type": "function", "function": {"name": f"tool_{i}", "parameters": params}}


def sized(shape: str, size: int) -> list[dict[str, Any]]:
    n = max(1, size // len(json.dumps(tool(shape, 0))))
    return [tool(shape, i) for i in range(n)]


SELF_REF_X3 = {"anyOf": [{"$ref": "#/properties/x"}] * 3}
FAN_OUT_4X13 = {f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 4} for i in range(13)}
HOSTILE = {
    "issue 8: self-ref x3 (149 B)": [
        {"name": "f", "parameters": {"properties": {"x": SELF_REF_X3}}}
    ],
    "issue 8: $defs fan-out 4 x 13 (1.6 KB)": [
        {
            "name": "g",
            "parameters": {"$defs": FAN_OUT_4X13, "properties": {"y": {"$ref": "#/$defs/d0"}}},
        }
    ],
}


def per_build(tools: list[dict[str, Any]], max_seconds: float) -> float:
    """Best seconds per build, repeating for about half a second; a build that takes longer
    than ``max_seconds`` is not repeated (a build cannot be interrupted)."""
    best = float("inf")
    spent = 0.0
    while spent < 0.5:
        t = time.perf_counter()
        mp.StreamParser(tools=tools)
        dt = time.perf_counter() - t
        best = min(best, dt)
        spent += dt
        if dt > max_seconds:
            break
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument(
        "--hostile-only", action="store_true", help="only the issue 8 lists (for old builds)"
    )
    args = ap.parse_args()
    print(f"minimax_parser {mp.__version__} from {mp.__file__}")
    print("| tools | JSON size | build time | MB/s |")
    print("|---|---:|---:|---:|")
    for name, tools in HOSTILE.items():
        size = len(json.dumps(tools))
        dt = per_build(tools, args.max_seconds)
        print(f"| {name} | {size:,} B | {dt * 1e6:,.1f} µs | {size / dt / 1e6:.1f} |")
    if args.hostile_only:
        return
    for shape in ("flat", "ref_fan_out", "self_ref", "nested"):
        for kb in (1, 10, 100, 1000):
            tools = sized(shape, kb * 1000)
            size = len(json.dumps(tools))
            dt = per_build(tools, args.max_seconds)
            print(f"| {shape} | {size:,} B | {dt * 1e6:,.1f} µs | {size / dt / 1e6:.1f} |")


if __name__ == "__main__":
    main()

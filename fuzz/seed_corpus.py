#!/usr/bin/env python3
"""Write the seed corpus of every fuzz target from the golden fixtures.

Run from anywhere:  python3 fuzz/seed_corpus.py

For each golden fixture (python/minimax_parser/fixtures/<group>/*.json, the folder the
package's loader reads) it writes two seeds per target
into fuzz/corpus/<target>/:
  stream_vs_oneshot/<group>__<name>       the raw input (the target cuts it in 1..7-char pieces)
  stream_vs_oneshot/<group>__<name>.ctl   input + 0xFF + the options as a flag byte + a cut schedule
  schema_and_text/<group>__<name>[.ctl]   the fixture's tools as JSON + 0xFF + the above
plus a few schema_and_text seeds with odd schemas ($ref cycles, nested unions, const), and
tools_compile seeds: each fixture's tools, the hostile lists of issue 8, graph recipes.
The input layouts are described at the top of each fuzz_targets/<target>.rs.
"""

import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parent / "python" / "minimax_parser" / "fixtures"
ODD_SCHEMAS = [
    {"a": {"$ref": "#/$defs/A"}, "b": {"anyOf": [{"$ref": "#/$defs/B"}, {"type": "null"}]}},
    {"a": {"anyOf": [{"oneOf": [{"type": "integer"}, {"allOf": [{"type": "boolean"}]}]}]}},
    {"a": {"const": None}, "b": {"enum": [1.5, "x", True, None, [1], {"k": 1}]}, "c": {"type": []}},
    {
        "a": {"type": "integer", "nullable": True, "items": {}, "properties": {}},
        "b": {"$ref": "#/nowhere"},
    },
]
ODD_TEXT = (
    'plan</think><minimax:tool_call>\n<invoke name="odd">\n<parameter name="a"> 5.0 </parameter>\n'
    '<parameter name="b">null</parameter>\n<parameter name="c">[1, {}]</parameter>\n</invoke>\n'
    "</minimax:tool_call>"
)


def flags(options):
    f = 0
    if options.get("reasoning") == "inline":
        f |= 1
    if options.get("start_in_reasoning") is False:
        f |= 2
    if options.get("tool_calls_in_reasoning") == "ignore":
        f |= 4
    return f


def write(target, name, data):
    out = HERE / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_bytes(data)


def main():
    fixtures = sorted(FIXTURES.glob("*/*.json"))  # <group>/<name>.json
    count = {}
    if not fixtures:
        raise SystemExit(f"no fixtures under {FIXTURES}")
    for path in fixtures:
        fx = json.loads(path.read_text("utf-8"))
        name = fx["name"].replace("/", "__")
        text = fx["input"].encode("utf-8")
        schedule = bytes([flags(fx.get("options", {}))] + [1 + (i * 5) % 13 for i in range(64)])
        tools = json.dumps(fx.get("tools", []), ensure_ascii=False).encode("utf-8")
        for target, prefix in (("stream_vs_oneshot", b""), ("schema_and_text", tools + b"\xff")):
            write(target, name, prefix + text)
            write(target, name + ".ctl", prefix + text + b"\xff" + schedule)
            count[target] = count.get(target, 0) + 2
    for i, props in enumerate(ODD_SCHEMAS):
        params = {
            "type": "object",
            "properties": props,
            "$defs": {
                "A": {"$ref": "#/$defs/A"},
                "B": {"anyOf": [{"$ref": "#/$defs/B"}, {"type": "integer"}]},
            },
        }
        tools = json.dumps([{"name": "odd", "parameters": params}]).encode("utf-8")
        write("schema_and_text", f"odd_schema_{i}", tools + b"\xff" + ODD_TEXT.encode("utf-8"))
        count["schema_and_text"] += 1
    # tools_compile: each fixture's tools as JSON, the hostile lists of issue 8, and graph recipes.
    hostile = [
        [
            {
                "name": "f",
                "parameters": {"properties": {"x": {"anyOf": [{"$ref": "#/properties/x"}] * 3}}},
            }
        ],
        [
            {
                "name": "g",
                "parameters": {
                    "$defs": {
                        f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 4} for i in range(13)
                    },
                    "properties": {"y": {"$ref": "#/$defs/d0"}},
                },
            }
        ],
    ]
    seen = set()
    for path in fixtures:
        tools = json.dumps(json.loads(path.read_text("utf-8")).get("tools", [])).encode("utf-8")
        if tools not in seen:
            seen.add(tools)
            write("tools_compile", f"fixture_tools_{len(seen)}", tools)
    for i, tools in enumerate(hostile):
        write("tools_compile", f"hostile_{i}", json.dumps(tools).encode("utf-8"))
    for i in range(8):
        write("tools_compile", f"graph_{i}", bytes((i * 37 + k * 11) % 256 for k in range(200)))
    count["tools_compile"] = len(seen) + len(hostile) + 8
    for target, n in count.items():
        print(f"{target}: {n} seeds in {HERE / 'corpus' / target}")


if __name__ == "__main__":
    main()

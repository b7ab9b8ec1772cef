#!/usr/bin/env python3
"""Write the seed corpus of every fuzz target from the golden fixtures.

Run from anywhere:  python3 fuzz/seed_corpus.py

For each golden fixture (python/minimax_parser/fixtures/<group>/*.json, the folder the
package's loader reads) it writes two seeds per target
into fuzz/corpus/<target>/:
  stream_vs_oneshot/<group>__<name>       the raw input (the target cuts it in 1..7-char pieces)
  stream_vs_oneshot/<group>__<name>.ctl   input + 0xFF + the options as a flag byte + a cut schedule
  schema_and_text/<group>__<name>[.ctl]   the fixture's tools as JSON + 0xFF + the above
  m3_stream_vs_oneshot/<group>__<name>[.ctl]   the same as stream_vs_oneshot, M3 fixtures only
plus a few schema_and_text seeds with odd schemas ($ref cycles, nested unions, const) in both
dialects, a few M3 responses in the template's shape for m3_stream_vs_oneshot, and
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


# M3 responses as the chat template writes them, for the tools of m3_stream_vs_oneshot
# (tests/common/tools_m3.json). N is the marker in front of every M3 tool-call tag.
N = "]<]minimax[>["
M3_SEEDS = [
    f"<mm:think>Need the weather.</mm:think>Checking.{N}<tool_call>\n"
    f'{N}<invoke name="get_weather">{N}<location>Paris{N}</location>{N}<days>3{N}</days>'
    f"{N}<opts>{N}<unit>c{N}</unit>{N}<deep>{N}<x>{N}<item>1.5{N}</item>{N}</x>{N}</deep>{N}</opts>"
    f"{N}<tags>{N}<item>a{N}</item>{N}<item>{N}</item>{N}</tags>{N}</invoke>\n{N}</tool_call>",
    f"</mm:think>{N}<tool_call>\n"
    f'{N}<invoke name="get_weather">{N}<rows>{N}<item>{N}<k>1{N}</k>{N}<v>true{N}</v>{N}</item>'
    f"{N}<item>{N}</item>{N}</rows>{N}<grid>{N}<item>{N}<item>1{N}</item>{N}</item>{N}<item>"
    f"{N}</item>{N}</grid>{N}<any>{N}<q>x{N}</q>{N}</any>{N}</invoke>\n"
    f'{N}<invoke name="tree">{N}<root>{N}<name>a{N}</name>{N}<children>{N}<item>{N}<name>b'
    f"{N}</name>{N}</item>{N}</children>{N}</root>{N}</invoke>\n{N}</tool_call>",
    f'Plan</mm:think>{N}<tool_call>\n{N}<invoke name="fs.read-file:v2">{N}<-n>5{N}</-n>'
    f"{N}<a.b><b>&amp; x{N}</a.b>{N}<城市>東京{N}</城市>{N}<flags>{N}<r>false{N}</r>{N}</flags>"
    f'{N}<paths>{N}<item>/tmp{N}</item>{N}</paths>{N}</invoke>\n{N}<invoke name="nope">'
    f"{N}</invoke>\n{N}</tool_call>",
    # Damaged: a lost opener, a lost closer marker, a stray closer, a cut-off end.
    f'{N}<tool_call>\n{N}<invoke name="get_weather">{N}Paris{N}</location>{N}<opts>{N}<unit>c'
    f'</unit>{N}</zz>{N}</invoke>\n{N}<invoke name="tree">{N}<root>{N}<name>a',
]
ODD_TEXT_M3 = (
    f'plan</mm:think>{N}<tool_call>\n{N}<invoke name="odd">{N}<a> 5.0 {N}</a>{N}<b>{N}</b>'
    f"{N}<c>{N}<item>1{N}</item>{N}<item>{N}<k>x{N}</k>{N}</item>{N}</c>{N}</invoke>\n{N}</tool_call>"
)


def flags(options):
    """The flag byte of common::options: bit 0 inline, bit 1 not the dialect's start state, bit 2
    ignore tool calls in reasoning, bit 3 dialect M3."""
    m3 = options.get("dialect") == "m3"
    f = 8 if m3 else 0
    if options.get("reasoning") == "inline":
        f |= 1
    if options.get("start_in_reasoning", not m3) is m3:
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
        targets = [("stream_vs_oneshot", b""), ("schema_and_text", tools + b"\xff")]
        if fx.get("options", {}).get("dialect") == "m3":
            targets.append(("m3_stream_vs_oneshot", b""))
        for target, prefix in targets:
            write(target, name, prefix + text)
            write(target, name + ".ctl", prefix + text + b"\xff" + schedule)
            count[target] = count.get(target, 0) + 2
    for i, seed in enumerate(M3_SEEDS):
        text = seed.encode("utf-8")
        schedule = bytes([0, *range(1, 40)])  # the dialect's own start; pieces of 1, 2, 3... chars
        write("m3_stream_vs_oneshot", f"template_{i}", text)
        write("m3_stream_vs_oneshot", f"template_{i}.ctl", text + b"\xff" + schedule)
        count["m3_stream_vs_oneshot"] = count.get("m3_stream_vs_oneshot", 0) + 2
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
        m3 = tools + b"\xff" + ODD_TEXT_M3.encode("utf-8") + b"\xff" + bytes([8])
        write("schema_and_text", f"odd_schema_{i}_m3", m3)
        count["schema_and_text"] += 2
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

"""Hypothesis ground truth for MiniMax-M3 (``dialect="m3"``, SPEC §7): messages rendered the way
the official chat template renders an assistant turn, parsed back one-shot and streamed.

A case is a message (reasoning, content, 0-3 tool calls) whose arguments are drawn together with
the tool's JSON Schema. ``to_xml`` below is the template's macro of the same name: strings raw,
numbers as Python's ``str()``, booleans ``true``/``false``, ``None`` left out of mappings, a
``None`` list item as an empty ``item``, lists as ``item`` children, no whitespace between tags.
The expected arguments are ``json.dumps`` of the drawn arguments, except where the template
loses information; there ``expect`` applies the M3 rules (SPEC §7 and its appendix): a ``None``
item, an empty string, list or dict, and (outside string-only schemas) a whitespace-only or
``null`` string become whatever an empty or ``null`` element means under the schema. Values are
drawn so that nothing else is lossy: a string that looks like a number is only drawn under a
schema that admits string and not number, a free (schema-less) string is never valid JSON, and
so on. Numbers are compared as text: the parser keeps them as written, and ``str()`` of a float
is what ``json.dumps`` writes for it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

import minimax_parser as mp

from conftest import as_expected, ids, merge
from test_properties import any_text_but_lt, cut, is_json_prefix

N = "]<]minimax[>["


# ------------------------------------------------------------------------- the template's side


def to_xml(v: Any) -> str:
    """The chat template's ``to_xml`` macro."""
    if isinstance(v, dict):
        return "".join(f"{N}<{k}>{to_xml(x)}{N}</{k}>" for k, x in v.items() if x is not None)
    if isinstance(v, list):
        return "".join(f"{N}<item>{to_xml(x)}{N}</item>" for x in v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def render_call(name: str, args: dict[str, Any]) -> str:
    return f'{N}<invoke name="{name}">{to_xml(args)}{N}</invoke>\n'


# ---------------------------------------------------------------------------- schemas (shapes)


@dataclass(frozen=True)
class Shape:
    """A JSON Schema together with what the generator and the expectation need to know of it."""

    schema: dict[str, Any]
    admits: frozenset[str]  # the admitted types; empty: no type information (no schema)
    items: Shape | None = None  # arrays
    props: tuple[tuple[str, Shape], ...] = ()  # objects: properties, in order
    extra: Shape | None = None  # objects: additionalProperties
    enum: tuple[str, ...] = ()  # string enums

    @property
    def string_only(self) -> bool:
        return self.admits == {"string"}

    def child(self, key: str) -> Shape:
        for k, s in self.props:
            if k == key:
                return s
        return self.extra or FREE


def leaf(schema: dict[str, Any], *types: str, enum: tuple[str, ...] = ()) -> Shape:
    return Shape(schema, frozenset(types), enum=enum)


FREE = leaf({})
STRING = leaf({"type": "string"}, "string")
STR_ENUM = ("red", "3", "02134", "true", " spaced ", "", "ok 🟢")
LEAVES = [
    STRING,
    leaf({"type": "string", "description": "any text"}, "string"),
    leaf({"enum": list(STR_ENUM)}, "string", enum=STR_ENUM),
    leaf({"type": ["string", "null"]}, "string", "null"),
    leaf({"type": "integer"}, "integer"),
    leaf({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "integer", "null"),
    leaf({"type": "number"}, "number"),
    leaf({"type": "number", "nullable": True}, "number", "null"),
    leaf({"type": "boolean"}, "boolean"),
    leaf({"type": ["boolean", "null"]}, "boolean", "null"),
    FREE,
    leaf({"description": "no type information"}),
]

# Element names: tags end at ">", so anything but "<", ">" and whitespace. "invoke" and
# "tool_call" are ordinary elements inside a call (design rule 4). Never "b" or "mm": string
# values use N<b> and N<mm> as data.
KEYS = ["city", "days", "q", "max-bytes", "-n", "a.b", "opt:x", "城市", "数量", "🎒", "x_1",
        "item", "invoke", "tool_call"]  # fmt: skip
FREE_KEYS = [k for k in KEYS if k != "item"]  # a free dict of only "item"s reads as a list


def array_of(items: Shape) -> Shape:
    return Shape({"type": "array", "items": items.schema}, frozenset({"array"}), items=items)


def object_of(props: list[tuple[str, Shape]]) -> Shape:
    schema = {"type": "object", "properties": {k: s.schema for k, s in props}}
    return Shape(schema, frozenset({"object"}), props=tuple(props))


def map_of(extra: Shape) -> Shape:
    schema = {"type": "object", "additionalProperties": extra.schema}
    return Shape(schema, frozenset({"object"}), extra=extra)


def _containers(inner: st.SearchStrategy[Shape]) -> st.SearchStrategy[Shape]:
    props = st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=4, unique_by=lambda p: p[0])
    return st.one_of(inner.map(array_of), props.map(object_of), inner.map(map_of))


shapes = st.recursive(st.sampled_from(LEAVES), _containers, max_leaves=6)


# ----------------------------------------------------------------------------------- values

# Data that looks like markup or like other types; none of it is structure in a value.
VALUE_FRAGMENTS = [
    "<b>&amp;", "<", "&", '"q"', "'", "\n", "\r\n", "\t", "  ", "42", "-7", "3.14", "1e5", "true",
    "false", "null", "018956", "[1, 2]", '{"k": 1}', "</mm:think>", "<mm:think>", "<tool_call>",
    "</invoke>", '<invoke name="x">', "<item>", "</item>", "]<]mini", "]<]minimax[>x", "日本語",
    "héllo", "😀", "\\", "/", "\u2028",
]  # fmt: skip
# N tags that are data inside a string-only value once text has started (design rule 10).
N_FRAGMENTS = [f"{N}<b>", f"{N}</b>", f"{N}<mm>", f"{N} <b>"]

plain = st.one_of(
    st.text(alphabet="abcXYZ019 \n\t\"'\\/&=.,:;!?é天気😀", min_size=1, max_size=6),
    st.sampled_from(VALUE_FRAGMENTS),
    any_text_but_lt,
)
texts = st.lists(plain, max_size=5).map("".join)


@st.composite
def string_only_values(draw: st.DrawFn) -> str:
    s = draw(texts)
    if s.strip() and draw(st.integers(0, 3)) == 0:
        # Text first, then N tags: they stay in the string verbatim.
        s += "".join(draw(st.lists(st.sampled_from(N_FRAGMENTS) | plain, min_size=1, max_size=4)))
    return s


def _is_json(s: str) -> bool:
    def no_constants(c: str) -> Any:
        raise ValueError(c)

    try:
        json.loads(s, parse_constant=no_constants)
    except ValueError:
        return False
    return True


# A string with no schema is JSON when its trimmed text is: never draw such a string there.
free_strings = texts.filter(lambda s: not _is_json(s.strip()))
free_values = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(-(10**25), 10**25),
        st.floats(allow_nan=False, allow_infinity=False),
        free_strings,
    ),
    lambda inner: st.one_of(
        st.lists(st.none() | inner, max_size=3),
        st.dictionaries(st.sampled_from(FREE_KEYS), st.none() | inner, max_size=3),
    ),
    max_leaves=6,
)


def values_for(shape: Shape) -> st.SearchStrategy[Any]:
    """Values that the template renders and the parser reads back under ``shape``."""
    if shape.items is not None:
        return st.lists(maybe_none(shape.items), max_size=3)
    if shape.props:
        return object_values(shape)
    if shape.extra is not None:
        return st.dictionaries(st.sampled_from(KEYS), maybe_none(shape.extra), max_size=3)
    if "object" in shape.admits:  # an object without properties or additionalProperties
        return st.just({})
    if shape.enum:
        return st.sampled_from(shape.enum)
    if shape.string_only:
        return string_only_values()
    if "string" in shape.admits:
        return texts
    if "integer" in shape.admits:
        return st.integers(-(10**25), 10**25)
    if "number" in shape.admits:
        return st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6)
    if "boolean" in shape.admits:
        return st.booleans()
    return free_values


def maybe_none(shape: Shape) -> st.SearchStrategy[Any]:
    return st.one_of(values_for(shape), st.none())


@st.composite
def object_values(draw: st.DrawFn, shape: Shape) -> dict[str, Any]:
    """Some of the properties, in any order (the model's order is the arguments' order)."""
    props = draw(st.permutations(shape.props))
    return {k: draw(maybe_none(s)) for k, s in props[: draw(st.integers(0, len(props)))]}


# ------------------------------------------------------------------------------ expectations


def _dumps(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def empty_value(shape: Shape) -> str:
    """An empty element (design rule 8): what the schema makes of no text."""
    if not shape.admits or "string" in shape.admits:
        return '""'
    for kind, text in (("array", "[]"), ("object", "{}"), ("null", "null")):
        if kind in shape.admits:
            return text
    return '""'


def expect(shape: Shape, v: Any) -> str:
    """The JSON text the parser gives for the element the template wrote for ``v``."""
    if to_xml(v) == "":
        return empty_value(shape)
    if isinstance(v, dict):
        return "{" + ", ".join(
            f"{_dumps(k)}: {expect(shape.child(k), x)}" for k, x in v.items() if x is not None
        ) + "}"  # fmt: skip
    if isinstance(v, list):
        items = shape.items or FREE
        return "[" + ", ".join(expect(items, x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        assert json.loads(str(v)) == v  # str() writes a JSON number that reads back exactly
        return str(v)
    assert isinstance(v, str)
    if not shape.string_only:
        if not v.strip():
            return empty_value(shape)  # whitespace only counts as empty
        if v.strip() == "null" and "null" in shape.admits:
            return "null"
    return _dumps(v)


# ------------------------------------------------------------------------------------ messages

TOOL_NAMES = ["get_weather", "fs.read-file:v2", "天气查询", "mcp:github.create-issue", "🔧fix"]
UNKNOWN_TOOL = "not.in-tools"

TEXT_FRAGMENTS = [
    "a < b", "x > y", "&amp;", "用户想知道", "🇯🇵 👍🏽", "<b>bold</b>", "</x>", "<think>",
    "</think>", "<minimax:tool_call>", "</minimax:tool_call>", '<invoke name="get_weather">',
    "<tool_call>",
    f"{N}</tool_call>", f"{N}<item>y", f"{N}</invoke>", f"{N}!", "]<]mini", "<mm:thin",
]  # fmt: skip
_BLOCK_OPENER = re.compile(re.escape(N) + r"\s*<tool_call>")


def _plain_channel_text(s: str) -> bool:
    """No structure in reasoning or content: no think tag, no block opener."""
    return "mm:think>" not in s and not _BLOCK_OPENER.search(s)


free_text = (
    st.lists(
        st.one_of(
            st.text(alphabet="abcXYZ019 \n,.!?'\"é天気😀", min_size=1, max_size=8),
            st.sampled_from(TEXT_FRAGMENTS),
            any_text_but_lt,
        ),
        max_size=4,
    )
    .map("".join)
    .filter(_plain_channel_text)
)


@dataclass
class Case:
    text: str
    tools: list[dict[str, Any]]
    options: dict[str, Any]
    expected: dict[str, Any]


def _tool_json(name: str, shape: Shape, bare: bool) -> dict[str, Any]:
    function = {"name": name, "parameters": shape.schema}
    return function if bare else {"type": "function", "function": function}


@st.composite
def cases(draw: st.DrawFn) -> Case:
    names = draw(st.lists(st.sampled_from(TOOL_NAMES), min_size=1, max_size=3, unique=True))
    tools = {
        name: object_of(
            draw(
                st.lists(
                    st.tuples(st.sampled_from(KEYS), shapes), max_size=4, unique_by=lambda p: p[0]
                )
            )
        )
        for name in names
    }
    tool_json = [_tool_json(name, s, draw(st.booleans())) for name, s in tools.items()]

    # thinking_mode: "enabled" (the prompt opened <mm:think>), "adaptive" (the default) or
    # "disabled" (the prompt closed it).
    mode = draw(st.sampled_from(["adaptive", "adaptive", "enabled", "disabled"]))
    reasoning = "" if mode == "disabled" else draw(free_text)
    content = draw(free_text)
    options: dict[str, Any] = {"dialect": "m3"}
    if mode == "enabled":
        options["start_in_reasoning"] = True
        # A model may repeat the opener: a redundant <mm:think> (design rule 1).
        text = ("<mm:think>" if draw(st.booleans()) else "") + f"{reasoning}</mm:think>"
    else:
        # Start in content: the dialect's default, or said so.
        start = draw(st.sampled_from(["default", None, False]))
        if start != "default":
            options["start_in_reasoning"] = start
        if mode == "disabled":
            text = ""
        else:
            text = f"<mm:think>{reasoning}</mm:think>" if reasoning else "</mm:think>"
    text += content

    calls: list[dict[str, Any]] = []
    n_calls = draw(st.integers(0, 3))
    if n_calls:
        text += f"{N}<tool_call>\n"
        for _ in range(n_calls):
            name = draw(st.sampled_from([*names, UNKNOWN_TOOL]))
            shape = tools.get(name, object_of([]))
            args = draw(values_for(shape)) if shape.props else {}
            # Keys the schema does not know: no schema, so free values.
            unknown = st.sampled_from([k for k in FREE_KEYS if k not in dict(shape.props)])
            args.update(draw(st.dictionaries(unknown, st.none() | free_values, max_size=2)))
            text += render_call(name, args)
            # The call is an object element: arguments {} when it is empty.
            arguments = expect(shape, args)
            calls.append({"name": name, "arguments": arguments, "incomplete": False})
        text += f"{N}</tool_call>"
    expected = {
        "reasoning": reasoning.strip() or None,
        "content": content.strip() or None,
        "tool_calls": calls,
    }
    return Case(text, tool_json, options, expected)


# ------------------------------------------------------------------------------------- the tests


def test_to_xml_matches_the_template() -> None:
    """The renderer against the template's own rendering (the notes' table, run on the template)."""
    assert to_xml({"zip": "018956", "inner": {"k": [1, {"x": True}]}}) == (
        f"{N}<zip>018956{N}</zip>{N}<inner>{N}<k>{N}<item>1{N}</item>{N}<item>{N}<x>true{N}</x>"
        f"{N}</item>{N}</k>{N}</inner>"
    )
    assert (
        to_xml([[1, 2], []])
        == f"{N}<item>{N}<item>1{N}</item>{N}<item>2{N}</item>{N}</item>{N}<item>{N}</item>"
    )
    scalars: list[Any] = [3, 0.5, 1e-05, 2.0, False, None, [], {}, ""]
    assert [to_xml(v) for v in scalars] == [
        "3", "0.5", "1e-05", "2.0", "false", "", "", "", "",
    ]  # fmt: skip
    assert to_xml([None, {"a": None}]) == f"{N}<item>{N}</item>{N}<item>{N}</item>"
    text = (
        f"<mm:think>r1</mm:think>c1{N}<tool_call>\n"
        + render_call("get_weather", {"location": "Paris", "days": 3, "unit": None})
        + render_call("noargs", {})
        + f"{N}</tool_call>"
    )
    assert text == (
        f'<mm:think>r1</mm:think>c1{N}<tool_call>\n{N}<invoke name="get_weather">{N}<location>Paris'
        f'{N}</location>{N}<days>3{N}</days>{N}</invoke>\n{N}<invoke name="noargs">{N}</invoke>\n'
        f"{N}</tool_call>"
    )


def one_call(props: list[tuple[str, Shape]], args: dict[str, Any]) -> Case:
    """A response holding one call of a tool ``f`` with these parameters."""
    shape = object_of(props)
    text = f"</mm:think>{N}<tool_call>\n{render_call('f', args)}{N}</tool_call>"
    call = {"name": "f", "arguments": expect(shape, args), "incomplete": False}
    expected = {"reasoning": None, "content": None, "tool_calls": [call]}
    return Case(text, [_tool_json("f", shape, True)], {"dialect": "m3"}, expected)


# Always tried (hypothesis finds them only now and then): N tags inside a string-only value in
# the part of an object that is held back for repeats (design rule 13) and in array items.
EXAMPLES = [
    one_call([("days", array_of(FREE)), ("city", STRING)], {"days": [], "city": f"0{N}<b>"}),
    one_call([("q", array_of(STRING))], {"q": [f"0{N}<b>x{N}</b>"]}),
    one_call([("q", array_of(object_of([("x", STRING)])))], {"q": [{"x": f"a{N} <b>"}]}),
]


@settings(max_examples=500, deadline=None)
@given(cases())
@example(EXAMPLES[0])
@example(EXAMPLES[1])
@example(EXAMPLES[2])
def test_m3_one_shot_is_ground_truth(case: Case) -> None:
    """``parse`` gives back the message the template rendered."""
    got = mp.parse(case.text, tools=case.tools, id_generator=ids, **case.options)
    assert as_expected(got) == case.expected


@settings(max_examples=500, deadline=None)
@given(cases(), st.lists(st.integers(min_value=0), max_size=16))
@example(EXAMPLES[0], [])
@example(EXAMPLES[1], [])
@example(EXAMPLES[2], [])
def test_m3_streaming_is_ground_truth(case: Case, points: list[int]) -> None:
    """Streamed at random cut points (with every argument delta leaving a JSON prefix) and one
    character at a time, the events merge to the same message."""
    p = mp.StreamParser(tools=case.tools, **case.options)
    events: list[mp.Event] = []
    for piece in cut(case.text, points):
        events.extend(p.feed(piece))
    events.extend(p.finish())
    args: dict[int, str] = {}
    for e in events:
        if isinstance(e, mp.ToolCallDelta):
            args[e.index] = args.get(e.index, "") + e.arguments
            assert is_json_prefix(args[e.index]), args[e.index]
    assert merge(events) == case.expected

    p = mp.StreamParser(tools=case.tools, **case.options)
    events = [e for c in case.text for e in p.feed(c)]
    assert merge([*events, *p.finish()]) == case.expected

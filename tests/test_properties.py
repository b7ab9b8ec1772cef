"""Hypothesis properties: chunking invariance on arbitrary markup, and ground truth on responses
rendered the way the chat template writes them.

The ground-truth generator here (``template_cases``) is the project's only one: the expected
message is built with the real ``json.dumps`` as the oracle, so it checks the parser's JSON and
schema code from the outside. The Rust suite (tests/properties.rs) keeps the chunking properties
(any text, every fixture input, cut anywhere, equals one-shot)."""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minimax_parser as mp

from conftest import as_expected, ids, stream

PIECES = [
    "<think>", "</think>", "<minimax:tool_call>", "</minimax:tool_call>", '<invoke name="',
    "<invoke name='", "<invoke name=", '">', ">", "</invoke>", '<parameter name="',
    "</parameter>", "</parameter", "<", "</", "/", '"', "'", "=", " ", "\n", "\t", "city", "days",
    "get_weather", "3", "true", "null", "[1, 2]", "Paris", "天気", "😀", "\\", "é",
]  # fmt: skip

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": ["integer", "null"]},
                },
            },
        },
    }
]

texts = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(alphabet="ab<>/\"' \n=é😀", max_size=4)),
    max_size=50,
).map("".join)
options = st.fixed_dictionaries(
    {
        "reasoning": st.sampled_from(["separate", "inline"]),
        "start_in_reasoning": st.booleans(),
        "tool_calls_in_reasoning": st.sampled_from(["extract", "ignore"]),
    }
)


def cut(text: str, points: list[int]) -> list[str]:
    bounds = sorted({0, len(text), *(p % (len(text) + 1) for p in points)})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=400, deadline=None)
@given(texts, options, st.lists(st.integers(min_value=0), max_size=10))
def test_chunking_invariance(text: str, opts: dict[str, Any], points: list[int]) -> None:
    whole = as_expected(mp.parse(text, tools=TOOLS, id_generator=ids, **opts))
    assert stream(cut(text, points), tools=TOOLS, **opts) == whole
    assert stream(list(text), tools=TOOLS, **opts) == whole


# Any text without "<": it can hold no markup, whatever else it holds (control characters, every
# kind of Unicode whitespace, CJK, emoji...).
any_text_but_lt = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="<"),
    min_size=1,
    max_size=30,
)

# A string value holding markup-like text (never a real closer followed by a follower).
markup_value = st.lists(
    st.one_of(
        st.text(alphabet="abzAZ09 é天😀<>/\"'\\\n\t", min_size=1, max_size=8),
        st.sampled_from(
            [
                '<parameter name="city">', '<invoke name="get_weather">', "</parameter",
                "</invoke", "<think>", "</think>", "<minimax:tool_call>", "</", "<", "/>",
            ]
        ),
    ),
    max_size=8,
).map("".join)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(markup_value, st.lists(st.integers(min_value=0), max_size=10))
def test_string_values_round_trip(value: str, points: list[int]) -> None:
    """A string-only value comes back verbatim, whatever markup-like text it holds, as long as a
    ``</parameter>`` in it is not followed by a real follower; one-shot and streamed."""
    assume("</parameter>" not in value and "</invoke>" not in value)
    text = (
        '</think><minimax:tool_call><invoke name="get_weather">'
        f'<parameter name="city">{value}</parameter></invoke></minimax:tool_call>'
    )
    args = json.dumps({"city": value}, ensure_ascii=False)
    want = {
        "reasoning": None,
        "content": None,
        "tool_calls": [{"name": "get_weather", "arguments": args, "incomplete": False}],
    }
    assert as_expected(mp.parse(text, tools=TOOLS, id_generator=ids)) == want
    assert stream(cut(text, points), tools=TOOLS) == want


# ---------------------------------------------------------------- ground truth from random schemas
#
# Responses written the way the chat template writes them, from random tool schemas (per
# parameter: string / integer / number / boolean, null unions, enum, object, array, anyOf /
# oneOf, $ref) and values drawn to fit them. The expected message is known by construction:
# string values verbatim, other values json.dumps'ed (numbers exactly as written), keys in the
# order written.

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_NUMBER_PREFIX = re.compile(r"-?(?:(?:0|[1-9]\d*)(?:\.\d*|(?:\.\d+)?[eE][+-]?\d*)?)?")
_HEX = set("0123456789abcdefABCDEF")


def is_json_prefix(s: str) -> bool:
    """True when `s` is a prefix of some valid JSON text (RFC 8259, exact)."""
    stack: list[str] = []  # "{" or "["
    # expect: "value", "value_or_close", "key", "key_or_close", "colon", "comma_or_close", "end"
    expect = "value"
    i, n = 0, len(s)

    def after_value() -> str:
        return "comma_or_close" if stack else "end"

    while i < n:
        c = s[i]
        if c in " \t\n\r":
            i += 1
            continue
        if expect in ("value", "value_or_close"):
            if expect == "value_or_close" and c == "]":
                stack.pop()
                expect = after_value()
                i += 1
            elif c in "{[":
                stack.append(c)
                expect = "key_or_close" if c == "{" else "value_or_close"
                i += 1
            elif c == '"':
                end = _scan_string(s, i)
                if end is None:
                    return False
                if end == n:
                    return True
                i, expect = end, after_value()
            elif c == "-" or c.isdigit():
                j = i
                while j < n and s[j] in "0123456789+-.eE":
                    j += 1
                token = s[i:j]
                if j == n:
                    return _NUMBER_PREFIX.fullmatch(token) is not None
                if _NUMBER.fullmatch(token) is None:
                    return False
                i, expect = j, after_value()
            else:
                for word in ("true", "false", "null"):
                    if s.startswith(word, i):
                        i += len(word)
                        expect = after_value()
                        break
                    if word.startswith(s[i:]):
                        return True
                else:
                    return False
        elif expect in ("key", "key_or_close"):
            if expect == "key_or_close" and c == "}":
                stack.pop()
                expect = after_value()
                i += 1
            elif c == '"':
                end = _scan_string(s, i)
                if end is None:
                    return False
                if end == n:
                    return True
                i, expect = end, "colon"
            else:
                return False
        elif expect == "colon":
            if c != ":":
                return False
            i, expect = i + 1, "value"
        elif expect == "comma_or_close":
            if c == ",":
                expect = "key" if stack[-1] == "{" else "value"
            elif c == ("}" if stack[-1] == "{" else "]"):
                stack.pop()
                expect = after_value()
            else:
                return False
            i += 1
        else:  # "end": only whitespace may follow a complete value
            return False
    return True


def _scan_string(s: str, i: int) -> int | None:
    """From the opening quote at i: the index after the closing quote, len(s) if the text ends
    inside a valid string, None if the string is invalid."""
    n = len(s)
    i += 1
    while i < n:
        c = s[i]
        if c == '"':
            return i + 1
        if c == "\\":
            if i + 1 == n:
                return n
            e = s[i + 1]
            if e in '"\\/bfnrt':
                i += 2
            elif e == "u":
                hexes = s[i + 2 : i + 6]
                if not all(h in _HEX for h in hexes):
                    return None
                if len(hexes) < 4:
                    return n
                i += 6
            else:
                return None
        elif ord(c) < 0x20:
            return None
        else:
            i += 1
    return n


def test_json_prefix_checker() -> None:
    docs = ['{"a": [1, -2.5e+3, true, null, "x\\u00e9\\n"], "b": {}}', "[]", '"s"', "-0.0E1"]
    for doc in docs:
        json.loads(doc)
        assert all(is_json_prefix(doc[:k]) for k in range(len(doc) + 1)), doc
    bad = ["{,", "[1,]", '{"a" 1', "01", "tru e", "1.e", "[1 2]", '{"a":1}}', '"\\x"', "--1",
           '"\\u12g', "nul!", '{"a":}', "{1:2}", '"a\nb"', "1 2", "]"]  # fmt: skip
    for b in bad:
        assert not is_json_prefix(b), b


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(json_values, st.booleans())
def test_json_prefix_checker_accepts_every_prefix(value: Any, ascii: bool) -> None:
    doc = json.dumps(value, ensure_ascii=ascii)
    assert all(is_json_prefix(doc[:k]) for k in range(len(doc) + 1)), doc
    assert not is_json_prefix(doc + " x")


def _json_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


JsonTree = Any


def _dumps(v: JsonTree) -> str:
    """json.dumps layout; numbers are kept as written (they are held as _Num)."""
    if isinstance(v, _Num):
        return v.text
    if isinstance(v, list):
        return "[" + ", ".join(_dumps(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_json_str(k)}: {_dumps(x)}" for k, x in v.items()) + "}"
    return json.dumps(v, ensure_ascii=False)


def _write(v: JsonTree, ascii: bool, pretty: bool) -> str:
    """The JSON text as a model might write it: compact or spread, strings maybe \\u-escaped."""
    sep, colon = (",\n  ", ": ") if pretty else (",", ":")
    if isinstance(v, _Num):
        return v.text
    if isinstance(v, list):
        return "[" + sep.join(_write(x, ascii, pretty) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + sep.join(
            f"{json.dumps(k, ensure_ascii=ascii)}{colon}{_write(x, ascii, pretty)}"
            for k, x in v.items()
        ) + "}"  # fmt: skip
    return json.dumps(v, ensure_ascii=ascii)


@dataclass(frozen=True)
class _Num:
    text: str


_num_text = st.from_regex(r"\A(0|-?[1-9][0-9]{0,24})(\.[0-9]{1,4})?\Z")
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    _num_text.map(_Num),
    st.text(alphabet='abcXYZ019 é天😀"\\/\n\t', max_size=8),
)
json_tree = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(alphabet="abz天😀_ ", max_size=5), inner, max_size=3),
    ),
    max_leaves=12,
)

BASES = ["string", "integer", "number", "boolean", "object", "array"]
FORMS = ["type", "type", "type", "nullable", "anyOf", "oneOf", "ref", "definitions", "enum"]
STR_ENUM = ["red", "3", "02134", "true", "ok 🟢", " spaced "]
INT_ENUM = ["1", "2", "-5", "30000000000000000000"]
NUMBER_TEXT = r"\A(-?(0\.[0-9]{1,6}|[1-9][0-9]{0,25}(\.[0-9]{1,6})?)|0)([eE][+-]?[0-9]{1,3})?\Z"


@dataclass
class ParamSchema:
    types: list[str]
    null: bool
    form: str

    def __post_init__(self) -> None:
        enum_ok = len(self.types) == 1 and self.types[0] in ("string", "integer", "boolean")
        if (self.form == "enum" and not enum_ok) or (
            self.form == "nullable" and (len(self.types) != 1 or not self.null)
        ):
            self.form = "type"

    @property
    def string_only(self) -> bool:
        return self.types == ["string"] and not self.null

    def schema(self, key: str, defs: dict[str, Any], definitions: dict[str, Any]) -> Any:
        names: list[str] = [*self.types, "null"] if self.null else list(self.types)
        typed = {"type": names[0] if len(names) == 1 else names}
        if self.form == "type":
            return typed
        if self.form == "nullable":
            return {"type": self.types[0], "nullable": True}
        if self.form in ("anyOf", "oneOf"):
            members: list[Any] = [
                {"type": "array", "items": {}} if t == "array" else {"type": t} for t in self.types
            ]
            if self.null:
                members.append({"type": "null"})
            return {self.form: members}
        if self.form == "ref":
            defs[key] = typed
            return {"$ref": f"#/$defs/{key}"}
        if self.form == "definitions":
            definitions[key] = typed
            return {"$ref": f"#/definitions/{key}"}
        values: list[Any]
        if self.types[0] == "string":
            values = list(STR_ENUM)
        elif self.types[0] == "integer":
            values = [int(v) for v in INT_ENUM]
        else:
            values = [True, False]
        return {"enum": [*values, None] if self.null else values}


param_schemas = st.builds(
    ParamSchema,
    types=st.lists(st.sampled_from(BASES), min_size=1, max_size=2, unique=True),
    null=st.booleans(),
    form=st.sampled_from(FORMS),
)


@dataclass(frozen=True)
class Val:
    written: str
    expected: str  # the JSON text in the arguments
    string: str | None  # a string value: must come back verbatim
    value: Any  # what json.loads gives for it


# Markup-like text that is data inside a value: closers are only ever followed by a letter.
VALUE_FRAGMENTS = [
    "</parameter> is data", "x</invoke>y", "<b>bold</b>", "a < b", "<think>", "</think>",
    "<minimax:tool_call>", "&amp;", "02134", "3", "true", "null", '{"k": 1}', "[1, 2]", "\r\n",
    "👨\u200d👩\u200d👧", "  ",
]  # fmt: skip
safe_value_text = st.lists(
    st.one_of(
        st.text(alphabet="abcXYZ019 \n\t\"'\\/&=.,:;!?é天気😀\u2028", min_size=1, max_size=6),
        st.sampled_from(VALUE_FRAGMENTS),
        any_text_but_lt,
    ),
    max_size=5,
).map("".join)
pad = st.sampled_from(["", "", " ", "\n", " \n  "])


def _typed(draw: st.DrawFn, text: str, expected: str, value: Any) -> Val:
    return Val(draw(pad) + text + draw(pad), expected, None, value)


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


@st.composite
def values_for(draw: st.DrawFn, p: ParamSchema) -> Val:
    if p.form == "enum":
        if p.types[0] == "string":
            s = draw(st.sampled_from([*STR_ENUM, *(["null"] if p.null else [])]))
            return Val(s, "null", None, None) if s == "null" else Val(s, _json_str(s), s, s)
        if p.types[0] == "integer":
            t = draw(st.sampled_from([*INT_ENUM, *(["null"] if p.null else [])]))
        else:
            t = draw(
                st.sampled_from(["true", "false", "True", "FALSE", *(["null"] if p.null else [])])
            )
        return Val(t, t.lower(), None, _loads(t.lower()))
    kind = draw(st.sampled_from([*p.types, *(["null"] if p.null else [])]))
    if kind == "string":
        s = draw(safe_value_text)
        if not p.string_only:
            s = "x" + s  # in a union the text must fit no other admitted type
        return Val(s, _json_str(s), s, s)
    if kind == "integer":
        d = draw(st.from_regex(r"\A(0|-?[1-9][0-9]{0,30})\Z"))
        return _typed(draw, d, d, int(d))
    if kind == "number":
        d = draw(st.from_regex(NUMBER_TEXT))
        if math.isinf(float(d)):
            # Past the double range: not a number (SPEC §9), so the raw text as a string.
            w = draw(pad) + d + draw(pad)
            return Val(w, _json_str(w), w, w)
        return _typed(draw, d, d, _loads(d))
    if kind == "boolean":
        b = draw(st.booleans())
        w = "".join(c.upper() if draw(st.booleans()) else c for c in str(b).lower())
        return _typed(draw, w, str(b).lower(), b)
    if kind == "null":
        return _typed(draw, "null", "null", None)
    tree: Any
    if kind == "object":
        tree = draw(
            st.dictionaries(st.text(alphabet="abz天😀_ ", max_size=5), json_tree, max_size=3)
        )
    else:
        tree = draw(st.lists(json_tree, max_size=3))
    out = _dumps(tree)
    return _typed(draw, _write(tree, draw(st.booleans()), draw(st.booleans())), out, _loads(out))


TOOL_NAMES = ["get_weather", "fs.read-file:v2", "天气查询", "mcp:github.create-issue", "🔧fix"]
PARAM_NAMES = [
    "city", "days", "max-bytes", "opt.follow:links", "城市", "数量", "🎒", "q", "payload",
]  # fmt: skip

free_text = st.lists(
    st.one_of(
        st.text(alphabet="abcXYZ019 \n,.!?'\"é天気😀", min_size=1, max_size=8),
        st.sampled_from(["a < b", "x > y", "&amp;", "用户想知道", "🇯🇵 👍🏽"]),
        any_text_but_lt,
    ),
    max_size=4,
).map("".join)


@dataclass
class TemplateCase:
    text: str
    tools: list[dict[str, Any]]
    expected: dict[str, Any]
    reasoning_parts: list[str]
    content_parts: list[str]
    values: list[tuple[int, str, Val]]  # (call index, key, value)


@st.composite
def template_cases(draw: st.DrawFn) -> TemplateCase:
    names = draw(st.lists(st.sampled_from(TOOL_NAMES), min_size=1, max_size=3, unique=True))
    tools: list[tuple[str, list[tuple[str, ParamSchema]]]] = []
    tool_json: list[dict[str, Any]] = []
    for name in names:
        keys = draw(st.lists(st.sampled_from(PARAM_NAMES), max_size=4, unique=True))
        params = [(k, draw(param_schemas)) for k in keys]
        tools.append((name, params))
        props: dict[str, Any] = {}
        defs: dict[str, Any] = {}
        definitions: dict[str, Any] = {}
        for i, (k, ps) in enumerate(params):
            props[k] = ps.schema(f"T{i}", defs, definitions)
        parameters: dict[str, Any] = {"type": "object", "properties": props}
        if defs:
            parameters["$defs"] = defs
        if definitions:
            parameters["definitions"] = definitions
        tool_json.append({"type": "function", "function": {"name": name, "parameters": parameters}})

    reasoning, content, mid, tail = (
        draw(free_text),
        draw(free_text),
        draw(free_text),
        draw(free_text),
    )
    second_think = draw(st.none() | free_text)
    text = ("<think>\n" if draw(st.booleans()) else "") + f"{reasoning}\n</think>\n\n{content}"
    r_raw, c_raw = f"{reasoning}\n", f"\n\n{content}"
    content_parts = [content, tail]
    calls: list[dict[str, Any]] = []
    values: list[tuple[int, str, Val]] = []
    n_invokes = draw(st.integers(min_value=0, max_value=4))
    # split == 0: the first block is empty (<minimax:tool_call>\n</minimax:tool_call>).
    split = draw(st.integers(min_value=0, max_value=4))

    def render_invoke() -> str:
        name, params = tools[draw(st.integers(min_value=0, max_value=len(tools) - 1))]
        order = draw(st.permutations(range(len(params))))
        order = order[: draw(st.integers(min_value=0, max_value=len(order)))]
        out = f'<invoke name="{name}">\n'
        args = []
        for pi in order:
            key, ps = params[pi]
            v = draw(values_for(ps))
            out += f'<parameter name="{key}">{v.written}</parameter>\n'
            args.append(f"{_json_str(key)}: {v.expected}")
            values.append((len(calls), key, v))
        calls.append({"name": name, "arguments": "{" + ", ".join(args) + "}", "incomplete": False})
        return out + "</invoke>\n"

    if n_invokes:
        first = min(split, n_invokes)
        text += "\n<minimax:tool_call>\n"
        c_raw += "\n"
        text += "".join(render_invoke() for _ in range(first)) + "</minimax:tool_call>"
        if first < n_invokes:
            content_parts.append(mid)
            text += f"\n{mid}\n<minimax:tool_call>\n"
            c_raw += f"\n{mid}\n"
            text += "".join(render_invoke() for _ in range(n_invokes - first))
            text += "</minimax:tool_call>"
    if second_think is not None:
        text += f"\n<think>\n{second_think}\n</think>\n"
        r_raw += f"\n{second_think}\n"
        c_raw += "\n\n"
    text += tail
    c_raw += tail
    expected = {
        "reasoning": r_raw.strip() or None,
        "content": c_raw.strip() or None,
        "tool_calls": calls,
    }
    reasoning_parts = [reasoning] + ([second_think] if second_think is not None else [])
    return TemplateCase(text, tool_json, expected, reasoning_parts, content_parts, values)


@settings(max_examples=300, deadline=None)
@given(template_cases())
def test_template_one_shot_is_ground_truth(case: TemplateCase) -> None:
    """(a) parse gives the message the response was built from."""
    assert as_expected(mp.parse(case.text, tools=case.tools, id_generator=ids)) == case.expected


@settings(max_examples=300, deadline=None)
@given(template_cases(), st.lists(st.integers(min_value=0), max_size=12))
def test_template_chunking_is_ground_truth(case: TemplateCase, points: list[int]) -> None:
    """(b) streaming at random cut points, and one char at a time, gives the ground truth."""
    assert stream(cut(case.text, points), tools=case.tools) == case.expected
    assert stream(list(case.text), tools=case.tools) == case.expected


@settings(max_examples=300, deadline=None)
@given(template_cases(), st.lists(st.integers(min_value=0), max_size=20))
def test_template_streamed_arguments_are_json_prefixes(
    case: TemplateCase, points: list[int]
) -> None:
    """(c) after every delta each call's arguments so far are a prefix of valid JSON."""
    p = mp.StreamParser(tools=case.tools)
    args: list[str] = []
    events: list[mp.Event] = []
    for piece in cut(case.text, points):
        events.extend(p.feed(piece))
    events.extend(p.finish())
    for e in events:
        if isinstance(e, mp.ToolCallStart):
            assert e.index == len(args)
            args.append("")
        elif isinstance(e, mp.ToolCallDelta):
            args[e.index] += e.arguments
            assert is_json_prefix(args[e.index]), args[e.index]
        elif isinstance(e, mp.ToolCallEnd):
            assert args[e.index] == e.arguments
            assert not e.incomplete
    assert args == [c["arguments"] for c in case.expected["tool_calls"]]


@settings(max_examples=300, deadline=None)
@given(template_cases())
def test_template_nothing_lost(case: TemplateCase) -> None:
    """(d) every generated text, tool name and value is in the output."""
    msg = mp.parse(case.text, tools=case.tools)
    for r in case.reasoning_parts:
        assert r.strip() in (msg.reasoning or "")
    for c in case.content_parts:
        assert c.strip() in (msg.content or "")
    assert [c.name for c in msg.tool_calls] == [c["name"] for c in case.expected["tool_calls"]]
    for index, key, v in case.values:
        decoded = json.loads(msg.tool_calls[index].arguments, parse_float=Decimal)
        if v.string is not None:
            assert decoded[key] == v.string
            assert _json_str(v.string) in msg.tool_calls[index].arguments
        else:
            assert decoded[key] == v.value

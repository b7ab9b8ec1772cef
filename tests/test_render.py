"""Rendering back (SPEC §8): ``render``, ``think_block`` and ``inline_reasoning``.

* Exact bytes: the SPEC's samples, and a table of messages whose expected text was produced by
  running the official chat templates (MiniMax-M2 as llama.cpp ships it, MiniMax-M3 as published)
  with Jinja2 the way ``transformers`` runs them (``trim_blocks``, ``lstrip_blocks``, ``tojson`` =
  ``json.dumps(ensure_ascii=False)``), each covering one branch of the templates' assistant turn.
* Round trip: ``parse(render(m)) == m`` (ids aside; arguments compared as JSON values with
  duplicate keys kept) for every message ``parse`` makes of the well-formed responses the
  property suites generate (tests/test_properties.py, tests/test_properties_m3.py), and for every
  golden fixture's expected message but those :func:`why_not_renderable` names.
* ``inline_reasoning``: a copy, both dialects, every content form; ``think_block`` parses back.

The rendered text is a whole assistant turn, which starts outside reasoning: an M2 turn without
reasoning is parsed back with ``start_in_reasoning=False`` (M3 starts there by default).
"""

from __future__ import annotations

import copy
import doctest
import importlib
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionMessage
from test_properties_m3 import Case
from test_properties_m3 import cases as m3_cases
from test_properties_m3 import free_text as m3_text

import minimax_parser as mp
from minimax_parser.render import think_block

from conftest import Fixture, load_fixtures
from test_properties import TemplateCase, template_cases
from test_properties import free_text as m2_text

N = "]<]minimax[>["


def pairs(arguments: str) -> Any:
    """Arguments as a JSON value with objects as lists of pairs: order and duplicates kept."""
    return json.loads(arguments, object_pairs_hook=list)


def comparable(msg: mp.Message | dict[str, Any], *, whole: bool = False) -> dict[str, Any]:
    """A message without ids, its arguments as JSON values (duplicate keys kept); ``whole``: every
    call marked complete, as a rendered call reads back."""
    if isinstance(msg, mp.Message):
        calls = [(c.name, c.arguments, c.incomplete) for c in msg.tool_calls]
        reasoning, content = msg.reasoning, msg.content
    else:
        calls = [(c["name"], c["arguments"], c["incomplete"]) for c in msg["tool_calls"]]
        reasoning, content = msg["reasoning"], msg["content"]
    return {
        "reasoning": reasoning,
        "content": content,
        "tool_calls": [(name, pairs(args), cut and not whole) for name, args, cut in calls],
    }


def call(name: str, arguments: Any) -> dict[str, Any]:
    return {"id": "call_0", "type": "function", "function": {"name": name, "arguments": arguments}}


# -------------------------------------------------------------------------------- exact bytes

SPEC_M2 = (
    '<think>\nr\n</think>\n\nc\n<minimax:tool_call>\n<invoke name="get_weather">\n'
    '<parameter name="location">Paris</parameter>\n<parameter name="days">3</parameter>\n'
    "</invoke>\n</minimax:tool_call>"
)
SPEC_M3 = (
    f'<mm:think>r</mm:think>c{N}<tool_call>\n{N}<invoke name="get_weather">{N}<location>Paris'
    f"{N}</location>{N}<days>3{N}</days>{N}</invoke>\n{N}</tool_call>"
)
WEATHER = {"location": "Paris", "days": 3}

# (dialect, message, the text the official template renders between "]~b]ai\n" and "[e~[").
TEMPLATE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("m2", {"reasoning_content": "r", "content": "c", "tool_calls": [call("get_weather", WEATHER)]},
     SPEC_M2),
    # No content: the block still starts on a new line. Values: strings raw (whitespace too),
    # everything else json.dumps(ensure_ascii=False), None as null; a call without arguments.
    ("m2", {"content": None, "tool_calls": [
        call("f", {"q": " a\nb ", "n": 1.5, "big": 10**20, "flag": True, "none": None,
                   "list": [1, "x", None], "obj": {"k": 'é天 "q" <b>'}}),
        call("noargs", {})]},
     '\n<minimax:tool_call>\n<invoke name="f">\n<parameter name="q"> a\nb </parameter>\n'
     '<parameter name="n">1.5</parameter>\n'
     '<parameter name="big">100000000000000000000</parameter>\n'
     '<parameter name="flag">true</parameter>\n<parameter name="none">null</parameter>\n'
     '<parameter name="list">[1, "x", null]</parameter>\n'
     '<parameter name="obj">{"k": "é天 \\"q\\" <b>"}</parameter>\n</invoke>\n'
     '<invoke name="noargs">\n</invoke>\n</minimax:tool_call>'),
    ("m2", {"reasoning_content": "Only thinking.", "content": ""},
     "<think>\nOnly thinking.\n</think>\n\n"),
    # No reasoning_content: a think block in the content is split out and written back.
    ("m2", {"content": "<think>\nR\n</think>\n\nC"}, "<think>\nR\n</think>\n\nC"),
    # ... the reasoning before the first closer, the content after the last, newlines stripped.
    ("m2", {"content": "\nfirst</think>\n\nmid</think>\nlast\n"},
     "<think>\nfirst\n</think>\n\nlast"),
    # A reasoning_content string, even empty, wins: the content is not split.
    ("m2", {"reasoning_content": "", "content": "a</think>b"}, "a</think>b"),
    # Text parts and plain strings of a content list; other parts and an empty call list vanish.
    ("m2", {"content": [{"type": "text", "text": "A"},
                        {"type": "image_url", "image_url": {"url": "u"}}, "B"], "tool_calls": []},
     "AB"),
    ("m3", {"reasoning_content": "r", "content": "c", "tool_calls": [call("get_weather", WEATHER)]},
     SPEC_M3),
    # m3-notes §2.3: a None argument is left out; a call without arguments.
    ("m3", {"reasoning_content": "r1", "content": "c1", "tool_calls": [
        call("get_weather", {**WEATHER, "unit": None}), call("noargs", {})]},
     f'<mm:think>r1</mm:think>c1{N}<tool_call>\n{N}<invoke name="get_weather">{N}<location>Paris'
     f'{N}</location>{N}<days>3{N}</days>{N}</invoke>\n{N}<invoke name="noargs">{N}</invoke>\n'
     f"{N}</tool_call>"),
    # Every turn without reasoning starts with a bare closer.
    ("m3", {"content": "final"}, "</mm:think>final"),
    # to_xml: nested objects and lists, None items, empty values, Python str() of numbers; a
    # bare (unwrapped) call with a mapping as arguments.
    ("m3", {"content": None, "tool_calls": [{"name": "f", "arguments": {
        "zip": "018956", "inner": {"k": [1, {"x": True}]}, "m": [[1, 2], [], None], "e": "",
        "d": {}, "x": {"a": None}, "f": [1e-05, 2.0, 0.5, False]}}]},
     f'</mm:think>{N}<tool_call>\n{N}<invoke name="f">{N}<zip>018956{N}</zip>{N}<inner>{N}<k>'
     f"{N}<item>1{N}</item>{N}<item>{N}<x>true{N}</x>{N}</item>{N}</k>{N}</inner>{N}<m>{N}<item>"
     f"{N}<item>1{N}</item>{N}<item>2{N}</item>{N}</item>{N}<item>{N}</item>{N}<item>{N}</item>"
     f"{N}</m>{N}<e>{N}</e>{N}<d>{N}</d>{N}<x>{N}</x>{N}<f>{N}<item>1e-05{N}</item>{N}<item>2.0"
     f"{N}</item>{N}<item>0.5{N}</item>{N}<item>false{N}</item>{N}</f>{N}</invoke>\n"
     f"{N}</tool_call>"),
    ("m3", {"content": "<mm:think>\nr\n</mm:think>\nc"}, "<mm:think>r</mm:think>c"),
    # M3 also writes its image and video placeholders.
    ("m3", {"content": [{"type": "text", "text": "See "}, {"type": "image"}, {"type": "video"},
                        {"type": "image_url"}]},
     "</mm:think>See ]<]image[>[]<]video[>["),
]  # fmt: skip


@pytest.mark.parametrize(("dialect", "message", "want"), TEMPLATE_CASES)
def test_render_is_the_template_text(dialect: str, message: dict[str, Any], want: str) -> None:
    message = {"role": "assistant", **message}
    assert mp.render(message, dialect=dialect) == want  # type: ignore[arg-type]
    # Arguments as JSON text (what to_openai() and the SDK carry) render the same.
    as_text = copy.deepcopy(message)
    for c in as_text.get("tool_calls") or []:
        fn = c.get("function", c)
        fn["arguments"] = json.dumps(fn["arguments"])
    assert mp.render(as_text, dialect=dialect) == want  # type: ignore[arg-type]


def test_render_accepts_every_message_form() -> None:
    """A Message, its to_openai() dict and an OpenAI SDK message render alike."""
    msg = mp.Message(
        reasoning="r",
        content="c",
        tool_calls=[mp.ToolCall(0, "call_0", "get_weather", json.dumps(WEATHER))],
    )
    sdk = ChatCompletionMessage.model_validate({**msg.to_openai(), "role": "assistant"})
    assert sdk.model_dump()["reasoning_content"] == "r"  # carried as an extra field
    for dialect, want in (("m2", SPEC_M2), ("m3", SPEC_M3)):
        for form in (msg, msg.to_openai(), sdk):
            assert mp.render(form, dialect=dialect) == want  # type: ignore[arg-type]
    # Tool calls as our ToolCall objects or SDK objects inside a plain dict.
    for calls in (msg.tool_calls, sdk.tool_calls):
        plain = {"reasoning_content": "r", "content": "c", "tool_calls": calls}
        assert mp.render(plain) == SPEC_M2
    # "reasoning" (vLLM's newer field name) is read when reasoning_content is absent.
    assert mp.render({"role": "assistant", "reasoning": "r", "content": "c"}) == (
        "<think>\nr\n</think>\n\nc"
    )


def test_render_keeps_duplicate_keys() -> None:
    """parse keeps a repeated parameter (B 12); render writes each occurrence, in order."""
    text = (
        '</think><minimax:tool_call><invoke name="f"><parameter name="a">1</parameter>'
        '<parameter name="a">x</parameter></invoke></minimax:tool_call>'
    )
    msg = mp.parse(text)
    assert msg.tool_calls[0].arguments == '{"a": 1, "a": "x"}'
    assert mp.render(msg) == (
        '\n<minimax:tool_call>\n<invoke name="f">\n<parameter name="a">1</parameter>\n'
        '<parameter name="a">x</parameter>\n</invoke>\n</minimax:tool_call>'
    )
    nested = {"tool_calls": [call("f", '{"o": {"k": 1, "k": [true]}}')]}
    assert '<parameter name="o">{"k": 1, "k": [true]}</parameter>' in mp.render(nested)
    assert f"{N}<o>{N}<k>1{N}</k>{N}<k>{N}<item>true{N}</item>{N}</k>{N}</o>" in mp.render(
        nested, dialect="m3"
    )


def test_render_docstring_examples() -> None:
    # (mp.render is the function: the module is reached by its name.)
    module = importlib.import_module("minimax_parser.render")
    result = doctest.testmod(module, raise_on_error=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_render_misuse_raises() -> None:
    with pytest.raises(ValueError, match="dialect"):
        mp.render({"content": "x"}, dialect="m4")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not valid JSON"):
        mp.render({"tool_calls": [call("f", "{")]})
    with pytest.raises(ValueError, match="not a JSON object"):
        mp.render({"tool_calls": [call("f", "[1]")]})
    with pytest.raises(TypeError, match="str name"):
        mp.render({"tool_calls": [{"function": {"arguments": "{}"}}]})
    with pytest.raises(TypeError, match="mapping"):
        mp.render("just text")


# ---------------------------------------------------------------------------------- round trip

# The rendered text is a whole turn: it starts outside reasoning.
TURN: dict[str, Any] = {"start_in_reasoning": False}


@settings(max_examples=300, deadline=None)
@given(template_cases())
def test_m2_round_trip(case: TemplateCase) -> None:
    """parse → render → parse gives the same message, for every message parse makes of a
    well-formed M2 response; as a Message, its to_openai() dict, or with mapping arguments."""
    msg = mp.parse(case.text, tools=case.tools)
    text = mp.render(msg)
    assert comparable(mp.parse(text, tools=case.tools, **TURN)) == comparable(msg)
    if msg.reasoning is not None:  # the think block also reads back from M2's default start
        assert comparable(mp.parse(text, tools=case.tools)) == comparable(msg)
    as_dict = msg.to_openai()
    assert mp.render(as_dict) == text
    for c in as_dict.get("tool_calls") or []:
        c["function"]["arguments"] = json.loads(c["function"]["arguments"])
    assert mp.render(as_dict) == text  # the generator writes no duplicate keys


@settings(max_examples=300, deadline=None)
@given(m3_cases())
def test_m3_round_trip(case: Case) -> None:
    """The same for MiniMax-M3; the case's own start state (its thinking mode) reads the turn
    back too."""
    msg = mp.parse(case.text, tools=case.tools, **case.options)
    text = mp.render(msg, dialect="m3")
    for options in (case.options, {**case.options, **TURN}):
        assert comparable(mp.parse(text, tools=case.tools, **options)) == comparable(msg)
    assert mp.render(msg.to_openai(), dialect="m3") == text


# Why a fixture's expected message cannot come back from render → parse. Each is a limit of
# the template's format, shown on a minimal message by test_exclusions_are_real. (A call cut off
# mid-way is no reason: it comes back whole, as the template writes every call, and is compared
# so.)
REASONS = {
    "inline think block": "inline mode keeps the think block in the content as the response "
    "wrote it; the template splits it out and writes it back in its own layout",
    "m3 null": "M3: to_xml leaves a None out of a mapping and writes a None item as an empty "
    "element, which reads back by its schema",
    "m3 mixed text": 'M3: "$text" holds text mixed with child elements, which the template '
    "cannot write: it writes the key as an element of its own, read back by no schema",
}
MIXED = ("$text", "$$text")


def why_not_renderable(f: Fixture) -> str | None:
    """The key in REASONS that excludes this fixture from the round trip, or None."""
    content = f.expected["content"] or ""
    closer = "</think>" if f.dialect == "m2" else "</mm:think>"
    if f.options.get("reasoning") == "inline" and closer in content:
        rewritten = mp.render({"content": content}, dialect=f.dialect)  # type: ignore[arg-type]
        if rewritten != content:
            return "inline think block"
    if f.dialect == "m3":
        values = [_with_tuples(c["arguments"]) for c in f.expected["tool_calls"]]
        if any(_holds(v, lambda x: x is None) for v in values):
            return "m3 null"
        if any(_holds(v, lambda x: isinstance(x, tuple) and x[0] in MIXED) for v in values):
            return "m3 mixed text"
    return None


def _with_tuples(arguments: str) -> Any:
    """Arguments as a JSON value whose objects are lists of (key, value) tuples."""
    return json.loads(arguments, object_pairs_hook=lambda ps: [tuple(p) for p in ps])


def _holds(value: Any, pred: Callable[[Any], bool]) -> bool:
    """Whether ``pred`` holds for ``value`` or for anything inside it."""
    if pred(value):
        return True
    if isinstance(value, list):
        return any(_holds(x, pred) for x in value)
    if isinstance(value, tuple):
        return _holds(value[1], pred)
    return False


FIXTURES = load_fixtures()
#: How many fixtures each reason excludes, per dialect: few, and changed only on purpose.
EXCLUDED = {
    ("m2", "inline think block"): 9,
    ("m3", "inline think block"): 1,
    ("m3", "m3 null"): 10,
    ("m3", "m3 mixed text"): 6,
}


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_fixture_round_trip(fixture: Fixture) -> None:
    """Every fixture's expected message renders and parses back to itself, with the fixture's
    tools and options (from outside reasoning: the text is a whole turn); a call cut off
    mid-way comes back whole."""
    reason = why_not_renderable(fixture)
    if reason is not None:
        assert (fixture.dialect, reason) in EXCLUDED  # counted in test_exclusions_are_few
        return
    e = fixture.expected
    message = {
        "role": "assistant",
        "content": e["content"],
        "reasoning_content": e["reasoning"],
        "tool_calls": [call(c["name"], c["arguments"]) for c in e["tool_calls"]],
    }
    text = mp.render(message, dialect=fixture.dialect)  # type: ignore[arg-type]
    back = mp.parse(text, tools=fixture.tools, **{**fixture.options, **TURN})
    assert comparable(back) == comparable(e, whole=True), text


def test_exclusions_are_few() -> None:
    """The fixtures each reason excludes, counted: a new exclusion is a decision, not luck."""
    counts = Counter((f.dialect, r) for f in FIXTURES if (r := why_not_renderable(f)) is not None)
    assert dict(counts) == EXCLUDED
    assert sum(counts.values()) * 10 < len(FIXTURES)
    assert {reason for _, reason in EXCLUDED} == set(REASONS)


def test_exclusions_are_real() -> None:
    """Each reason is a real limit of the template format, on a minimal message."""
    tools = [{"name": "f", "parameters": {"type": "object", "properties": {
        "n": {"type": ["integer", "null"]}}}}]  # fmt: skip
    # M3 null: a None member is left out; a None item comes back as what an empty item means.
    msg = {"tool_calls": [call("f", {"n": None, "k": [None]})]}
    back = mp.parse(mp.render(msg, dialect="m3"), tools=tools, dialect="m3")
    assert back.tool_calls[0].arguments == '{"k": [""]}'
    # M3 mixed text: "$text" is written as an element and read back by no schema.
    msg = {"tool_calls": [call("f", {"n": {"x": 1, "$text": "3"}})]}
    back = mp.parse(mp.render(msg, dialect="m3"), dialect="m3")
    assert back.tool_calls[0].arguments == '{"n": {"x": 1, "$text": 3}}'
    # Inline think block: the template writes it back in its own layout.
    inline = mp.parse("Plan.</think>Hi.", reasoning="inline")
    assert inline.content == "<think>Plan.</think>Hi."
    back = mp.parse(mp.render(inline), reasoning="inline", **TURN)
    assert back.content == "<think>\nPlan.\n</think>\n\nHi."
    # A call cut off mid-way is written whole, so it comes back complete (compared so).
    cut = mp.parse('</think><minimax:tool_call><invoke name="f"><parameter name="n">1')
    assert cut.tool_calls[0].incomplete
    back = mp.parse(mp.render(cut), **TURN)
    assert comparable(back) == comparable(cut, whole=True)
    assert not back.tool_calls[0].incomplete


# ------------------------------------------------------------------------- think_block, inline


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["m2", "m3"]), st.data())
def test_think_block_parses_back(dialect: str, data: st.DataObject) -> None:
    """``parse(think_block(r) + c)`` gives back r and c (trimmed), from the dialect's default
    start and from outside reasoning."""
    text_of = m2_text if dialect == "m2" else m3_text
    r, c = data.draw(text_of), data.draw(text_of)
    text = think_block(r, dialect) + c  # type: ignore[arg-type]
    want = (r.strip() or None, c.strip() or None)
    for start in (None, False):
        msg = mp.parse(text, dialect=dialect, start_in_reasoning=start)  # type: ignore[arg-type]
        assert (msg.reasoning, msg.content) == want


def test_think_block_bytes() -> None:
    assert think_block("r") == think_block("r", "m2") == "<think>\nr\n</think>\n\n"
    assert think_block("r", "m3") == "<mm:think>r</mm:think>"
    with pytest.raises(ValueError):
        think_block("r", "m1")  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", ["m2", "m3"])
def test_inline_reasoning(dialect: str) -> None:
    block = think_block("why", dialect)  # type: ignore[arg-type]
    closer = "</think>" if dialect == "m2" else "</mm:think>"
    other = "</mm:think>" if dialect == "m2" else "</think>"
    history: list[Any] = [
        {"role": "system", "content": "sys", "reasoning_content": "not an assistant"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "A.", "reasoning_content": "why", "name": "bot"},
        {"role": "assistant", "content": None, "reasoning_content": "why",
         "tool_calls": [call("f", "{}")]},
        {"role": "tool", "tool_call_id": "call_0", "content": "ok"},
        {"role": "assistant", "content": [{"type": "text", "text": "B."}], "reasoning": "why"},
        {"role": "assistant", "content": f"x{closer}y", "reasoning_content": "kept as is"},
        {"role": "assistant", "content": f"x{other}y", "reasoning_content": "why"},
        {"role": "assistant", "content": "no reasoning", "reasoning_content": ""},
        {"role": "assistant", "content": "no reasoning"},
    ]  # fmt: skip
    before = copy.deepcopy(history)
    out = mp.inline_reasoning(history, dialect=dialect)  # type: ignore[arg-type]
    assert history == before  # never mutated
    assert all(o is not h for o, h in zip(out, history, strict=True))  # new dicts
    assert out == [
        history[0],
        history[1],
        {"role": "assistant", "content": block + "A.", "name": "bot"},
        {"role": "assistant", "content": block, "tool_calls": [call("f", "{}")]},
        history[4],
        {"role": "assistant", "content": [{"type": "text", "text": block},
                                          {"type": "text", "text": "B."}]},
        history[6],
        {"role": "assistant", "content": block + f"x{other}y"},
        history[8],
        history[9],
    ]  # fmt: skip
    # What the template makes of the inlined turn is what it makes of the original.
    for o, h in zip(out, history, strict=True):
        if h["role"] == "assistant" and h is not history[6]:
            assert mp.render(o, dialect=dialect) == mp.render(h, dialect=dialect)  # type: ignore[arg-type]
    out[5]["content"].append("changed")  # the content list is a new list
    assert history[5]["content"] == [{"type": "text", "text": "B."}]


def test_inline_reasoning_takes_sdk_messages() -> None:
    sdk = ChatCompletionMessage.model_validate(
        {"role": "assistant", "content": "A.", "reasoning_content": "why"}
    )
    plain = ChatCompletionMessage.model_validate({"role": "assistant", "content": "A."})
    out = mp.inline_reasoning([sdk, plain])
    # A dict of the fields that are set, ready to send on.
    assert out[0] == {"role": "assistant", "content": "<think>\nwhy\n</think>\n\nA."}
    assert out[1] is plain  # nothing to move: passed through untouched
    assert sdk.model_dump()["reasoning_content"] == "why"
    with pytest.raises(TypeError):
        mp.inline_reasoning(["text"])


@settings(max_examples=200, deadline=None)
@given(template_cases(), m3_cases())
def test_inline_then_render_is_render(m2: TemplateCase, m3: Case) -> None:
    """For parsed messages, the inlined turn renders exactly as the original: the template splits
    the think block back out."""
    for msg, dialect in (
        (mp.parse(m2.text, tools=m2.tools), "m2"),
        (mp.parse(m3.text, tools=m3.tools, **m3.options), "m3"),
    ):
        original = msg.to_openai()
        (inlined,) = mp.inline_reasoning([original], dialect=dialect)  # type: ignore[arg-type]
        assert mp.render(inlined, dialect=dialect) == mp.render(original, dialect=dialect)  # type: ignore[arg-type]

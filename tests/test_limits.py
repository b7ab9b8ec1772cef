"""Limits and hostile input (docs/spec.md §9, issue 8): tool schemas from strangers, failing
callbacks, and `message()` snapshots. Each test here failed on the code before the fix.

Cases that used to crash the interpreter (a stack overflow) or hang it for minutes run in a child
interpreter, so a regression fails the test instead of killing or stalling the suite; the child's
timeout only tells a hang from a result, it measures nothing.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import minimax_parser as mp

from conftest import Fixture, as_expected, ids, load_fixtures

FIXTURES = load_fixtures()
HANG = 120  # seconds: far above the milliseconds these take, far below a hang


def run_child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )


# ---------------------------------------------------------------- schema compilation


def test_ref_fan_out_compiles_once() -> None:
    """The 149-byte tools list that held the GIL for 22 s, and fan-outs far past it."""
    child = run_child(
        """
        import minimax_parser as mp
        x = {"anyOf": [{"$ref": "#/properties/x"}] * 3}
        mp.StreamParser(tools=[{"name": "f", "parameters": {"properties": {"x": x}}}])
        x = {"anyOf": [{"$ref": "#/properties/x"}] * 1000}
        mp.StreamParser(tools=[{"name": "f", "parameters": {"properties": {"x": x}}}])
        # A $defs chain, fan-out 16 over 50 levels (the 13-level, fan-out-4 one took 33 s).
        defs = {f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 16} for i in range(50)}
        defs["d50"] = {"type": "integer"}
        tool = {"name": "g", "parameters": {"$defs": defs,
                "properties": {"y": {"$ref": "#/$defs/d0"}}}}
        text = '<minimax:tool_call><invoke name="g"><parameter name="y">7</parameter></invoke>'
        print(mp.parse(text, tools=[tool], start_in_reasoning=False).tool_calls[0].arguments)
        """
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == '{"y": 7}'


def test_ref_cycle_types_are_the_union_of_the_cycle() -> None:
    params = {
        "$defs": {
            "A": {"anyOf": [{"$ref": "#/$defs/B"}, {"type": "boolean"}]},
            "B": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "integer"}]},
        },
        "properties": {"a": {"$ref": "#/$defs/A"}, "b": {"$ref": "#/$defs/B"}},
    }
    text = (
        '<minimax:tool_call><invoke name="f"><parameter name="a">3</parameter>'
        '<parameter name="b">TRUE</parameter></invoke></minimax:tool_call>'
    )
    tools = [{"name": "f", "parameters": params}]
    msg = mp.parse(text, tools=tools, start_in_reasoning=False)
    assert json.loads(msg.tool_calls[0].arguments) == {"a": 3, "b": True}


def nested(levels: int) -> dict[str, Any]:
    s: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        s = {"anyOf": [s]}
    return s


@pytest.mark.parametrize("levels", [70, 10_000])
def test_deep_schema_is_a_value_error_naming_the_limit(levels: int) -> None:
    tools = [{"name": "f", "parameters": {"properties": {"x": nested(levels)}}}]
    with pytest.raises(ValueError, match="deeper than 128 levels") as e:
        mp.StreamParser(tools=tools)
    assert "tools[0]" in str(e.value)
    with pytest.raises(ValueError, match="deeper than 128 levels"):
        mp.parse("x", tools=tools)


def test_shallow_enough_schema_compiles() -> None:
    # 30 anyOf levels: 60 containers inside the schema, under the limit of 128.
    tools = [{"name": "f", "parameters": {"properties": {"x": nested(30)}}}]
    text = '<minimax:tool_call><invoke name="f"><parameter name="x">3</parameter></invoke>'
    msg = mp.parse(text, tools=tools, start_in_reasoning=False)
    assert msg.tool_calls[0].arguments == '{"x": "3"}'


def test_ref_chain_past_the_limit_is_a_value_error() -> None:
    defs: dict[str, Any] = {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(300)}
    defs["d300"] = {"type": "integer"}
    tool = {"name": "g", "parameters": {"$defs": defs, "properties": {"y": {"$ref": "#/$defs/d0"}}}}
    with pytest.raises(ValueError, match=r"tools\[0\].*parameter \"y\".*128"):
        mp.StreamParser(tools=[tool])


def test_self_referencing_tools_are_a_value_error() -> None:
    loop: dict[str, Any] = {"type": "object"}
    loop["properties"] = {"x": loop}
    with pytest.raises(ValueError, match="deeper than 128 levels"):
        mp.StreamParser(tools=[{"name": "f", "parameters": loop}])


def test_deep_tools_in_a_small_thread_stack_do_not_crash() -> None:
    """200 levels in a thread with a 256 KiB stack segfaulted the interpreter (exit 139)."""
    child = run_child(
        """
        import threading
        import minimax_parser as mp
        threading.stack_size(256 * 1024)
        results = []
        def build(levels):
            s = {"type": "string"}
            for _ in range(levels):
                s = {"anyOf": [s]}
            try:
                mp.StreamParser(tools=[{"name": "f", "parameters": {"properties": {"x": s}}}])
                results.append("ok")
            except ValueError as e:
                results.append("ValueError")
        for levels in (40, 200, 10_000):
            t = threading.Thread(target=build, args=(levels,))
            t.start()
            t.join()
        print(results)
        """
    )
    assert child.returncode == 0, (child.returncode, child.stderr)
    assert child.stdout.strip() == "['ok', 'ValueError', 'ValueError']"


def test_a_megabyte_of_tools_compiles() -> None:
    """Many tools with many parameters and shared definitions: linear, so it simply completes."""
    defs: dict[str, Any] = {
        f"D{i}": {"anyOf": [{"$ref": f"#/$defs/D{i + 1}"}, {"type": "null"}]} for i in range(50)
    }
    defs["D50"] = {"type": "number"}
    props = {f"p{j}": {"$ref": f"#/$defs/D{j % 50}", "description": "x" * 40} for j in range(200)}
    tools = [
        {"name": f"t{i}", "parameters": {"$defs": defs, "properties": props}} for i in range(50)
    ]
    assert len(json.dumps(tools)) > 1_000_000
    p = mp.StreamParser(tools=tools, start_in_reasoning=False)
    text = '<minimax:tool_call><invoke name="t49"><parameter name="p7">1.5</parameter></invoke>'
    p.feed(text)
    p.finish()
    assert p.message().tool_calls[0].arguments == '{"p7": 1.5}'


# ---------------------------------------------------------------- id_generator


def failing_after(n: int) -> Any:
    def gen(i: int) -> str:
        if i >= n:
            raise KeyError(f"no id for {i}")
        return f"id{i}"

    return gen


CALLS = "".join(
    f'<minimax:tool_call><invoke name="f{i}"><parameter name="x">{i}</parameter></invoke>'
    "</minimax:tool_call>"
    for i in range(3)
)


def test_failing_id_generator_retires_the_parser() -> None:
    p = mp.StreamParser(start_in_reasoning=False, id_generator=failing_after(1))
    first = p.feed(CALLS[: len(CALLS) // 3])
    assert first[0].kind == "tool_call_start"
    with pytest.raises(RuntimeError, match="id_generator failed") as e:
        p.feed(CALLS[len(CALLS) // 3 :] + "Done.")
    assert isinstance(e.value.__cause__, KeyError)
    # Nothing carries on silently: every later use says why the parser is retired.
    with pytest.raises(RuntimeError, match="retired after its id_generator failed"):
        p.feed("more")
    with pytest.raises(RuntimeError, match="retired after its id_generator failed"):
        p.finish()
    assert p.finished


def test_id_generator_returning_a_non_str_retires_the_parser() -> None:
    def not_a_str(i: int) -> Any:
        return i

    p = mp.StreamParser(start_in_reasoning=False, id_generator=not_a_str)
    with pytest.raises(RuntimeError, match="id_generator failed") as e:
        p.feed(CALLS)
    assert isinstance(e.value.__cause__, TypeError)
    with pytest.raises(RuntimeError, match="retired"):
        p.finish()


def test_failing_id_generator_in_parse_raises() -> None:
    with pytest.raises(KeyError):
        mp.parse(CALLS, start_in_reasoning=False, id_generator=failing_after(2))


# ---------------------------------------------------------------- message() snapshots


def snapshot_dict(msg: mp.Message) -> dict[str, Any]:
    return as_expected(msg)


@pytest.mark.parametrize("fx", FIXTURES, ids=lambda f: f.name)
def test_snapshot_is_what_finishing_there_would_give(fx: Fixture) -> None:
    """At every character boundary: `message()` == `parse(prefix)`, arguments are valid JSON, and
    taking snapshots does not change the events."""
    p = mp.StreamParser(tools=fx.tools, id_generator=ids, **fx.options)
    plain = mp.StreamParser(tools=fx.tools, id_generator=ids, **fx.options)
    text = fx.input
    for i, ch in enumerate(text):
        got = p.feed(ch)
        assert got == plain.feed(ch)
        snap = p.message()
        want = mp.parse(text[: i + 1], tools=fx.tools, id_generator=ids, **fx.options)
        assert snapshot_dict(snap) == snapshot_dict(want), (fx.name, i)
        for call in snap.tool_calls:
            json.loads(call.arguments)
    assert p.finish() == plain.finish()
    final = p.message()
    assert snapshot_dict(final) == fx.expected
    assert [c.id for c in final.tool_calls] == [f"call_{i}" for i in range(len(final.tool_calls))]


def test_snapshot_of_an_open_call() -> None:
    tools = [
        {
            "name": "write_file",
            "parameters": {
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}}
            },
        }
    ]
    p = mp.StreamParser(tools=tools, start_in_reasoning=False)
    p.feed(
        '<minimax:tool_call>\n<invoke name="write_file">\n<parameter name="path">notes/config.xml'
        '</parameter>\n<parameter name="content">'
    )
    [call] = p.message().tool_calls
    assert call.incomplete is True
    assert json.loads(call.arguments) == {"path": "notes/config.xml", "content": ""}
    p.feed("<a>1</a></para")
    [call] = p.message().tool_calls
    assert json.loads(call.arguments) == {"path": "notes/config.xml", "content": "<a>1</a>"}
    p.feed("meter>\n</invoke>")
    [call] = p.message().tool_calls
    assert call.incomplete is False


def test_snapshots_share_what_did_not_change() -> None:
    """O(new events): a snapshot reuses the objects of the last one for what is unchanged."""
    p = mp.StreamParser()
    p.feed("Let me think.</think>Answer" + CALLS)
    a, b = p.message(), p.message()
    assert a is b
    p.feed(" more")
    c = p.message()
    assert c.reasoning is a.reasoning
    assert c.tool_calls[0] is a.tool_calls[0]
    assert c.reasoning is c.reasoning


def test_snapshot_after_a_retired_parser_keeps_what_was_delivered() -> None:
    p = mp.StreamParser(start_in_reasoning=False, id_generator=failing_after(1))
    p.feed("Hello ")
    with pytest.raises(RuntimeError):
        p.feed("world" + CALLS)
    # " world" came in the feed that failed: it was never delivered, so it is not in the message.
    assert p.message().content == "Hello"


# ---------------------------------------------------------------- text that is not Unicode


def test_lone_surrogates_become_replacement_characters() -> None:
    """A `str` may hold lone surrogates (``errors="surrogateescape"``); model output never raises,
    so they read as U+FFFD, the same one-shot and streamed."""
    text = "Bad \udcff byte.</think>Answer \ud83d."
    msg = mp.parse(text)
    assert (msg.reasoning, msg.content) == ("Bad \ufffd byte.", "Answer \ufffd.")
    p = mp.StreamParser()
    for ch in text:
        p.feed(ch)
    p.finish()
    assert p.message() == msg


# ---------------------------------------------------------------- tools that run code


def test_tools_conversion_runs_no_caller_code() -> None:
    """An int subclass whose ``__str__`` mutates the dict being read used to make PyO3 panic
    (a ``PanicException``, which ``except Exception`` does not catch); ``int.__repr__`` is read
    instead, and a dict is read from a snapshot of its items."""
    parent: dict[str, Any] = {}

    class Mut(int):
        def __str__(self) -> str:
            parent[f"z{len(parent)}"] = 1
            return "[1, 2]"

    parent["type"] = "object"
    parent["properties"] = {"x": {"const": Mut(3)}}
    p = mp.StreamParser(tools=[{"name": "f", "parameters": parent}], start_in_reasoning=False)
    p.feed('<minimax:tool_call><invoke name="f"><parameter name="x">3</parameter></invoke>')
    p.finish()
    assert p.message().tool_calls[0].arguments == '{"x": 3}'

    class Endless(list[Any]):
        def __iter__(self) -> Any:
            while True:
                yield {}

    tools = Endless([{"name": "g"}])
    assert [
        c.name
        for c in mp.parse(
            '<minimax:tool_call><invoke name="g"></invoke>', tools=tools, start_in_reasoning=False
        ).tool_calls
    ] == ["g"]


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_floats_in_tools_are_a_value_error(bad: float) -> None:
    with pytest.raises(ValueError, match=r"tools\[0\]\[\"parameters\"\].*not a JSON number"):
        mp.StreamParser(tools=[{"name": "f", "parameters": {"properties": {"x": {"const": bad}}}}])


def test_snapshot_of_a_retired_parser_keeps_the_open_call() -> None:
    """A call whose start and arguments were delivered stays in the snapshot after the parser is
    retired, as the incomplete call it was."""
    p = mp.StreamParser(start_in_reasoning=False, id_generator=failing_after(1))
    p.feed('Hello <minimax:tool_call><invoke name="f"><parameter name="x">abc')
    before = p.message()
    with pytest.raises(RuntimeError):
        p.feed('</parameter></invoke><invoke name="g">')
    after = p.message()
    assert after == before
    [call] = after.tool_calls
    assert (call.name, call.arguments, call.incomplete) == ("f", '{"x": "abc"}', True)


@pytest.mark.parametrize("schema", [{}, {"type": "array"}, {"type": "object"}, {"type": "number"}])
def test_snapshot_of_an_open_json_value(schema: dict[str, Any]) -> None:
    """An open non-string value is previewed from what was read of it before (brackets and
    strings tracked incrementally): still exactly `parse(prefix)` at every character."""
    value = ' [{"k": "a\\"b]}[", "n": [1, 2.50, {"x": null}]}, "\\\\", 1e5, []] '
    text = (
        '<minimax:tool_call><invoke name="f"><parameter name="x">'
        + value
        + '</parameter>\n<parameter name="y">{} tail</parameter></invoke>'
    )
    tools = [{"name": "f", "parameters": {"properties": {"x": schema, "y": schema}}}]
    p = mp.StreamParser(tools=tools, start_in_reasoning=False, id_generator=ids)
    for i, ch in enumerate(text):
        p.feed(ch)
        want = mp.parse(text[: i + 1], tools=tools, start_in_reasoning=False, id_generator=ids)
        assert snapshot_dict(p.message()) == snapshot_dict(want), (i, text[: i + 1])

"""MiniMax-M3 under hostile output and schemas (docs/spec.md §9): deep and wide elements, long
tags, marker spam, schemas made of thousands of alternatives. Each runs in a child interpreter,
so a crash or a hang fails the test instead of the suite; the timeout only tells a hang from a
result, it measures nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

N = "]<]minimax[>["
HANG = 120
# docs/spec.md §9: elements nest at most this deep; a child lookup searches at most this many
# schema alternatives.
MAX_ELEMENT_DEPTH = 128
MAX_SCHEMA_ALTERNATIVES = 256


def run_child(code: str) -> subprocess.CompletedProcess[str]:
    prelude = "import json, minimax_parser as mp\nN = ']<]minimax[>['\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )


def depth(v: object) -> int:
    if isinstance(v, dict):
        return 1 + max((depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((depth(x) for x in v), default=0)
    return 0


def test_elements_nested_past_the_limit_become_text() -> None:
    """100,000 nested openers: no stack overflow; nesting stops at MAX_ELEMENT_DEPTH and the
    deeper markup is kept as text, for a known tool (streamed) and an unknown one (held)."""
    child = run_child(
        """
        n = 100_000
        for name, tools in (("free", [{"name": "free", "parameters": {"type": "object"}}]),
                            ("mystery", None)):
            text = (N + '<tool_call>' + N + f'<invoke name="{name}">'
                    + (N + '<a>') * n + 'x' + (N + '</a>') * n + N + '</invoke>')
            msg = mp.parse(text, tools=tools, dialect="m3")
            p = mp.StreamParser(tools=tools, dialect="m3")
            for i in range(0, len(text), 4096):
                p.feed(text[i:i + 4096])
            p.finish()
            assert p.message().tool_calls[0].arguments == msg.tool_calls[0].arguments
            print(msg.tool_calls[0].arguments)
        """
    )
    assert child.returncode == 0, child.stderr
    for line in child.stdout.splitlines():
        args = json.loads(line)
        # The arguments object and MAX_ELEMENT_DEPTH - 1 objects; the innermost element is text.
        assert depth(args) == MAX_ELEMENT_DEPTH
        assert "x" in line and N + "<a>" in line


def test_many_repeats_and_keys_are_linear() -> None:
    """200,000 repeats of an array-typed key and 200,000 distinct keys without a schema."""
    child = run_child(
        """
        n = 200_000
        tool = {"name": "t", "parameters": {"properties": {
            "tags": {"type": "array", "items": {"type": "integer"}}}}}
        body = "".join(f"{N}<tags>{i}{N}</tags>" for i in range(n))
        text = f'{N}<tool_call>{N}<invoke name="t">{body}{N}</invoke>'
        args = json.loads(mp.parse(text, tools=[tool], dialect="m3").tool_calls[0].arguments)
        assert args == {"tags": list(range(n))}
        body = "".join(f"{N}<k{i}>{i}{N}</k{i}>" for i in range(n))
        text = f'{N}<tool_call>{N}<invoke name="u">{body}{N}</invoke>'
        args = json.loads(mp.parse(text, dialect="m3").tool_calls[0].arguments)
        assert len(args) == n and args["k7"] == 7
        print("ok")
        """
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "ok"


def test_long_tags_fed_byte_by_byte_are_not_rescanned() -> None:
    """A 1 MB run of tag names that never close, one character per feed: each tag is read
    once (a rescan per feed would take hours), and the broken tags are dropped."""
    child = run_child(
        """
        tool = {"name": "w", "parameters": {"properties": {"s": {"type": "string"}}}}
        junk = (N + "<" + "y" * 1000) * 1000
        text = f'{N}<tool_call>{N}<invoke name="w">{N}<s>a{junk}b{N}</s>{N}</invoke>'
        p = mp.StreamParser(tools=[tool], dialect="m3")
        for ch in text:
            p.feed(ch)
        p.finish()
        print(p.message().tool_calls[0].arguments)
        """
    )
    assert child.returncode == 0, child.stderr
    # Each broken tag (the marker and the name up to the next marker's `<`) is dropped,
    # the last one with the `b` that belongs to its name.
    assert json.loads(child.stdout) == {"s": "a"}


def test_marker_spam_is_dropped_inside_a_block_and_kept_in_content() -> None:
    child = run_child(
        """
        spam = N * 100_000
        msg = mp.parse("a" + spam + "b", dialect="m3")
        assert msg.content == "a" + spam + "b"
        text = f'{N}<tool_call>{spam}{N}<invoke name="f">{spam}{N}<v>1{spam}{N}</v>{N}</invoke>'
        msg = mp.parse(text, dialect="m3")
        assert msg.content is None
        assert json.loads(msg.tool_calls[0].arguments) == {"v": 1}
        print("ok")
        """
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "ok"


def test_schema_of_many_alternatives_costs_a_bounded_lookup_per_element() -> None:
    """10,000 anyOf members and 20,000 elements typed through them: each lookup searches at
    most MAX_SCHEMA_ALTERNATIVES (256) members (a full search per element would be 2e8 steps)."""
    child = run_child(
        """
        alts = [{"properties": {f"k{i}": {"type": "integer"}}} for i in range(10_000)]
        tool = {"name": "t", "parameters": {"properties": {"x": {"anyOf": alts}}}}
        inner = "".join(f"{N}<k9999>{i}{N}</k9999>" for i in range(20_000))
        text = f'{N}<tool_call>{N}<invoke name="t">{N}<x>{inner}{N}</x>{N}</invoke>'
        args = json.loads(mp.parse(text, tools=[tool], dialect="m3").tool_calls[0].arguments)
        # k9999 lies past the searched alternatives: no schema, so its repeats are collected
        # and each converts as JSON.
        assert args == {"x": {"k9999": list(range(20_000))}}
        print("ok")
        """
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "ok"

"""Shared helpers for the Python suite: the golden fixtures and the streaming merge."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from hypothesis import settings

import minimax_parser as mp

# The golden fixtures: the package's own loader (shipped in the wheel), re-exported.
from minimax_parser.conformance import Fixture as Fixture
from minimax_parser.conformance import load_fixtures as load_fixtures

# In CI (CI=true) the property tests draw the same examples on every run, so a landing is decided
# by the change, not by luck; locally each run explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


def ids(i: int) -> str:
    return f"call_{i}"


def as_expected(msg: mp.Message) -> dict[str, Any]:
    return {
        "reasoning": msg.reasoning,
        "content": msg.content,
        "tool_calls": [
            {"name": c.name, "arguments": c.arguments, "incomplete": c.incomplete}
            for c in msg.tool_calls
        ],
    }


def merge(events: Iterable[mp.Event]) -> dict[str, Any]:
    """Merges streamed events the way a client would, checking the contract on the way."""
    reasoning, content = "", ""
    calls: dict[int, dict[str, Any]] = {}
    for e in events:
        if isinstance(e, mp.ReasoningDelta):
            assert e.text
            reasoning += e.text
        elif isinstance(e, mp.ContentDelta):
            assert e.text
            content += e.text
        elif isinstance(e, mp.ToolCallStart):
            assert e.index not in calls
            calls[e.index] = {"name": e.name, "arguments": "", "incomplete": False, "done": False}
        elif isinstance(e, mp.ToolCallDelta):
            assert not calls[e.index]["done"]
            calls[e.index]["arguments"] += e.arguments
        else:
            assert isinstance(e, mp.ToolCallEnd)
            call = calls[e.index]
            assert call["arguments"] == e.arguments, "deltas must add up to the arguments"
            assert isinstance(json.loads(e.arguments), dict)
            call["incomplete"] = e.incomplete
            call["done"] = True
    assert all(c.pop("done") for c in calls.values()), "every call must end"
    return {
        "reasoning": reasoning or None,
        "content": content or None,
        "tool_calls": [calls[i] for i in sorted(calls)],
    }


def stream(pieces: Iterable[str], **options: Any) -> dict[str, Any]:
    p = mp.StreamParser(**options)
    events: list[mp.Event] = []
    for piece in pieces:
        events.extend(p.feed(piece))
    events.extend(p.finish())
    return merge(events)

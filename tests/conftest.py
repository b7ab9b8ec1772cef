"""Shared helpers for the Python suite: the golden fixtures and the streaming merge."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import minimax_parser as mp

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Fixture:
    name: str
    input: str
    tools: list[dict[str, Any]] | None
    options: dict[str, Any]
    expected: dict[str, Any]


def load_fixtures() -> list[Fixture]:
    out = []
    for path in sorted(FIXTURES.rglob("*.json")):
        data = json.loads(path.read_text("utf-8"))
        out.append(
            Fixture(
                name=str(path.relative_to(FIXTURES)),
                input=data["input"],
                tools=data.get("tools"),
                options=data.get("options", {}),
                expected=data["expected"],
            )
        )
    return out


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

"""The SGLang-independent part of the SGLang integration: what one response's text means.

Nothing here imports SGLang. SGLang runs a reasoning parser and a tool-call parser one after the
other on each response, as two objects that never see each other (its ``ReasoningParser`` and
``FunctionCallParser``, built per request and choice): the reasoning parser splits off the first
reasoning segment and hands the raw rest on; the tool-call parser turns that rest into content
and calls. :class:`ReasoningSplit` and :class:`ToolStream` are those two halves, each backed by
one :class:`~minimax_parser.StreamParser` per response.

The dialect comes from the tokenizer's vocabulary (``]<]minimax[>[`` → MiniMax-M3), as in the
vLLM plugin. Without a tokenizer the first marker of the text decides (:func:`sniff_dialect`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import minimax_parser as mp
from minimax_parser.vllm_plugin.common import (
    M3_NAMESPACE,
    M3_THINK_END,
    M3_THINK_START,
    THINK_END,
    THINK_START,
    TOOL_CALL_END,
    TOOL_CALL_START,
    Dialect,
    FirstReasoning,
    Mode,
    Response,
    dialect_of,
    reasoning_end,
    think_tags,
)

TOOL_PARSER_NAME = "minimax-rs"
REASONING_PARSER_NAME = "minimax-rs"
APPEND_THINK_PARSER_NAME = "minimax-rs-append-think"
THINKING_MODE = "thinking_mode"

M2_MARKERS = (THINK_START, THINK_END, TOOL_CALL_START, TOOL_CALL_END)
M3_MARKERS = (M3_NAMESPACE, M3_THINK_START, M3_THINK_END)
_ALL_MARKERS: tuple[tuple[str, Dialect], ...] = tuple((m, "m2") for m in M2_MARKERS) + tuple(
    (m, "m3") for m in M3_MARKERS
)
_LONGEST = max(len(m) for m, _ in _ALL_MARKERS)

_dialect_cache: dict[int, tuple[Any, Dialect]] = {}


def tokenizer_dialect(tokenizer: Any) -> Dialect | None:
    """The dialect of ``tokenizer``'s vocabulary (read once per tokenizer object); ``None``
    without a tokenizer."""
    if tokenizer is None or not hasattr(tokenizer, "get_vocab"):
        return None
    hit = _dialect_cache.get(id(tokenizer))
    if hit is not None and hit[0] is tokenizer:
        return hit[1]
    dialect = dialect_of(tokenizer.get_vocab())
    _dialect_cache[id(tokenizer)] = (tokenizer, dialect)
    return dialect


def sniff_dialect(text: str) -> tuple[Dialect | None, int]:
    """The dialect of the first MiniMax marker in ``text`` and where it starts; ``(None, k)``
    when there is none, ``k`` being where a possible start of a marker at the end begins."""
    first: tuple[int, Dialect] | None = None
    for marker, dialect in _ALL_MARKERS:
        at = text.find(marker)
        if at != -1 and (first is None or at < first[0]):
            first = (at, dialect)
    if first is not None:
        return first[1], first[0]
    for i in range(max(0, len(text) - _LONGEST + 1), len(text)):
        tail = text[i:]
        if any(m.startswith(tail) for m, _ in _ALL_MARKERS):
            return None, i
    return None, len(text)


def has_markup(text: str, dialect: Dialect | None) -> bool:
    """Whether ``text`` holds a marker of ``dialect`` (either dialect when ``None``): whether the
    tool-call parser has anything to do with it."""
    markers: Iterable[str] = {"m2": M2_MARKERS, "m3": M3_MARKERS}.get(
        dialect or "", M2_MARKERS + M3_MARKERS
    )
    return any(m in text for m in markers)


def start_in_reasoning(
    dialect: Dialect,
    force_reasoning: bool | None,
    thinking_mode: Any = None,
    previous_content: str = "",
) -> bool:
    """Where a response starts. MiniMax-M2's template always opens reasoning (SGLang's own
    ``minimax`` parser forces it too). MiniMax-M3: inside reasoning when the request's
    ``thinking_mode`` is ``"enabled"`` (the template ends the prompt with ``<mm:think>``), in
    content otherwise; without the request, ``force_reasoning`` decides. An assistant message
    being continued (``continue_final_message``) that already closed its reasoning starts in
    content."""
    opener, closer = think_tags(dialect)
    if previous_content:
        if closer in previous_content:
            return False
        if opener in previous_content:
            return True
    if dialect == "m2":
        return True
    if thinking_mode is not None:
        return bool(thinking_mode == "enabled")
    return bool(force_reasoning)


def m2_pending(text: str) -> int:
    """The length of the longest end of ``text`` that may still grow into a MiniMax-M2 marker
    that ends reasoning (``</think>``, ``<minimax:tool_call>``)."""
    for i in range(max(0, len(text) - len(TOOL_CALL_START) + 1), len(text)):
        tail = text[i:]
        if THINK_END.startswith(tail) or TOOL_CALL_START.startswith(tail):
            return len(text) - i
    return 0


class FirstSegment(FirstReasoning):
    """:class:`~minimax_parser.vllm_plugin.common.FirstReasoning` for text split anywhere.

    vLLM hands an M2 reasoning parser ``</think>`` and ``<minimax:tool_call>`` as whole tokens;
    here a possible start of either is held back until it is decided, as M3's are. An M2
    response that starts outside reasoning passes through. Inline, a blank response stays blank
    (no opener put in front of nothing).
    """

    def feed(self, delta_text: str) -> tuple[list[mp.Event], str]:
        if not self.done and self.response.mode == "inline" and self.start_in_reasoning:
            # The opener goes in front of the first text that is not blank: a blank response
            # stays blank.
            text, self._held = self._held + delta_text, ""
            if not text.strip():
                self._held = text
                return [], ""
            return super().feed(text)
        if self.done or self.response.mode == "inline" or self.dialect == "m3":
            return super().feed(delta_text)
        if not self.start_in_reasoning:
            self.done = True
            return [], delta_text
        text, self._held = self._held + delta_text, ""
        hit = reasoning_end(text, "m2")
        if hit is None:
            keep = m2_pending(text)
            self._held = text[len(text) - keep :]
            return self.response.feed(text[: len(text) - keep]), ""
        events = self.response.feed(text[: hit[0]]) + self.response.finish()
        self.done = True
        return events, text[hit[1] :]

    def finish(self) -> list[mp.Event]:
        if not self.done and self.response.mode == "inline":
            held, self._held = self._held, ""
            self.done = True
            return [mp.ContentDelta(held)] if held else []
        return super().finish()


class Split(NamedTuple):
    """What one step of the reasoning parser produced."""

    reasoning: str
    normal: str


class ReasoningSplit:
    """The reasoning parser of one response: the first reasoning segment as reasoning, the raw
    text after it handed on (to SGLang's tool-call parser, or as content).

    ``mode="inline"`` (``minimax-rs-append-think``) keeps the think block in the text, with the
    opener put in front when the response starts inside reasoning. ``stream_reasoning=False``
    holds the reasoning back until the segment ends (then all of it at once), as SGLang's own
    detectors do. ``start`` and ``dialect`` may be changed until the first feed.
    """

    def __init__(
        self,
        mode: Mode,
        dialect: Dialect,
        *,
        start: bool,
        stream_reasoning: bool = True,
    ) -> None:
        self.mode: Mode = mode
        self.dialect: Dialect = dialect
        self.start = start
        self.stream_reasoning = stream_reasoning
        self._first: FirstSegment | None = None
        self._held: list[str] = []  # reasoning held back (stream_reasoning=False)

    @property
    def started(self) -> bool:
        return self._first is not None

    @property
    def done(self) -> bool:
        """Whether the first reasoning segment has ended (the rest passes through)."""
        return self._first is not None and self._first.done

    def _splitter(self) -> FirstSegment:
        if self._first is None:
            self._first = FirstSegment(
                self.mode, dialect=self.dialect, start_in_reasoning=self.start
            )
        return self._first

    def _out(self, events: list[mp.Event], rest: str, end: bool) -> Split:
        reasoning = "".join(e.text for e in events if isinstance(e, mp.ReasoningDelta))
        normal = "".join(e.text for e in events if isinstance(e, mp.ContentDelta)) + rest
        if not self.stream_reasoning:
            self._held.append(reasoning)
            if not (end or self.done):
                return Split("", normal)
            reasoning, self._held = "".join(self._held), []
        return Split(reasoning, normal)

    def feed(self, text: str) -> Split:
        first = self._splitter()
        events, rest = first.feed(text)
        return self._out(events, rest, False)

    def finish(self) -> Split:
        return self._out(self._splitter().finish(), "", True)

    def parse(self, text: str) -> Split:
        """The whole of ``text`` (a fresh parser with this one's options)."""
        whole = ReasoningSplit(self.mode, self.dialect, start=self.start)
        a, b = whole.feed(text), whole.finish()
        return Split(a.reasoning + b.reasoning, a.normal + b.normal)


class CallPiece(NamedTuple):
    """One piece of a streamed call: its first piece has the name (and may have arguments)."""

    tool_index: int
    name: str | None
    arguments: str


class ToolStream:
    """The tool-call parser of one response: the text after the first reasoning segment (or the
    whole response, when no reasoning parser ran) → content and calls.

    The response starts outside reasoning. Think blocks after the first reasoning segment stay in
    the content with their tags (SGLang's tool-call parser has no reasoning output). With no
    dialect given, text passes through as content until the first MiniMax marker decides it.

    ``calls`` and ``arguments`` track every call streamed so far (name, argument text), which
    SGLang's serving layer reads at the end of a stream.
    """

    def __init__(self, dialect: Dialect | None) -> None:
        self.dialect: Dialect | None = dialect
        self.tools: list[dict[str, Any]] | None = None
        self.names: list[str] = []
        self.arguments: list[list[str]] = []
        self._response: Response | None = None
        self._pending = ""  # undecided dialect: a possible start of a marker

    def use_tools(self, tools: list[dict[str, Any]] | None) -> None:
        if self._response is None and self.tools is None:
            self.tools = tools

    def _start(self, dialect: Dialect) -> Response:
        self.dialect = dialect
        r = Response("inline", dialect=dialect, start_in_reasoning=False)
        r.tools = self.tools
        self._response = r
        return r

    def feed(self, text: str) -> tuple[str, list[CallPiece]]:
        if self._response is None and self.dialect is not None:
            self._start(self.dialect)
        if self._response is not None:
            return self._convert(self._response.feed(text))
        text, self._pending = self._pending + text, ""
        dialect, at = sniff_dialect(text)
        if dialect is None:
            self._pending = text[at:]
            return text[:at], []
        normal, calls = self._convert(self._start(dialect).feed(text[at:]))
        return text[:at] + normal, calls

    def finish(self) -> tuple[str, list[CallPiece]]:
        if self._response is None:
            pending, self._pending = self._pending, ""
            return pending, []
        return self._convert(self._response.finish())

    def _convert(self, events: list[mp.Event]) -> tuple[str, list[CallPiece]]:
        normal: list[str] = []
        calls: list[CallPiece] = []
        for e in events:
            if isinstance(e, (mp.ContentDelta, mp.ReasoningDelta)):
                normal.append(e.text)
            elif isinstance(e, mp.ToolCallStart):
                self.names.append(e.name)
                self.arguments.append([])
                calls.append(CallPiece(e.index, e.name, ""))
            elif isinstance(e, mp.ToolCallDelta):
                if e.index < len(self.arguments):
                    self.arguments[e.index].append(e.arguments)
                if calls and calls[-1].tool_index == e.index:
                    last = calls[-1]
                    calls[-1] = last._replace(arguments=last.arguments + e.arguments)
                else:
                    calls.append(CallPiece(e.index, None, e.arguments))
        return "".join(normal), calls

    def parse(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """The whole of ``text`` at once: (content, [(name, arguments JSON)])."""
        dialect = self.dialect
        at = 0
        if dialect is None:
            dialect, at = sniff_dialect(text)
            if dialect is None:
                return text, []
        r = Response("inline", dialect=dialect, start_in_reasoning=False)
        r.tools = self.tools
        msg = r.parse(text[at:])
        calls = [(c.name, c.arguments) for c in msg.tool_calls]
        return text[:at] + (msg.content or ""), calls


def streamed_calls(stream: ToolStream) -> list[dict[str, Any]]:
    """The calls streamed so far as SGLang's ``prev_tool_call_arr`` holds them, with the
    argument text exactly as streamed (so its end-of-stream check finds nothing missing)."""
    return [
        {"name": name, "arguments": "".join(parts)}
        for name, parts in zip(stream.names, stream.arguments, strict=True)
    ]

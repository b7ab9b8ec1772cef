"""The vLLM-independent part of the plugin: marker ids, one response's parser, events → deltas.

Nothing here imports vLLM. The generation modules (``v0_32``, ``v0_11``) pass vLLM's protocol
classes in (:class:`DeltaTypes`) and decide *when* to feed; this module decides *what* a piece of
text means.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import minimax_parser as mp

TOOL_PARSER_NAME = "minimax_rs"
REASONING_PARSER_NAME = "minimax_rs"
APPEND_THINK_PARSER_NAME = "minimax_rs_append_think"

THINK_START = "<think>"
THINK_END = "</think>"
TOOL_CALL_START = "<minimax:tool_call>"
TOOL_CALL_END = "</minimax:tool_call>"
MARKERS = (THINK_START, THINK_END, TOOL_CALL_START, TOOL_CALL_END)
# Turn openers of the MiniMax chat template; used, when the vocabulary has them, to look at the
# final turn of a prompt only.
TURN_BOUNDARY_TOKENS = ("]~b]", "]~!b[")

Mode = Literal["separate", "inline"]


class MissingMarkersError(ValueError, RuntimeError):
    """The tokenizer lacks the MiniMax-M2 marker tokens.

    A ``ValueError`` (vLLM 0.32's startup check turns it into a ``TypeError`` naming the flags)
    and a ``RuntimeError`` (vLLM 0.11's serving code turns that into an error response).
    """


class MarkerIds:
    """The token ids of the four markers (and turn boundaries) in one tokenizer's vocabulary."""

    def __init__(self, vocab: Mapping[str, int], owner: str = "minimax_rs") -> None:
        missing = [m for m in MARKERS if m not in vocab]
        if missing:
            raise MissingMarkersError(
                f"{owner} needs the MiniMax-M2 tokenizer: its vocabulary has no "
                f"{', '.join(missing)} token (expected {', '.join(MARKERS)} as single tokens, "
                "ids 200050-200053 in MiniMax-M2). Use a MiniMax-M2.x model/tokenizer."
            )
        self.think_start = vocab[THINK_START]
        self.think_end = vocab[THINK_END]
        self.tool_start = vocab[TOOL_CALL_START]
        self.tool_end = vocab[TOOL_CALL_END]
        self.boundaries = frozenset(vocab[t] for t in TURN_BOUNDARY_TOKENS if t in vocab)

    def prompt_reasoning_ended(self, ids: Sequence[int]) -> bool:
        """Whether the final turn of ``ids`` closed its reasoning (last think tag ``</think>``).

        Scans backwards and stops at the start of the final turn when the vocabulary has turn
        boundary tokens, so markers of earlier turns or of the system prompt do not count.
        """
        for token in reversed(ids):
            if token == self.think_end:
                return True
            if token == self.think_start or token in self.boundaries:
                return False
        return False

    def starts_in_reasoning(self, prompt: Sequence[int] | None) -> bool:
        """Whether a response to ``prompt`` starts inside reasoning (no prompt: it does)."""
        return not (prompt and self.prompt_reasoning_ended(prompt))

    def delta_ends_reasoning(self, delta_ids: Iterable[int]) -> bool:
        ended = False
        for token in delta_ids:
            if token == self.think_end:
                ended = True
            elif token == self.think_start:
                ended = False
        return ended

    def content_ids(self, ids: Sequence[int]) -> list[int]:
        """The ids after the first reasoning of a response (which starts inside reasoning)."""
        start = 0
        for i, token in enumerate(ids):
            if token == self.think_end:
                return list(ids[i + 1 :])
            if token == self.tool_start:
                return list(ids[i:])
            if token == self.think_start and i == start:
                start = i + 1
        return []


_marker_cache: dict[int, tuple[Any, MarkerIds]] = {}


def marker_ids(tokenizer: Any, owner: str) -> MarkerIds:
    """``MarkerIds`` of a tokenizer, computed once per tokenizer object."""
    hit = _marker_cache.get(id(tokenizer))
    if hit is not None and hit[0] is tokenizer:
        return hit[1]
    ids = MarkerIds(tokenizer.get_vocab(), owner)
    _marker_cache[id(tokenizer)] = (tokenizer, ids)
    return ids


class TokenIdAnswers:
    """The token-id questions vLLM asks a reasoning parser, answered from the marker ids. Shared
    by the reasoning parsers of every vLLM generation (a mixin placed before vLLM's base class);
    the class sets ``ids`` in its constructor."""

    ids: MarkerIds
    _counter: ReasoningCounter | None = None

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return self.ids.prompt_reasoning_ended(input_ids)

    def is_reasoning_end_streaming(
        self, input_ids: Sequence[int], delta_ids: Sequence[int]
    ) -> bool:
        return self.ids.delta_ends_reasoning(delta_ids)

    def extract_content_ids(self, input_ids: list[int]) -> list[int]:
        return self.ids.content_ids(input_ids)

    def count_reasoning_tokens(self, token_ids: Sequence[int]) -> int:
        if self._counter is None:
            self._counter = ReasoningCounter(self.ids)
        return self._counter.count(token_ids)

    def adjust_request(self, request: Any) -> Any:
        request.skip_special_tokens = False
        return request


class ReasoningCounter:
    """Counts reasoning tokens of a growing output incrementally (linear over a stream)."""

    def __init__(self, ids: MarkerIds, start_in_reasoning: bool = True) -> None:
        self._ids = ids
        self._start = start_in_reasoning
        self._restart()

    def _restart(self) -> None:
        self._seen = self._count = 0
        self._reasoning = self._at_start = self._start
        self._in_block = False

    def count(self, token_ids: Sequence[int]) -> int:
        if len(token_ids) < self._seen:  # a different, shorter sequence: start over
            self._restart()
        ids = self._ids
        for token in token_ids[self._seen :]:
            if self._reasoning:
                if token == ids.think_end:
                    self._reasoning = False
                elif token == ids.tool_start:
                    self._reasoning = False
                    self._in_block = True
                elif token == ids.think_start and self._at_start:
                    pass
                else:
                    self._count += 1
                self._at_start = False
            elif self._in_block:
                if token == ids.tool_end:
                    self._in_block = False
            elif token == ids.think_start:
                self._reasoning = True
        self._seen = len(token_ids)
        return self._count


def split_after_reasoning(text: str) -> str | None:
    """The raw text after the first reasoning segment of a response that starts inside reasoning.

    ``</think>`` ends reasoning (and is dropped); a ``<minimax:tool_call>`` ends it too and is kept.
    ``None`` when reasoning never ends.
    """
    end = text.find(THINK_END)
    tool = text.find(TOOL_CALL_START)
    if end != -1 and (tool == -1 or end < tool):
        return text[end + len(THINK_END) :]
    if tool != -1:
        return text[tool:]
    return None


def prepend_think(text: str) -> str:
    return text if text.lstrip().startswith(THINK_START) else THINK_START + text


def tool_dicts(tools: Iterable[Any] | None) -> list[dict[str, Any]] | None:
    """The request's tools (pydantic objects or dicts) as plain dicts for ``minimax_parser``."""
    if not tools:
        return None
    out: list[dict[str, Any]] = []
    for tool in tools:
        if isinstance(tool, Mapping):
            out.append(dict(tool))
        elif hasattr(tool, "model_dump"):
            out.append(tool.model_dump(exclude_none=True))
    return [t for t in out if _tool_name(t)] or None


def _tool_name(tool: Mapping[str, Any]) -> str | None:
    function = tool.get("function")
    if isinstance(function, Mapping):
        name = function.get("name")
    else:
        name = tool.get("name")
    return name if isinstance(name, str) and name else None


class Response:
    """One response (one choice of one request): a :class:`~minimax_parser.StreamParser` built
    on first use, what to drop, and the calls made so far.

    ``tools``, ``start_in_reasoning`` and the ``drop_*`` flags may be set until the first feed.
    """

    def __init__(
        self,
        mode: Mode = "separate",
        *,
        start_in_reasoning: bool = True,
        id_generator: Callable[[int], str] | None = None,
    ) -> None:
        self.mode: Mode = mode
        self.start_in_reasoning = start_in_reasoning
        self.id_generator = id_generator
        self.tools: list[dict[str, Any]] | None = None
        self.drop_reasoning = False
        self.drop_tool_calls = False
        self.left_reasoning = not start_in_reasoning  # a non-reasoning event has been seen
        self._stream: mp.StreamParser | None = None
        # Calls streamed so far, for vLLM 0.11's end-of-response bookkeeping: name and parsed
        # arguments per call, and argument fragments per call (appended, joined on demand).
        self.calls: list[dict[str, Any]] = []
        self._fragments: list[list[str]] = []

    @property
    def started(self) -> bool:
        return self._stream is not None

    @property
    def finished(self) -> bool:
        return self._stream is not None and self._stream.finished

    def use_tools(self, tools: Iterable[Any] | None) -> None:
        """Takes ``tools`` unless tools were set already or feeding has begun."""
        if self.tools is None and self._stream is None:
            self.tools = tool_dicts(tools)

    def _parser(self) -> mp.StreamParser:
        if self._stream is None:
            self.left_reasoning = not self.start_in_reasoning
            self._stream = mp.StreamParser(
                tools=self.tools,
                reasoning=self.mode,
                start_in_reasoning=self.start_in_reasoning,
                id_generator=self.id_generator,
            )
        return self._stream

    def feed(self, text: str) -> list[mp.Event]:
        parser = self._parser()
        if not text or parser.finished:
            return []
        return self._kept(parser.feed(text))

    def finish(self) -> list[mp.Event]:
        parser = self._parser()
        return [] if parser.finished else self._kept(parser.finish())

    def parse(self, text: str) -> mp.Message:
        """The whole of ``text`` at once, with this response's options (does not feed)."""
        return mp.parse(
            text,
            tools=self.tools,
            reasoning=self.mode,
            start_in_reasoning=self.start_in_reasoning,
            id_generator=self.id_generator,
        )

    def _kept(self, events: list[mp.Event]) -> list[mp.Event]:
        if not self.left_reasoning:
            self.left_reasoning = any(not isinstance(e, mp.ReasoningDelta) for e in events)
        if self.drop_reasoning:
            events = [e for e in events if not isinstance(e, mp.ReasoningDelta)]
        if self.drop_tool_calls:
            events = [e for e in events if isinstance(e, (mp.ReasoningDelta, mp.ContentDelta))]
        return events

    def record(self, events: Iterable[mp.Event]) -> None:
        """Keeps :attr:`calls` and the argument fragments in step with ``events`` (appends only,
        so the cost per event does not grow with the call)."""
        for e in events:
            if isinstance(e, mp.ToolCallStart):
                self.calls.append({"name": e.name, "arguments": {}})
                self._fragments.append([])
            elif isinstance(e, mp.ToolCallDelta) and e.index < len(self._fragments):
                self._fragments[e.index].append(e.arguments)
            elif isinstance(e, mp.ToolCallEnd) and e.index < len(self.calls):
                try:
                    self.calls[e.index]["arguments"] = json.loads(e.arguments)
                except ValueError:
                    pass

    def streamed_arguments(self) -> list[str]:
        """The argument text streamed so far, per call."""
        return ["".join(parts) for parts in self._fragments]


class FirstReasoning:
    """A reasoning parser on its own (no tool parser of ours after it), for a response that
    starts inside reasoning: parses the first reasoning segment and hands the raw text after it
    over, as vLLM's reasoning parsers do. In inline mode reasoning "ends" at once and the text
    passes through with ``<think>`` put in front."""

    def __init__(self, mode: Mode, *, drop_reasoning: bool = False) -> None:
        self.response = Response(mode)
        self.response.drop_reasoning = drop_reasoning
        self.done = False

    def feed(self, delta_text: str) -> tuple[list[mp.Event], str]:
        """(reasoning events, raw text after the reasoning: ``""`` while still inside it)."""
        if self.done:
            return [], delta_text
        if self.response.mode == "inline":
            self.done = True
            return [], prepend_think(delta_text)
        rest = split_after_reasoning(delta_text)
        if rest is None:
            return self.response.feed(delta_text), ""
        head = delta_text[: len(delta_text) - len(rest)]
        events = self.response.feed(head) + self.response.finish()
        self.done = True
        return events, rest

    def finish(self) -> list[mp.Event]:
        """The held-back end of a response that never left reasoning."""
        return [] if self.done else self.response.finish()


class DeltaTypes(NamedTuple):
    """vLLM's ``DeltaMessage``, ``DeltaToolCall`` and ``DeltaFunctionCall`` classes."""

    message: Any
    tool_call: Any
    function_call: Any


def to_delta(types: DeltaTypes, events: Iterable[mp.Event]) -> Any:
    """One vLLM ``DeltaMessage`` for ``events`` (``None`` when they carry nothing).

    Text of one kind is joined; a call's first entry has its id, ``type="function"``, name and
    ``arguments=""``; argument fragments are merged per call index.
    """
    reasoning: list[str] = []
    content: list[str] = []
    calls: dict[int, Any] = {}
    for e in events:
        if isinstance(e, mp.ReasoningDelta):
            reasoning.append(e.text)
        elif isinstance(e, mp.ContentDelta):
            content.append(e.text)
        elif isinstance(e, mp.ToolCallStart):
            calls[e.index] = types.tool_call(
                index=e.index,
                id=e.id,
                type="function",
                function=types.function_call(name=e.name, arguments=""),
            )
        elif isinstance(e, mp.ToolCallDelta):
            call = calls.get(e.index)
            if call is None:
                calls[e.index] = types.tool_call(
                    index=e.index, function=types.function_call(arguments=e.arguments)
                )
            else:
                call.function.arguments += e.arguments
    if not (reasoning or content or calls):
        return None
    # Only the fields that have a value: vLLM dumps deltas with exclude_unset, and clients (like
    # the built-in parser's) should not see "content": null beside a tool call.
    fields: dict[str, Any] = {}
    if reasoning:
        fields["reasoning"] = "".join(reasoning)
    if content:
        fields["content"] = "".join(content)
    if calls:
        fields["tool_calls"] = [calls[i] for i in sorted(calls)]
    return types.message(**fields)

"""The vLLM-independent part of the plugin: marker ids, one response's parser, events → deltas.

Nothing here imports vLLM. The generation modules (``v0_32``, ``v0_11``) pass vLLM's protocol
classes in (:class:`DeltaTypes`) and decide *when* to feed; this module decides *what* a piece of
text means.

The dialect comes from the tokenizer: a vocabulary with the MiniMax-M3 namespace token
``]<]minimax[>[`` is M3 (:class:`M3MarkerIds`), any other is M2 (:class:`MarkerIds`). Both answer
the same token-id questions, so the generation modules need no flag and no branch of their own.
"""

from __future__ import annotations

import json
import re
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

# MiniMax-M3: every structural tag of a tool block carries the namespace token; the think tags
# do not. The three are single tokens (ids 200058-200060); the other tags are ordinary text.
M3_NAMESPACE = "]<]minimax[>["
M3_THINK_START = "<mm:think>"
M3_THINK_END = "</mm:think>"
M3_MARKERS = (M3_NAMESPACE, M3_THINK_START, M3_THINK_END)
# `N<tool_call>` (whitespace allowed after the namespace) opens a tool block, also inside reasoning.
M3_TOOL_OPEN = re.compile(re.escape(M3_NAMESPACE) + r"\s*<tool_call>")
# The chat-template kwarg of M3's template ("enabled", "disabled", "adaptive" or unset).
THINKING_MODE = "thinking_mode"

Mode = Literal["separate", "inline"]
Dialect = Literal["m2", "m3"]


class MissingMarkersError(ValueError, RuntimeError):
    """The tokenizer lacks the MiniMax-M2 (or, with the M3 namespace token, M3) marker tokens.

    A ``ValueError`` (vLLM 0.32's startup check turns it into a ``TypeError`` naming the flags)
    and a ``RuntimeError`` (vLLM 0.11's serving code turns that into an error response).
    """


class MarkerIds:
    """The token ids of the four MiniMax-M2 markers (and turn boundaries) in one tokenizer's
    vocabulary, and the token-id questions answered from them."""

    dialect: Dialect = "m2"

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
        self.tool_start: int = vocab[TOOL_CALL_START]
        self.tool_end: int | None = vocab[TOOL_CALL_END]
        self.boundaries = frozenset(vocab[t] for t in TURN_BOUNDARY_TOKENS if t in vocab)

    def prompt_reasoning_ended(self, ids: Sequence[int], thinking_mode: Any = None) -> bool:
        """Whether the final turn of ``ids`` closed its reasoning (last think tag ``</think>``).

        Scans backwards and stops at the start of the final turn when the vocabulary has turn
        boundary tokens, so markers of earlier turns or of the system prompt do not count.
        (``thinking_mode`` is M3's; M2's template has none.)
        """
        for token in reversed(ids):
            if token == self.think_end:
                return True
            if token == self.think_start or token in self.boundaries:
                return False
        return False

    def starts_in_reasoning(self, prompt: Sequence[int] | None, thinking_mode: Any = None) -> bool:
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

    def content_ids(self, ids: Sequence[int], start_in_reasoning: bool = True) -> list[int]:
        """The ids after the first reasoning of a response (all of them when it starts outside)."""
        if not start_in_reasoning:
            return list(ids)
        start = 0
        for i, token in enumerate(ids):
            if token == self.think_end:
                return list(ids[i + 1 :])
            if token == self.tool_start:
                return list(ids[i:])
            if token == self.think_start and i == start:
                start = i + 1
        return []


class M3MarkerIds(MarkerIds):
    """The MiniMax-M3 marker ids: the namespace token ``]<]minimax[>[`` and the think tags.

    Where a response starts comes from the ``thinking_mode`` chat-template kwarg and from the
    *end* of the prompt only. M3's system prompt quotes ``<mm:think></mm:think>`` in its thinking
    instructions, so any scan for the last think tag of the prompt finds those (vLLM #46042,
    #50549). M3's template ends the prompt with ``<mm:think>`` (enabled), ``</mm:think>``
    (disabled) or neither (adaptive, the default): the response starts in reasoning when
    ``thinking_mode`` is ``"enabled"`` or the prompt ends with ``<mm:think>``, after closed
    reasoning when it ends with ``</mm:think>``, and otherwise (adaptive) in content, where a
    ``<mm:think>`` may still open reasoning. Whitespace tokens at the very end are skipped.
    """

    dialect: Dialect = "m3"
    # Whitespace tokens skipped at the end of a prompt, at most.
    MAX_TRAILING_BLANKS = 32

    def __init__(
        self,
        vocab: Mapping[str, int],
        owner: str = "minimax_rs",
        decode: Callable[[list[int]], str] | None = None,
    ) -> None:
        missing = [m for m in M3_MARKERS if m not in vocab]
        if missing:
            raise MissingMarkersError(
                f"{owner}: the vocabulary has the MiniMax-M3 namespace token but no "
                f"{', '.join(missing)} token (expected {', '.join(M3_MARKERS)} as single tokens, "
                "ids 200058-200060 in MiniMax-M3). Use a MiniMax-M3 model/tokenizer."
            )
        self.namespace = vocab[M3_NAMESPACE]
        self.think_start = vocab[M3_THINK_START]
        self.think_end = vocab[M3_THINK_END]
        # Only an opener can be told from the ids alone: a token-level "tool block" starts at
        # the namespace token and lasts to the end of the response.
        self.tool_start = self.namespace
        self.tool_end = None
        self.boundaries: frozenset[int] = frozenset()
        self._decode = decode
        self._blank: dict[int, bool] = {}

    def _is_blank(self, token: int) -> bool:
        known = self._blank.get(token)
        if known is None:
            text = self._decode([token]) if self._decode is not None else ""
            known = self._blank[token] = bool(text) and text.isspace()
        return known

    def prompt_end(self, ids: Sequence[int] | None) -> int | None:
        """The last token of ``ids`` that is not whitespace (``None``: no such token)."""
        if not ids:
            return None
        for k in range(1, min(len(ids), self.MAX_TRAILING_BLANKS + 1) + 1):
            token = ids[-k]
            if not self._is_blank(token):
                return token
        return None

    def prompt_reasoning_ended(self, ids: Sequence[int], thinking_mode: Any = None) -> bool:
        """Whether reasoning is already closed when the response starts: the prompt ends with
        ``</mm:think>`` (disabled mode). Adaptive answers ``False``: reasoning may still open, and
        the trained forms of an adaptive turn (``<mm:think>…</mm:think>`` or a bare
        ``</mm:think>``) both close it in the output."""
        if thinking_mode == "enabled":
            return False
        return self.prompt_end(ids) == self.think_end

    def starts_in_reasoning(self, prompt: Sequence[int] | None, thinking_mode: Any = None) -> bool:
        """Whether a response to ``prompt`` starts inside reasoning (see the class)."""
        if thinking_mode == "enabled":
            return True
        return self.prompt_end(prompt) == self.think_start

    def content_ids(self, ids: Sequence[int], start_in_reasoning: bool = True) -> list[int]:
        """The ids after the first reasoning of a response: after its ``</mm:think>`` (or from a
        namespace token that ends it); outside reasoning, after a leading ``<mm:think>`` block
        or ``</mm:think>``, else all of them."""
        i = 0
        if not start_in_reasoning:
            while i < len(ids) and self._is_blank(ids[i]):
                i += 1
            if i == len(ids):
                return list(ids)
            if ids[i] == self.think_end:
                return list(ids[i + 1 :])
            if ids[i] != self.think_start:
                return list(ids)
            i += 1
        for k in range(i, len(ids)):
            if ids[k] == self.think_end:
                return list(ids[k + 1 :])
            if ids[k] == self.namespace:
                return list(ids[k:])
        return []


_marker_cache: dict[int, tuple[Any, MarkerIds]] = {}


def dialect_of(vocab: Mapping[str, int]) -> Dialect:
    """``"m3"`` when the vocabulary has M3's namespace token ``]<]minimax[>[``, else ``"m2"``."""
    return "m3" if M3_NAMESPACE in vocab else "m2"


def marker_ids(tokenizer: Any, owner: str) -> MarkerIds:
    """The marker ids of a tokenizer (:class:`M3MarkerIds` for an M3 vocabulary), computed once
    per tokenizer object."""
    hit = _marker_cache.get(id(tokenizer))
    if hit is not None and hit[0] is tokenizer:
        return hit[1]
    vocab = tokenizer.get_vocab()
    ids: MarkerIds
    if dialect_of(vocab) == "m3":

        def decode(tokens: list[int]) -> str:
            return str(tokenizer.decode(tokens, skip_special_tokens=False))

        ids = M3MarkerIds(vocab, owner, decode)
    else:
        ids = MarkerIds(vocab, owner)
    _marker_cache[id(tokenizer)] = (tokenizer, ids)
    return ids


class TokenIdAnswers:
    """The token-id questions vLLM asks a reasoning parser, answered from the marker ids. Shared
    by the reasoning parsers of every vLLM generation (a mixin placed before vLLM's base class);
    the class sets ``ids`` in its constructor, and (M3) ``thinking_mode`` and
    ``start_in_reasoning`` from the chat-template kwargs and the prompt."""

    ids: MarkerIds
    thinking_mode: Any = None
    start_in_reasoning = True
    _counter: ReasoningCounter | None = None

    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        return self.ids.prompt_reasoning_ended(input_ids, self.thinking_mode)

    def is_reasoning_end_streaming(
        self, input_ids: Sequence[int], delta_ids: Sequence[int]
    ) -> bool:
        return self.ids.delta_ends_reasoning(delta_ids)

    def extract_content_ids(self, input_ids: list[int]) -> list[int]:
        return self.ids.content_ids(input_ids, self.start_in_reasoning)

    def count_reasoning_tokens(self, token_ids: Sequence[int]) -> int:
        if self._counter is None:
            self._counter = ReasoningCounter(self.ids, self.start_in_reasoning)
        return self._counter.count(token_ids)

    def adjust_request(self, request: Any) -> Any:
        request.skip_special_tokens = False
        return request


class ReasoningCounter:
    """Counts reasoning tokens of a growing output incrementally (linear over a stream).

    Marker tokens are not counted. A tool-block opener ends reasoning; M3's block opener is the
    namespace token, and without a closer id its block lasts to the end of the response.
    """

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


def think_tags(dialect: Dialect) -> tuple[str, str]:
    """The dialect's reasoning opener and closer."""
    return (M3_THINK_START, M3_THINK_END) if dialect == "m3" else (THINK_START, THINK_END)


def reasoning_end(text: str, dialect: Dialect = "m2") -> tuple[int, int] | None:
    """Where the first marker that ends reasoning starts, and where the raw rest begins: after a
    think closer (dropped), at a tool-block opener (kept). ``None`` when there is none."""
    closer = think_tags(dialect)[1]
    end = text.find(closer)
    if dialect == "m3":
        match = M3_TOOL_OPEN.search(text)
        tool = match.start() if match else -1
    else:
        tool = text.find(TOOL_CALL_START)
    if end != -1 and (tool == -1 or end < tool):
        return end, end + len(closer)
    if tool != -1:
        return tool, tool
    return None


def split_after_reasoning(text: str, dialect: Dialect = "m2") -> str | None:
    """The raw text after the first reasoning segment of a response that starts inside reasoning.

    The think closer ends reasoning (and is dropped); a tool-block opener ends it too and is kept.
    ``None`` when reasoning never ends.
    """
    hit = reasoning_end(text, dialect)
    return None if hit is None else text[hit[1] :]


def m3_pending(text: str) -> int:
    """The length of the longest end of ``text`` that may still grow into an M3 marker that ends
    reasoning (``</mm:think>``, ``N<tool_call>``); held back while streaming, since only the
    namespace and think tags are single tokens."""
    for i in range(max(0, len(text) - 64), len(text)):
        tail = text[i:]
        if M3_THINK_END.startswith(tail) or M3_NAMESPACE.startswith(tail):
            return len(text) - i
        if tail.startswith(M3_NAMESPACE) and "<tool_call>".startswith(
            tail[len(M3_NAMESPACE) :].lstrip()
        ):
            return len(text) - i
    return 0


def prepend_think(text: str, dialect: Dialect = "m2") -> str:
    opener = think_tags(dialect)[0]
    return text if text.lstrip().startswith(opener) else opener + text


def raw_after_reasoning(text: str, dialect: Dialect, start_in_reasoning: bool) -> str:
    """The raw text a tool parser gets after the first reasoning segment of a whole response
    (see :class:`FirstReasoning`)."""
    first = FirstReasoning("separate", dialect=dialect, start_in_reasoning=start_in_reasoning)
    _, rest = first.feed(text)
    if first.done:
        return rest
    return "".join(e.text for e in first.finish() if isinstance(e, mp.ContentDelta))


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
        dialect: Dialect = "m2",
        start_in_reasoning: bool = True,
        id_generator: Callable[[int], str] | None = None,
    ) -> None:
        self.mode: Mode = mode
        self.dialect: Dialect = dialect
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
                dialect=self.dialect,
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
            dialect=self.dialect,
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
    """A reasoning parser on its own (no tool parser of ours after it): parses the first
    reasoning segment and hands the raw text after it over, as vLLM's reasoning parsers do. In
    inline mode reasoning "ends" at once and the text passes through, with the think opener put
    in front when the response starts inside reasoning.

    M2 responses handed to it start inside reasoning, and its markers are single tokens. M3: a
    response starts in reasoning (``start_in_reasoning``, settable until the first feed) or in
    content, where a leading ``<mm:think>`` opens the segment and a leading ``</mm:think>`` is
    dropped (anything else: no reasoning); ``N<tool_call>`` arrives as several tokens, so a
    possible start of a marker is held back until it is decided.
    """

    def __init__(
        self,
        mode: Mode,
        *,
        drop_reasoning: bool = False,
        dialect: Dialect = "m2",
        start_in_reasoning: bool = True,
    ) -> None:
        self.dialect: Dialect = dialect
        self.start_in_reasoning = start_in_reasoning
        self.response = Response(mode, dialect=dialect)
        self.response.drop_reasoning = drop_reasoning
        self.done = False
        self._opened = False  # M3: inside the reasoning segment
        self._held = ""  # M3: text not decided yet

    def feed(self, delta_text: str) -> tuple[list[mp.Event], str]:
        """(reasoning events, raw text after the reasoning: ``""`` while still inside it)."""
        if self.done:
            return [], delta_text
        if self.response.mode == "inline":
            self.done = True
            if not self.start_in_reasoning:
                return [], delta_text
            return [], prepend_think(delta_text, self.dialect)
        if self.dialect == "m3":
            return self._feed_m3(delta_text)
        rest = split_after_reasoning(delta_text)
        if rest is None:
            return self.response.feed(delta_text), ""
        head = delta_text[: len(delta_text) - len(rest)]
        events = self.response.feed(head) + self.response.finish()
        self.done = True
        return events, rest

    def _feed_m3(self, delta_text: str) -> tuple[list[mp.Event], str]:
        text, self._held = self._held + delta_text, ""
        if not self._opened:
            if self.start_in_reasoning:
                self._opened = True
            else:
                lead = text.lstrip()
                if not lead or any(
                    len(lead) < len(tag) and tag.startswith(lead)
                    for tag in (M3_THINK_START, M3_THINK_END)
                ):
                    self._held = text
                    return [], ""
                if lead.startswith(M3_THINK_END):
                    self.done = True
                    return [], lead[len(M3_THINK_END) :]
                if not lead.startswith(M3_THINK_START):
                    self.done = True
                    return [], text
                self._opened = True  # the response (in reasoning) drops the redundant opener
                text = lead
        hit = reasoning_end(text, "m3")
        if hit is None:
            keep = m3_pending(text)
            self._held = text[len(text) - keep :]
            return self.response.feed(text[: len(text) - keep]), ""
        events = self.response.feed(text[: hit[0]]) + self.response.finish()
        self.done = True
        return events, text[hit[1] :]

    def finish(self) -> list[mp.Event]:
        """The held-back end of a response that never left reasoning (M3: text held while
        undecided outside reasoning comes back as content)."""
        if self.done:
            return []
        held, self._held = self._held, ""
        if not self._opened and self.dialect == "m3" and not self.start_in_reasoning:
            self.done = True
            return [mp.ContentDelta(held)] if held.strip() else []
        return self.response.feed(held) + self.response.finish()


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

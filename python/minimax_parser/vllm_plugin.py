"""vLLM plugin: the ``minimax_rs`` tool-call parser and reasoning parsers.

Registered through the ``vllm.general_plugins`` entry point (``register``), so after
``pip install 'minimax-parser[vllm]'`` a server only needs::

    vllm serve MiniMaxAI/MiniMax-M2.1 --trust-remote-code --enable-auto-tool-choice \\
        --tool-call-parser minimax_rs --reasoning-parser minimax_rs

``--reasoning-parser minimax_rs_append_think`` keeps think blocks inline in ``content``
(SPEC's ``reasoning="inline"``). Pointing ``--tool-parser-plugin`` / ``--reasoning-parser-plugin``
at this module also registers the parsers. ``import minimax_parser`` never imports vLLM, and this
module imports it only inside functions; the parser classes are built on first attribute access.

How it plugs into vLLM 0.32 (see docs/vllm.md): vLLM composes the two classes into a
``DelegatingParser`` per request. Both declare ``engine_based_streaming = True``, so vLLM passes
only ``delta_text`` (no accumulated ``previous_text``). When vLLM builds the tool parser right
after our reasoning parser inside one ``Parser``, the two share one :class:`StreamParser` (one
per response): the reasoning parser feeds deltas while the response is in reasoning and hands
over at the first non-reasoning event; the tool parser feeds the rest.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from types import FrameType
from typing import Any

import minimax_parser as mp

__all__ = [
    "APPEND_THINK_PARSER_NAME",
    "REASONING_PARSER_NAME",
    "TOOL_PARSER_NAME",
    "register",
]

TOOL_PARSER_NAME = "minimax_rs"
REASONING_PARSER_NAME = "minimax_rs"
APPEND_THINK_PARSER_NAME = "minimax_rs_append_think"

_MODULE = "minimax_parser.vllm_plugin"
_TOOL_CLASS = "MinimaxRsToolParser"
_REASONING_CLASS = "MinimaxRsReasoningParser"
_APPEND_THINK_CLASS = "MinimaxRsAppendThinkReasoningParser"

THINK_START = "<think>"
THINK_END = "</think>"
TOOL_CALL_START = "<minimax:tool_call>"
TOOL_CALL_END = "</minimax:tool_call>"
MARKERS = (THINK_START, THINK_END, TOOL_CALL_START, TOOL_CALL_END)
# Turn openers of the MiniMax chat template; used, when the vocabulary has them, to look at the
# final turn of a prompt only.
TURN_BOUNDARY_TOKENS = ("]~b]", "]~!b[")


def register() -> None:
    """Registers the parsers with vLLM (lazily: nothing is built until vLLM asks).

    Safe to call any number of times.
    """
    reasoning = importlib.import_module("vllm.reasoning")
    tool_parsers, _legacy = _tool_parsers_module()
    tool_parsers.ToolParserManager.register_lazy_module(TOOL_PARSER_NAME, _MODULE, _TOOL_CLASS)
    manager = reasoning.ReasoningParserManager
    manager.register_lazy_module(REASONING_PARSER_NAME, _MODULE, _REASONING_CLASS)
    manager.register_lazy_module(APPEND_THINK_PARSER_NAME, _MODULE, _APPEND_THINK_CLASS)


def _tool_parsers_module() -> tuple[Any, bool]:
    """vLLM's tool-parser package and whether it is the legacy (0.11.x) layout."""
    try:
        return importlib.import_module("vllm.tool_parsers"), False
    except ModuleNotFoundError:  # vLLM 0.11: under the OpenAI entrypoint
        return importlib.import_module("vllm.entrypoints.openai.tool_parsers"), True


# ---------------------------------------------------------------------------------------------
# vLLM-independent helpers


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


class ReasoningCounter:
    """Counts reasoning tokens of a growing output incrementally (linear over a stream)."""

    def __init__(self, ids: MarkerIds, start_in_reasoning: bool = True) -> None:
        self._ids = ids
        self._seen = 0
        self._count = 0
        self._reasoning = start_in_reasoning
        self._at_start = start_in_reasoning
        self._in_block = False
        self._start = start_in_reasoning

    def count(self, token_ids: Sequence[int]) -> int:
        if len(token_ids) < self._seen:  # a different, shorter sequence: start over
            self._seen = self._count = 0
            self._reasoning = self._at_start = self._start
            self._in_block = False
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


class Session:
    """One response's parser, shared by the reasoning and tool parser of one vLLM ``Parser``."""

    def __init__(self, mode: str) -> None:
        self.mode = mode  # "separate" | "inline"
        self.tools: list[dict[str, Any]] | None = None
        self.id_generator: Callable[[int], str] | None = None
        self.parser: mp.StreamParser | None = None
        self.pending: list[mp.Event] = []
        self.reasoning_done = False
        self.linked = False
        # vLLM 0.11 (legacy serving path) only.
        self.start_in_reasoning = True
        self.started = False
        self.drop_tool_calls = False
        self.drop_reasoning = False
        self.prev_tool_call_arr: list[dict[str, Any]] = []
        self.streamed_args_for_tool: list[str] = []
        # Non-streaming: (content handed to the tool parser, the full parse).
        self.nonstream: tuple[str, mp.Message] | None = None

    def tools_from(self, request: Any) -> None:
        """Takes the request's tools when the parser was built without any: vLLM 0.32's batch
        path builds ``parser_cls(tokenizer, None)`` and passes the request to ``parse``."""
        if self.tools is None and self.parser is None:
            self.tools = tool_dicts(getattr(request, "tools", None))

    def _parser(self, start_in_reasoning: bool) -> mp.StreamParser:
        if self.parser is None:
            self.parser = mp.StreamParser(
                tools=self.tools,
                reasoning="inline" if self.mode == "inline" else "separate",
                start_in_reasoning=start_in_reasoning,
                id_generator=self.id_generator,
            )
        return self.parser

    def feed(self, text: str, start_in_reasoning: bool) -> list[mp.Event]:
        parser = self._parser(start_in_reasoning)
        if not text or parser.finished:
            return []
        return parser.feed(text)

    def finish(self, start_in_reasoning: bool) -> list[mp.Event]:
        parser = self._parser(start_in_reasoning)
        return [] if parser.finished else parser.finish()

    def parse(self, text: str, start_in_reasoning: bool) -> mp.Message:
        return mp.parse(
            text,
            tools=self.tools,
            reasoning="inline" if self.mode == "inline" else "separate",
            start_in_reasoning=start_in_reasoning,
            id_generator=self.id_generator,
        )


def _ours(parser: Any) -> bool:
    return isinstance(getattr(parser, "_session", None), Session)


def _find_sibling(tool_parser: Any) -> tuple[Any, Any]:
    """(our reasoning parser built just before ``tool_parser`` for the same response, the vLLM
    0.11 ``OpenAIServingChat`` that builds them), each ``None`` when not found.

    vLLM 0.32's ``Parser.__init__`` assigns ``self._reasoning_parser`` and then constructs the
    tool parser; we look for that ``Parser`` among our callers' frames. vLLM 0.11's
    ``chat_completion_stream_generator`` / ``chat_completion_full_generator`` hold the reasoning
    parser in their local ``reasoning_parser`` when they build the tool parser.
    """
    frame: FrameType | None = sys._getframe(2)
    for _ in range(6):
        if frame is None:
            break
        local = frame.f_locals
        owner = local.get("self")
        if owner is not None and owner is not tool_parser and hasattr(owner, "_reasoning_parser"):
            sibling = owner._reasoning_parser
            return (sibling if _ours(sibling) else None), None
        if frame.f_code.co_name in _LEGACY_GENERATORS:
            sibling = local.get("reasoning_parser")
            return (sibling if _ours(sibling) else None), owner
        frame = frame.f_back
    return None, None


_LEGACY_GENERATORS = ("chat_completion_stream_generator", "chat_completion_full_generator")


class ServingCall:
    """What vLLM 0.11's ``chat_completion_stream_generator`` knows about the current step.

    Its parsers get no ``finished`` flag and no prompt, and one parser object serves all ``n``
    choices; the generator's locals (``output``, ``res``, ``request``) have them. Read from the
    frame that called the parser method: a constant-size read, once per delta.
    """

    __slots__ = ("finished", "index", "prompt", "request", "serving")

    def __init__(self, local: Mapping[str, Any]) -> None:
        output = local.get("output")
        res = local.get("res")
        self.index: int = getattr(output, "index", 0) or 0
        self.finished: bool = getattr(output, "finish_reason", None) is not None
        self.prompt: Sequence[int] | None = getattr(res, "prompt_token_ids", None)
        self.request: Any = local.get("request")
        self.serving: Any = local.get("self")


def serving_call(depth: int = 2) -> ServingCall | None:
    """The legacy serving step that called our caller, or ``None`` when not called from there."""
    frame = sys._getframe(depth)
    if frame.f_code.co_name != "chat_completion_stream_generator":
        return None
    return ServingCall(frame.f_locals)


def record_tool_calls(session: Session, events: Iterable[mp.Event]) -> None:
    """Keeps vLLM 0.11's ``prev_tool_call_arr`` / ``streamed_args_for_tool`` in step with what was
    streamed (it reads them at the end of a response for the finish reason)."""
    calls, streamed = session.prev_tool_call_arr, session.streamed_args_for_tool
    for e in events:
        if isinstance(e, mp.ToolCallStart):
            calls.append({"name": e.name, "arguments": {}})
            streamed.append("")
        elif isinstance(e, mp.ToolCallDelta) and e.index < len(streamed):
            streamed[e.index] += e.arguments
        elif isinstance(e, mp.ToolCallEnd) and e.index < len(calls):
            try:
                calls[e.index]["arguments"] = json.loads(e.arguments)
            except ValueError:
                pass


# ---------------------------------------------------------------------------------------------
# vLLM classes (built on first access)


def __getattr__(name: str) -> Any:
    if name in (_TOOL_CLASS, _REASONING_CLASS, _APPEND_THINK_CLASS):
        return _build_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _build_classes() -> dict[str, type]:
    tool_parsers, legacy = _tool_parsers_module()
    if legacy:  # vLLM 0.11
        protocol = importlib.import_module("vllm.entrypoints.openai.protocol")
        chat_utils = importlib.import_module("vllm.entrypoints.chat_utils")
    else:
        protocol = importlib.import_module("vllm.entrypoints.generate.base.protocol")
        chat_utils = importlib.import_module("vllm.renderers.chat_utils")
    reasoning_base: Any = importlib.import_module("vllm.reasoning").ReasoningParser
    tool_base: Any = tool_parsers.ToolParser

    DeltaMessage: Any = protocol.DeltaMessage
    DeltaToolCall: Any = protocol.DeltaToolCall
    DeltaFunctionCall: Any = protocol.DeltaFunctionCall
    ExtractedToolCallInformation: Any = protocol.ExtractedToolCallInformation
    FunctionCall: Any = protocol.FunctionCall
    ToolCall: Any = protocol.ToolCall
    make_tool_call_id: Any = chat_utils.make_tool_call_id

    def vllm_ids(_index: int) -> str:
        return str(make_tool_call_id())

    def to_delta(events: Iterable[mp.Event], final: bool = False) -> Any:
        reasoning: list[str] = []
        content: list[str] = []
        calls: dict[int, Any] = {}
        for e in events:
            if isinstance(e, mp.ReasoningDelta):
                reasoning.append(e.text)
            elif isinstance(e, mp.ContentDelta):
                content.append(e.text)
            elif isinstance(e, mp.ToolCallStart):
                calls[e.index] = DeltaToolCall(
                    index=e.index,
                    id=e.id,
                    type="function",
                    function=DeltaFunctionCall(name=e.name, arguments=""),
                )
            elif isinstance(e, mp.ToolCallDelta):
                call = calls.get(e.index)
                if call is None:
                    calls[e.index] = DeltaToolCall(
                        index=e.index, function=DeltaFunctionCall(arguments=e.arguments)
                    )
                else:
                    call.function.arguments += e.arguments
        if not (reasoning or content or calls):
            return None
        tool_calls = [calls[i] for i in sorted(calls)]
        if final and tool_calls:
            tool_calls = guard_final(tool_calls)
        # Only the fields that have a value: vLLM dumps deltas with exclude_unset, and clients
        # (like the built-in parser's) should not see "content": null beside a tool call.
        fields: dict[str, Any] = {}
        if reasoning:
            fields["reasoning"] = "".join(reasoning)
        if content:
            fields["content"] = "".join(content)
        if tool_calls:
            fields["tool_calls"] = tool_calls
        return DeltaMessage(**fields)

    def guard_final(tool_calls: list[Any]) -> list[Any]:
        """vLLM 0.11, last delta of a choice: when the first tool-call entry carries arguments,
        ``chat_completion_stream_generator`` replaces the whole delta with its own "remaining
        arguments" guess (``_should_check_for_unstreamed_tool_arg_tokens``). We have streamed
        everything already, so the first entry is split off without arguments (same index)."""
        first = tool_calls[0]
        if first.function is None or first.function.arguments is None:
            return tool_calls
        args = first.function.arguments
        if first.id is not None:
            head = DeltaToolCall(
                index=first.index,
                id=first.id,
                type="function",
                function=DeltaFunctionCall(name=first.function.name),
            )
        else:
            head = DeltaToolCall(index=first.index)
        rest = [DeltaToolCall(index=first.index, function=DeltaFunctionCall(arguments=args))]
        return [head, *(rest if args else []), *tool_calls[1:]]

    def kept(s: Session, events: list[mp.Event]) -> list[mp.Event]:
        if s.drop_reasoning:
            events = [e for e in events if not isinstance(e, mp.ReasoningDelta)]
        if s.drop_tool_calls:
            events = [e for e in events if isinstance(e, (mp.ReasoningDelta, mp.ContentDelta))]
        return events

    def is_our_tool_parser(cls: Any) -> bool:
        return isinstance(cls, type) and issubclass(cls, MinimaxRsToolParser)

    class MinimaxRsReasoningParser(reasoning_base):  # type: ignore[misc]
        """Reasoning parser ``minimax_rs``: reasoning in ``reasoning``, the rest in content."""

        engine_based_streaming = True
        _mode = "separate"
        _name = REASONING_PARSER_NAME

        def __init__(self, tokenizer: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(tokenizer, *args, **kwargs)
            self._ids = marker_ids(tokenizer, f"--reasoning-parser {self._name}")
            self._session = Session(self._mode)
            self._session.id_generator = vllm_ids
            self._counter: ReasoningCounter | None = None
            self._flush: str | None = None  # standalone: raw text after the reasoning end
            # vLLM 0.11: one parser serves every choice; sessions of choices 1.. by index.
            self._choices: dict[int, Session] = {}
            self._tool: Any = None  # our tool parser of the same response (0.11)
            self._serving_ids: tuple[Any, ...] = ()

        # -- token-id helpers ------------------------------------------------------------
        def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
            for owned in self._serving_ids:
                if input_ids is owned:
                    # vLLM 0.11's stream generator asking whether to hand this response over to
                    # the tool parser: we parse it to the end ourselves (see _legacy_streaming).
                    return False
            return self._ids.prompt_reasoning_ended(input_ids)

        def is_reasoning_end_streaming(
            self, input_ids: Sequence[int], delta_ids: Iterable[int]
        ) -> bool:
            return self._ids.delta_ends_reasoning(delta_ids)

        def extract_content_ids(self, input_ids: list[int]) -> list[int]:
            return self._ids.content_ids(input_ids)

        def count_reasoning_tokens(self, token_ids: Sequence[int]) -> int:
            if self._counter is None:
                self._counter = ReasoningCounter(self._ids)
            return self._counter.count(token_ids)

        def adjust_request(self, request: Any) -> Any:
            request.skip_special_tokens = False
            return request

        # -- non-streaming ---------------------------------------------------------------
        def extract_reasoning(self, model_output: str, request: Any) -> tuple[str | None, Any]:
            s = self._session
            if legacy:
                frame = sys._getframe(1)
                if frame.f_code.co_name == "chat_completion_full_generator":
                    done = self._legacy_full(frame.f_locals, model_output, request)
                    if done is not None:
                        return done
            s.tools_from(request)
            if s.mode == "inline":
                if s.linked:
                    s.nonstream = (model_output, s.parse(model_output, True))
                    return None, model_output
                return None, prepend_think(model_output)
            remainder = split_after_reasoning(model_output) or ""
            if s.linked:
                msg = s.parse(model_output, True)
                s.nonstream = (remainder, msg)
                return msg.reasoning, remainder
            msg = mp.parse(model_output[: len(model_output) - len(remainder)])
            return msg.reasoning, remainder.strip() or None

        def _legacy_full(
            self, local: Mapping[str, Any], model_output: str, request: Any
        ) -> tuple[str | None, Any] | None:
            """vLLM 0.11, non-streaming: parse the whole output once, here.

            ``chat_completion_full_generator`` builds our tool parser after this call when it
            will run it (``_parse_tool_calls_from_content``); it then reuses this parse. vLLM
            keeps the content we return when no call is found, so return SPEC's content."""
            serving = local.get("self")
            prompt = getattr(local.get("final_res"), "prompt_token_ids", None)
            start = not (prompt and self._ids.prompt_reasoning_ended(prompt))
            ours_next = is_our_tool_parser(getattr(serving, "tool_parser", None)) and bool(
                getattr(serving, "enable_auto_tools", False)
            )
            choice = getattr(request, "tool_choice", None)
            s = Session(self._mode)
            s.id_generator = vllm_ids
            self._session = s
            if ours_next and (choice in ("auto", None, "none")):
                s.linked = choice != "none"
                s.tools = tool_dicts(getattr(request, "tools", None))
                msg = s.parse(model_output, start)
                s.nonstream = (msg.content or "", msg)
                return msg.reasoning, msg.content
            if not start:
                return None, model_output
            return None

        # -- streaming -------------------------------------------------------------------
        def has_engine_confirmed_reasoning_end(self) -> bool:
            return self._session.reasoning_done

        def extract_reasoning_streaming(
            self,
            previous_text: str,
            current_text: str,
            delta_text: str,
            previous_token_ids: Sequence[int],
            current_token_ids: Sequence[int],
            delta_token_ids: Sequence[int],
        ) -> Any:
            if legacy:
                call = serving_call() or ServingCall({})
                return self._legacy_streaming(call, delta_text, delta_token_ids)
            s = self._session
            if s.reasoning_done:
                return DeltaMessage(content=delta_text) if delta_text else None
            if s.linked:
                events = s.feed(delta_text, True)
                if all(isinstance(e, mp.ReasoningDelta) for e in events):
                    return to_delta(events)
                # Hand everything of this delta to the tool parser, which vLLM calls next.
                s.pending.extend(events)
                s.reasoning_done = True
                return None
            return self._standalone_delta(delta_text)

        def _legacy_session(self, call: ServingCall) -> Session:
            s = self._session if call.index == 0 else self._choices.get(call.index)
            if s is None:
                s = self._choices[call.index] = Session(self._mode)
                s.id_generator = vllm_ids
                s.linked = self._session.linked
            if s.started:
                return s
            s.started = True
            request, serving = call.request, call.serving
            prompt = call.prompt
            s.start_in_reasoning = not (prompt and self._ids.prompt_reasoning_ended(prompt))
            if (
                not s.linked
                and getattr(request, "tool_choice", None) == "none"
                and getattr(request, "tools", None)
                and is_our_tool_parser(getattr(serving, "tool_parser", None))
                and getattr(serving, "enable_auto_tools", False)
            ):
                # vLLM 0.11 builds no tool parser for tool_choice="none"; like 0.32, parse the
                # response and drop the calls so their markup does not leak into content.
                s.linked = s.drop_tool_calls = True
            if s.linked:
                s.tools = tool_dicts(getattr(request, "tools", None))
            s.drop_reasoning = getattr(request, "include_reasoning", True) is False
            return s

        def _legacy_streaming(
            self, call: ServingCall, delta_text: str, delta_token_ids: Sequence[int]
        ) -> Any:
            """vLLM 0.11's stream generator: feed ``delta_text`` only; flush on the last delta.

            Linked to our tool parser, this parser handles the whole response: the generator's
            hand-off (``is_reasoning_end`` on this delta's ids or the prompt) is answered
            ``False`` for exactly those id lists, because the generator would otherwise strip
            the content of the hand-off delta and re-send it to the tool parser."""
            s = self._legacy_session(call)
            start = s.start_in_reasoning
            if s.linked:
                self._serving_ids = (delta_token_ids, call.prompt)
                events = s.feed(delta_text, start)
                if call.finished:
                    events += s.finish(start)
                events = kept(s, events)
                record_tool_calls(s, events)
                if self._tool is not None:
                    self._tool.prev_tool_call_arr = s.prev_tool_call_arr
                    self._tool.streamed_args_for_tool = s.streamed_args_for_tool
                return to_delta(events, final=call.finished)
            if not start:
                s.reasoning_done = True
            if s.reasoning_done:
                return DeltaMessage(content=delta_text) if delta_text else None
            if s.mode == "inline":
                return self._standalone_delta(delta_text)
            rest = split_after_reasoning(delta_text)
            if rest is None:
                events = s.feed(delta_text, True)
                if call.finished:
                    events += s.finish(True)
                return to_delta(kept(s, events))
            events = s.feed(delta_text[: len(delta_text) - len(rest)], True) + s.finish(True)
            s.reasoning_done = True
            delta = to_delta(kept(s, events))
            if rest:
                delta = delta or DeltaMessage()
                delta.content = rest
            return delta

        def _standalone_delta(self, delta_text: str) -> Any:
            """Without our tool parser: reasoning parsed here, then raw text as vLLM expects."""
            s = self._session
            if s.mode == "inline":
                s.reasoning_done = True
                first = s.parser is None
                s.parser = s.parser or mp.StreamParser()
                text = prepend_think(delta_text) if first else delta_text
                return DeltaMessage(content=text) if text else None
            rest = split_after_reasoning(delta_text)
            if rest is None:
                return to_delta(s.feed(delta_text, True))
            head = delta_text[: len(delta_text) - len(rest)]
            events = s.feed(head, True) + s.finish(True)
            s.reasoning_done = True
            self._flush = rest
            return to_delta(events)

        def finish_streaming(self) -> Any:
            s = self._session
            if s.reasoning_done:
                # Called at the reasoning -> content transition.
                flush, self._flush = self._flush, None
                return DeltaMessage(content=flush) if flush else None
            # End of a response that never left reasoning.
            events = s.finish(True)
            if s.linked:
                s.pending.extend(e for e in events if not isinstance(e, mp.ReasoningDelta))
                events = [e for e in events if isinstance(e, mp.ReasoningDelta)]
            return to_delta(events)

    class MinimaxRsAppendThinkReasoningParser(MinimaxRsReasoningParser):
        """Parser ``minimax_rs_append_think``: think blocks stay in content, tags included."""

        _mode = "inline"
        _name = APPEND_THINK_PARSER_NAME

    class MinimaxRsToolParser(tool_base):  # type: ignore[misc]
        """Tool-call parser ``minimax_rs``."""

        structural_tag_model = "minimax"
        engine_based_streaming = True

        def __init__(self, tokenizer: Any, tools: Any = None) -> None:
            if legacy:  # vLLM 0.11: no tools argument; they come with each request
                super().__init__(tokenizer)
            else:
                super().__init__(tokenizer, tools)
            marker_ids(tokenizer, "--tool-call-parser minimax_rs")
            sibling, serving = _find_sibling(self)
            if sibling is not None:
                session: Session = sibling._session
                session.linked = True
                sibling._tool = self
            else:
                session = Session("separate")
                session.id_generator = vllm_ids
                if serving is not None and not getattr(serving, "reasoning_parser", None):
                    # vLLM 0.11 without a reasoning parser: think markup stays content, as
                    # with 0.32's skip_reasoning_parsing.
                    session.mode = "inline"
            if not legacy:
                session.tools = tool_dicts(tools)
            self._session = session
            self._linked = sibling is not None
            self._choices: dict[int, Session] = {}

        @property
        def skip_reasoning_parsing(self) -> bool:
            return not self._linked and self._session.mode == "inline"

        @skip_reasoning_parsing.setter
        def skip_reasoning_parsing(self, value: bool) -> None:
            # vLLM sets this when no reasoning parser is configured: reasoning markup is content.
            if not self._linked:
                self._session.mode = "inline" if value else "separate"

        def adjust_request(self, request: Any) -> Any:
            request = super().adjust_request(request)
            request.skip_special_tokens = False
            return request

        def extract_tool_calls(self, model_output: str, request: Any) -> Any:
            s = self._session
            s.tools_from(request)
            if s.linked and s.nonstream is not None and s.nonstream[0] == model_output:
                msg = s.nonstream[1]
            else:
                msg = s.parse(model_output, False)
            calls = [
                ToolCall(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments))
                for c in msg.tool_calls
            ]
            return ExtractedToolCallInformation(
                tools_called=bool(calls), tool_calls=calls, content=msg.content
            )

        def extract_tool_calls_streaming(
            self,
            previous_text: str,
            current_text: str,
            delta_text: str,
            previous_token_ids: Sequence[int],
            current_token_ids: Sequence[int],
            delta_token_ids: Sequence[int],
            request: Any,
        ) -> Any:
            if legacy:
                call = serving_call() or ServingCall({})
                return self._legacy_streaming(call, delta_text, request)
            s = self._session
            s.tools_from(request)
            events, s.pending = s.pending, []
            events.extend(s.feed(delta_text, False))
            return to_delta(events)

        def _legacy_streaming(self, call: ServingCall, delta_text: str, request: Any) -> Any:
            """vLLM 0.11: this parser alone, or after another reasoning parser's hand-off (the
            first call's ``delta_text`` is then the content that parser left over)."""
            s = self._session if call.index == 0 else self._choices.get(call.index)
            if s is None:
                s = self._choices[call.index] = Session(self._session.mode)
                s.id_generator = vllm_ids
            if not s.started:
                s.started = True
                s.tools = tool_dicts(getattr(request, "tools", None))
                s.drop_reasoning = getattr(request, "include_reasoning", True) is False
            events = s.feed(delta_text, False)
            if call.finished:
                events += s.finish(False)
            events = kept(s, events)
            record_tool_calls(s, events)
            self.prev_tool_call_arr = s.prev_tool_call_arr
            self.streamed_args_for_tool = s.streamed_args_for_tool
            return to_delta(events, final=call.finished)

        def finish_streaming(self) -> Any:
            s = self._session
            events, s.pending = s.pending, []
            events.extend(s.finish(False))
            return to_delta(events)

    return {
        _REASONING_CLASS: MinimaxRsReasoningParser,
        _APPEND_THINK_CLASS: MinimaxRsAppendThinkReasoningParser,
        _TOOL_CLASS: MinimaxRsToolParser,
    }


# Loaded through --tool-parser-plugin / --reasoning-parser-plugin: vLLM is already imported.
if "vllm" in sys.modules:
    register()

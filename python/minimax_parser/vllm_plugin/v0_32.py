"""The plugin for vLLM 0.32's unified ``Parser`` API (``vllm.parser``).

vLLM builds one ``Parser`` per response (per request and choice) and calls only its public
methods: ``adjust_request``, ``set_prompt_token_ids``, ``parse``, ``parse_delta``,
``is_reasoning_end`` and ``count_reasoning_tokens``. ``ParserManager._compose_parser`` (the seam
vLLM itself uses for its unified parsers) turns the configured reasoning and tool parser classes
into that class. :func:`register` wraps it: when the result is vLLM's generic ``DelegatingParser``
around our tool parser *and* one of our reasoning parsers, it returns :class:`MinimaxRsParser`
instead, which parses the whole response with one :class:`~.common.Response`. Every other
combination keeps vLLM's composition; our parser classes then work standalone (reasoning first,
the raw rest handed over; or tool calls after another reasoning parser). Two serving hooks fix
what vLLM's layer gets wrong around our parsers: the Responses stream's ``split_delta`` order,
and a non-streamed ``finish_reason`` of ``"tool_calls"`` for a response the engine cut off.

The dialect (MiniMax-M2 or M3) comes from the tokenizer's vocabulary (``common.marker_ids``); for
M3, where a response starts comes from the ``thinking_mode`` chat-template kwarg, which vLLM
passes to every reasoning parser it builds, and from the end of the prompt.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

from packaging.version import Version
from vllm.entrypoints.generate.base.protocol import (  # type: ignore[import-not-found, unused-ignore]
    DeltaFunctionCall,
    DeltaMessage,
    DeltaToolCall,
    ExtractedToolCallInformation,
    FunctionCall,
    ToolCall,
)
from vllm.logger import init_logger  # type: ignore[import-not-found, unused-ignore]
from vllm.parser import ParserManager  # type: ignore[import-not-found, unused-ignore]
from vllm.parser.abstract_parser import DelegatingParser  # type: ignore[import-not-found, unused-ignore]
from vllm.parser.metrics import record_tool_parser_invocation  # type: ignore[import-not-found, unused-ignore]
from vllm.reasoning import ReasoningParser, ReasoningParserManager  # type: ignore[import-not-found, unused-ignore]
from vllm.renderers.chat_utils import make_tool_call_id  # type: ignore[import-not-found, unused-ignore]
from vllm.tool_parsers import ToolParser, ToolParserManager  # type: ignore[import-not-found, unused-ignore]

import minimax_parser as mp
from minimax_parser.vllm_plugin.common import (
    APPEND_THINK_PARSER_NAME,
    REASONING_PARSER_NAME,
    THINKING_MODE,
    TOOL_PARSER_NAME,
    DeltaTypes,
    FirstReasoning,
    MarkerIds,
    Mode,
    ReasoningCounter,
    Response,
    TokenIdAnswers,
    marker_ids,
    prepend_think,
    raw_after_reasoning,
    split_after_reasoning,
    to_delta,
)

logger = init_logger(__name__)

TYPES = DeltaTypes(DeltaMessage, DeltaToolCall, DeltaFunctionCall)
# The first release whose ParserManager._compose_parser / Parser API this module is written for.
COMPOSE_SINCE = Version("0.32.0")
_HOOK = "__minimax_rs_hook__"


def vllm_ids(_index: int) -> str:
    """Tool-call ids as vLLM makes them (``chatcmpl-tool-…``)."""
    return str(make_tool_call_id())


def extracted(msg: mp.Message) -> Any:
    calls = [
        ToolCall(id=c.id, function=FunctionCall(name=c.name, arguments=c.arguments))
        for c in msg.tool_calls
    ]
    return ExtractedToolCallInformation(
        tools_called=bool(calls), tool_calls=calls, content=msg.content
    )


def _native(tool_parser: Any, request: Any) -> bool:
    """Whether the output is in the model's own format. With vLLM's strict tool calling (the
    default) ``required`` and named ``tool_choice`` are too: a structural tag constrains the
    output to it. Otherwise vLLM decodes those as JSON and parses that itself."""
    choice = request.tool_choice
    return choice in ("auto", "none", None) or not tool_parser.supports_required_and_named


class MinimaxRsReasoningParser(TokenIdAnswers, ReasoningParser):  # type: ignore[misc]
    """Reasoning parser ``minimax_rs``: reasoning in ``reasoning``, the rest in content.

    Inside :class:`MinimaxRsParser` it only answers the token-id questions. Composed by vLLM
    with another tool parser, or none, it parses the first reasoning segment and hands the raw
    text after it over, as vLLM's own reasoning parsers do.

    vLLM builds it with the request's ``chat_template_kwargs`` (the serving layer, and the engine
    core for structured outputs); M3's ``thinking_mode`` is read from them.
    """

    engine_based_streaming = True
    mode: Mode = "separate"
    name = REASONING_PARSER_NAME

    def __init__(self, tokenizer: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, **kwargs)
        self.ids: MarkerIds = marker_ids(tokenizer, f"--reasoning-parser {self.name}")
        template_kwargs = kwargs.get("chat_template_kwargs") or {}
        self.thinking_mode = template_kwargs.get(THINKING_MODE)
        self.start_in_reasoning = self.ids.starts_in_reasoning(None, self.thinking_mode)
        self._first = FirstReasoning(
            self.mode, dialect=self.ids.dialect, start_in_reasoning=self.start_in_reasoning
        )
        self._flush = ""  # streaming: the raw text after the reasoning, for finish_streaming

    def adjust_initial_state_from_prompt(self, prompt_token_ids: Sequence[int]) -> None:
        """vLLM's streaming loop, when ``is_reasoning_end(prompt)`` is ``False``: the prompt
        decides where an M3 response starts."""
        self.start_in_reasoning = self.ids.starts_in_reasoning(prompt_token_ids, self.thinking_mode)
        self._first.start_in_reasoning = self.start_in_reasoning

    # -- standalone parsing --------------------------------------------------------------
    def extract_reasoning(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        dialect = self.ids.dialect
        if self.mode == "inline":
            if not self.start_in_reasoning:
                return None, model_output
            return None, prepend_think(model_output, dialect)
        if dialect == "m2":
            rest = split_after_reasoning(model_output) or ""
            msg = mp.parse(model_output[: len(model_output) - len(rest)])
            return msg.reasoning, rest.strip() or None
        first = FirstReasoning(
            self.mode, dialect=dialect, start_in_reasoning=self.start_in_reasoning
        )
        events, rest = first.feed(model_output)
        events += first.finish()
        reasoning = "".join(e.text for e in events if isinstance(e, mp.ReasoningDelta))
        rest += "".join(e.text for e in events if isinstance(e, mp.ContentDelta))
        return reasoning or None, rest.strip() or None

    def has_engine_confirmed_reasoning_end(self) -> bool:
        return self._first.done

    def extract_reasoning_streaming(
        self,
        previous_text: str,
        current_text: str,
        delta_text: str,
        previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int],
        delta_token_ids: Sequence[int],
    ) -> Any:
        events, self._flush = self._first.feed(delta_text)
        return to_delta(TYPES, events)

    def finish_streaming(self) -> Any:
        """At the reasoning -> content transition: the raw rest, which vLLM hands to the tool
        parser (or emits as content); at the end of a response still in reasoning: its end."""
        if self._first.done:
            flush, self._flush = self._flush, ""
            return DeltaMessage(content=flush) if flush else None
        return to_delta(TYPES, self._first.finish())


class MinimaxRsAppendThinkReasoningParser(MinimaxRsReasoningParser):
    """Reasoning parser ``minimax_rs_append_think``: think blocks stay in content, tags included."""

    mode: Mode = "inline"
    name = APPEND_THINK_PARSER_NAME


class MinimaxRsToolParser(ToolParser):  # type: ignore[misc]
    """Tool-call parser ``minimax_rs``.

    Inside :class:`MinimaxRsParser` it only adjusts the request. Composed by vLLM without our
    reasoning parser, it parses what it is given starting outside reasoning: the raw text after
    another reasoning parser, or (no reasoning parser: vLLM sets ``skip_reasoning_parsing``) the
    whole response with think markup kept as content.

    M2: vLLM's ``minimax`` structural tag constrains ``required`` / named ``tool_choice`` to the
    native format. That tag is M2's markup, and vLLM has none for M3; with an M3 tokenizer this
    parser sets no structural tag and, like vLLM's ``minimax_m3``, parses those choices from
    the native output (``supports_required_and_named = False``).
    """

    structural_tag_model: str | None = "minimax"
    engine_based_streaming = True

    def __init__(self, tokenizer: Any, tools: Any = None) -> None:
        super().__init__(tokenizer, tools)
        ids = marker_ids(tokenizer, f"--tool-call-parser {TOOL_PARSER_NAME}")
        if ids.dialect == "m3":
            self.structural_tag_model = None
            self.supports_required_and_named = False
        self._response = Response(
            dialect=ids.dialect, start_in_reasoning=False, id_generator=vllm_ids
        )
        self._response.use_tools(tools)

    @property
    def skip_reasoning_parsing(self) -> bool:
        return self._response.mode == "inline"

    @skip_reasoning_parsing.setter
    def skip_reasoning_parsing(self, value: bool) -> None:
        self._response.mode = "inline" if value else "separate"

    def adjust_request(self, request: Any) -> Any:
        request = super().adjust_request(request)
        request.skip_special_tokens = False
        return request

    def extract_tool_calls(self, model_output: str, request: Any) -> Any:
        self._response.use_tools(getattr(request, "tools", None))
        return extracted(self._response.parse(model_output))

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
        self._response.use_tools(getattr(request, "tools", None))
        return to_delta(TYPES, self._response.feed(delta_text))

    def finish_streaming(self) -> Any:
        return to_delta(TYPES, self._response.finish())


class MinimaxRsParser(DelegatingParser):  # type: ignore[misc]
    """One response with our reasoning parser and tool parser together: one
    :class:`~.common.Response` parses all of it, starting where the prompt left off.

    ``set_prompt_token_ids`` (non-streaming) or the first ``parse_delta``'s prompt sets the start
    state, so a prompt that already closed reasoning is honoured in both modes (M3: with the
    ``thinking_mode`` chat-template kwarg, see ``common.M3MarkerIds``). The request's
    ``tool_choice`` and ``include_reasoning`` are applied as vLLM applies them; ``parse`` keeps
    vLLM's own ``tool_choice`` policy (``DelegatingParser.parse``) around one parse of the output.
    """

    def __init__(self, tokenizer: Any, tools: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(tokenizer, tools, *args, **kwargs)
        reasoning: MinimaxRsReasoningParser = self._reasoning_parser
        self._ids = reasoning.ids
        self._thinking_mode = reasoning.thinking_mode
        self._response = Response(
            reasoning.mode,
            dialect=self._ids.dialect,
            start_in_reasoning=reasoning.start_in_reasoning,
            id_generator=vllm_ids,
        )
        self._response.use_tools(tools)
        self._parsed: tuple[str, mp.Message] | None = None  # non-streaming: (tool text, parse)
        self._counter: ReasoningCounter | None = None

    def set_prompt_token_ids(self, prompt_token_ids: Sequence[int]) -> None:
        if not self._response.started:
            self._response.start_in_reasoning = self._ids.starts_in_reasoning(
                prompt_token_ids, self._thinking_mode
            )

    def count_reasoning_tokens(self, token_ids: Sequence[int]) -> int:
        if self._counter is None:
            self._counter = ReasoningCounter(self._ids, self._response.start_in_reasoning)
        return self._counter.count(token_ids)

    # -- streaming -----------------------------------------------------------------------
    def parse_delta(
        self,
        delta_text: str,
        delta_token_ids: list[int],
        request: Any,
        prompt_token_ids: list[int] | None = None,
        *,
        finished: bool,
    ) -> Any:
        if not _native(self._tool_parser, request):
            return super().parse_delta(
                delta_text, delta_token_ids, request, prompt_token_ids, finished=finished
            )
        r = self._response
        if not r.started:
            if prompt_token_ids is not None:
                self.set_prompt_token_ids(prompt_token_ids)
            r.use_tools(request.tools)
            r.drop_reasoning = not request.include_reasoning
            r.drop_tool_calls = request.tool_choice == "none"
        events = r.feed(delta_text)
        if finished:
            events += r.finish()
        delta = to_delta(TYPES, events)
        if r.left_reasoning and not r.drop_tool_calls:
            # vLLM counts one tool-parser invocation per delta of the tool-call phase.
            called = delta is not None and bool(delta.tool_calls)
            record_tool_parser_invocation(is_tool_called=called, is_streaming=True, request=request)
        return delta

    # -- non-streaming: DelegatingParser.parse calls these two ---------------------------
    def extract_reasoning(self, model_output: str, request: Any) -> tuple[str | None, str | None]:
        """Parses the whole output once; returns its reasoning and the raw text a tool parser
        would get (what vLLM keeps as content when it does not parse tool calls)."""
        r = self._response
        r.use_tools(request.tools)
        msg = r.parse(model_output)
        if r.mode == "inline":
            rest = prepend_think(model_output, r.dialect) if r.start_in_reasoning else model_output
        elif r.dialect == "m3":
            rest = raw_after_reasoning(model_output, r.dialect, r.start_in_reasoning)
        elif r.start_in_reasoning:
            rest = split_after_reasoning(model_output) or ""
        else:
            rest = model_output
        self._parsed = (rest, msg)
        return msg.reasoning, rest

    def extract_tool_calls(self, model_output: str, request: Any) -> Any:
        if self._parsed is None or self._parsed[0] != model_output:
            return super().extract_tool_calls(model_output, request)
        info = extracted(self._parsed[1])
        record_tool_parser_invocation(
            is_tool_called=info.tools_called, is_streaming=False, request=request
        )
        return info


def unified(composed: Any) -> Any:
    """:class:`MinimaxRsParser` in place of vLLM's generic composition of our two parsers;
    ``composed`` itself otherwise."""
    if not (isinstance(composed, type) and composed.__bases__ == (DelegatingParser,)):
        return composed  # None, or a model-specific parser (Harmony, hf, ...)
    generic: Any = composed
    r_cls, t_cls = generic.reasoning_parser_cls, generic.tool_parser_cls
    if not (
        isinstance(r_cls, type)
        and issubclass(r_cls, MinimaxRsReasoningParser)
        and isinstance(t_cls, type)
        and issubclass(t_cls, MinimaxRsToolParser)
    ):
        return composed
    return type(
        "MinimaxRsParser",
        (MinimaxRsParser,),
        {
            "__module__": __name__,
            "__qualname__": "MinimaxRsParser",
            "reasoning_parser_cls": r_cls,
            "tool_parser_cls": t_cls,
            "tool_strict_level": generic.tool_strict_level,
        },
    )


def _install_composition() -> None:
    """Wraps ``ParserManager._compose_parser`` with :func:`unified` (once)."""
    original = ParserManager.__dict__["_compose_parser"].__func__
    if getattr(original, _HOOK, False):
        return
    version = Version(importlib.metadata.version("vllm"))
    if version.release[:2] < COMPOSE_SINCE.release[:2]:
        logger.warning(
            "minimax_rs: vLLM %s predates the Parser API this plugin targets (%s); using vLLM's "
            "own composition of the reasoning and tool parser",
            version,
            COMPOSE_SINCE,
        )
        return

    @functools.wraps(original)
    def _compose_parser(cls: Any, *args: Any, **kwargs: Any) -> Any:
        return unified(original(cls, *args, **kwargs))

    setattr(_compose_parser, _HOOK, True)
    ParserManager._compose_parser = classmethod(_compose_parser)


# vLLM 0.32's Responses streaming splits a compound delta as reasoning, content, tool calls.
_EVENTS = "vllm.entrypoints.openai.responses.streaming_events"
_RESPONSES = "vllm.entrypoints.openai.responses.serving"


def continuations_first(parts: list[Any]) -> list[Any]:
    """``split_delta``'s parts with the argument fragments of calls announced in an earlier
    delta (entries without a name) moved in front of reasoning and content.

    A parser's delta holds one engine step, and a step may finish a call and go on with text
    (``…}`` then ``after``). vLLM's split puts the content first, which closes the call's item,
    and the fragment then opens a new function-call item without a name (a pydantic error that
    ends the stream). Such a fragment belongs to the call still open when the step began, so
    it comes first. Only deltas that would fail are reordered."""
    if not any(p.reasoning is not None or p.content for p in parts):
        return parts
    first = [
        p
        for p in parts
        if p.tool_calls and all(tc.function is None or not tc.function.name for tc in p.tool_calls)
    ]
    if not first:
        return parts
    return first + [p for p in parts if not any(p is f for f in first)]


def _install_responses_split() -> None:
    """Wraps the Responses stream's ``split_delta`` with :func:`continuations_first` (once),
    where it is defined and where ``serving`` imported it, if already imported."""
    try:
        events = importlib.import_module(_EVENTS)
        original = events.split_delta
    except (ImportError, AttributeError):  # another Responses implementation: nothing to fix
        return
    if getattr(original, _HOOK, False):
        return

    @functools.wraps(original)
    def split_delta(delta: Any) -> list[Any]:
        return continuations_first(original(delta))

    setattr(split_delta, _HOOK, True)
    setattr(events, "split_delta", split_delta)  # noqa: B010 (a module attribute)
    serving = sys.modules.get(_RESPONSES)
    if serving is not None and getattr(serving, "split_delta", None) is original:
        setattr(serving, "split_delta", split_delta)  # noqa: B010


# vLLM 0.32's non-streaming chat completion reports "tool_calls" whenever calls were parsed.
_CHAT = "vllm.entrypoints.openai.chat_completion.serving"


def _serves_our_tool_parser(serving: Any) -> bool:
    """Whether a chat serving object parses tool calls with ``minimax_rs`` (composed by
    :func:`unified` or by vLLM)."""
    tool_parser_cls = getattr(getattr(serving, "parser_cls", None), "tool_parser_cls", None)
    return isinstance(tool_parser_cls, type) and issubclass(tool_parser_cls, MinimaxRsToolParser)


async def _observed(
    outputs: AsyncIterator[Any], finish: dict[int, str | None]
) -> AsyncIterator[Any]:
    """``outputs`` unchanged, recording each choice's last engine ``finish_reason`` by index."""
    async for res in outputs:
        for output in res.outputs:
            finish[output.index] = output.finish_reason
        yield res


def length_wins(response: Any, engine_finish: dict[int, str | None]) -> None:
    """Sets ``finish_reason`` back to ``"length"`` on the choices the engine cut off and the
    chat layer reported as ``"tool_calls"`` (what vLLM's streaming path and our proxy report)."""
    for choice in getattr(response, "choices", None) or []:
        if choice.finish_reason == "tool_calls" and engine_finish.get(choice.index) == "length":
            choice.finish_reason = "length"


def _install_length_finish() -> None:
    """Wraps ``OpenAIServingChat.chat_completion_full_generator`` (once) so that, for requests
    served with our tool parser, an engine ``length`` is not reported as ``"tool_calls"``.

    vLLM 0.32's non-streaming path sets ``"tool_calls"`` whenever auto tool choice parsed calls,
    even when the engine stopped for length (so ``/v1/messages``, a subclass, says ``tool_use``
    instead of ``max_tokens``); its streaming path turns only ``"stop"`` into ``"tool_calls"``.
    The wrapper passes the method a generator that records the engine's finish reason per choice
    and corrects the response's choices after it. Skipped when the method's shape differs."""
    version = Version(importlib.metadata.version("vllm"))
    if version.release[:2] < COMPOSE_SINCE.release[:2]:
        return
    try:
        serving = importlib.import_module(_CHAT)
        original = serving.OpenAIServingChat.__dict__["chat_completion_full_generator"]
    except (ImportError, AttributeError, KeyError):
        return
    if getattr(original, _HOOK, False) or not inspect.iscoroutinefunction(original):
        return
    signature = inspect.signature(original)
    if "result_generator" not in signature.parameters:
        return

    @functools.wraps(original)
    async def chat_completion_full_generator(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _serves_our_tool_parser(self):
            return await original(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        engine_finish: dict[int, str | None] = {}
        bound.arguments["result_generator"] = _observed(
            bound.arguments["result_generator"], engine_finish
        )
        response = await original(*bound.args, **bound.kwargs)
        length_wins(response, engine_finish)
        return response

    setattr(chat_completion_full_generator, _HOOK, True)
    serving.OpenAIServingChat.chat_completion_full_generator = chat_completion_full_generator


def register() -> None:
    module = "minimax_parser.vllm_plugin.v0_32"
    ToolParserManager.register_lazy_module(TOOL_PARSER_NAME, module, "MinimaxRsToolParser")
    ReasoningParserManager.register_lazy_module(
        REASONING_PARSER_NAME, module, "MinimaxRsReasoningParser"
    )
    ReasoningParserManager.register_lazy_module(
        APPEND_THINK_PARSER_NAME, module, "MinimaxRsAppendThinkReasoningParser"
    )
    _install_composition()
    _install_responses_split()
    _install_length_finish()

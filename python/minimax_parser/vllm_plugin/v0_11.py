"""The plugin for vLLM 0.11's legacy serving path (``vllm/entrypoints/openai/serving_chat.py``).

There is no ``Parser`` in 0.11: ``OpenAIServingChat.chat_completion_stream_generator`` builds one
reasoning parser and one tool parser per request, shares them between the ``n`` choices, and
calls ``extract_*_streaming`` with text and token ids only: no choice index, no "finished" flag,
no prompt, no request for the reasoning parser. ``chat_completion_full_generator`` builds them per
choice. :func:`register` wraps both generators (the seam that has this knowledge): the wrapper
records the request, the prompt and the engine output being processed in a :class:`ServedRequest`
that the parsers built during that call pick up (through a context variable, at construction).
It also hands the stream generator one choice's output at a time, so "the output being processed"
is exact. Without the wrapper (another caller) the parsers work on their own: choice 0, not
finished, no prompt.

With our reasoning parser and our tool parser both active for a request, one
:class:`~.common.Response` per choice parses the whole response inside the reasoning parser; the
generator's hand-off question (``is_reasoning_end`` on this step's ids or the prompt) is answered
``False``, because the generator would otherwise strip the content of the hand-off delta and
re-send it to the tool parser one step later, losing it when that delta is the last one.

MiniMax-M3 is not served here: vLLM 0.11 has no M3 model. A tokenizer with M3's namespace token is
refused (:func:`m2_marker_ids`); the plugin parses M3 on vLLM 0.32 (``v0_32``).
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from contextvars import ContextVar
from typing import Any

from packaging.version import Version
from vllm.entrypoints.chat_utils import make_tool_call_id  # type: ignore[import-not-found, unused-ignore]
from vllm.entrypoints.openai.protocol import (  # type: ignore[import-not-found, unused-ignore]
    DeltaFunctionCall,
    DeltaMessage,
    DeltaToolCall,
    ExtractedToolCallInformation,
    FunctionCall,
    ToolCall,
)
from vllm.entrypoints.openai.serving_chat import OpenAIServingChat  # type: ignore[import-not-found, unused-ignore]
from vllm.entrypoints.openai.tool_parsers import ToolParser, ToolParserManager  # type: ignore[import-not-found, unused-ignore]
from vllm.logger import init_logger  # type: ignore[import-not-found, unused-ignore]
from vllm.reasoning import ReasoningParser, ReasoningParserManager  # type: ignore[import-not-found, unused-ignore]

import minimax_parser as mp
from minimax_parser.vllm_plugin.common import (
    APPEND_THINK_PARSER_NAME,
    M3_NAMESPACE,
    REASONING_PARSER_NAME,
    TOOL_PARSER_NAME,
    DeltaTypes,
    FirstReasoning,
    MarkerIds,
    MissingMarkersError,
    Mode,
    Response,
    TokenIdAnswers,
    marker_ids,
    to_delta,
)

logger = init_logger(__name__)

TYPES = DeltaTypes(DeltaMessage, DeltaToolCall, DeltaFunctionCall)
HOOK_VERSIONS = (Version("0.11.0"), Version("0.12.0"))  # the serving code this hook is written for
_HOOK = "__minimax_rs_hook__"


def vllm_ids(_index: int) -> str:
    """Tool-call ids as vLLM makes them (``chatcmpl-tool-…``)."""
    return str(make_tool_call_id())


def m2_marker_ids(tokenizer: Any, owner: str) -> MarkerIds:
    """The MiniMax-M2 marker ids of ``tokenizer``; an M3 tokenizer is an error here."""
    ids = marker_ids(tokenizer, owner)
    if ids.dialect != "m2":
        raise MissingMarkersError(
            f"{owner}: this is a MiniMax-M3 tokenizer (its vocabulary has {M3_NAMESPACE}); "
            "the plugin parses MiniMax-M3 on vLLM 0.32 and later, not on vLLM 0.11."
        )
    return ids


def _ours(cls: Any, base: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, base)


class ServedRequest:
    """One chat-completion request inside ``OpenAIServingChat``'s stream or full generator."""

    def __init__(self, serving: Any, request: Any) -> None:
        self.serving = serving
        self.request = request
        self.prompt: Sequence[int] | None = None  # of the engine output being processed
        self.output: Any = None  # the CompletionOutput being processed (streaming)
        self.responses: dict[int, Response] = {}  # per choice, when linked
        self.parsed: tuple[str, mp.Message] | None = None  # non-streaming, when linked
        choice = getattr(request, "tool_choice", None)
        self.linked = (
            _ours(getattr(serving, "reasoning_parser", None), MinimaxRsReasoningParser)
            and _ours(getattr(serving, "tool_parser", None), MinimaxRsToolParser)
            and bool(getattr(serving, "enable_auto_tools", False))
            and bool(getattr(request, "tools", None))
            and choice in ("auto", None, "none")
        )
        """Our two parsers take part in this request: the reasoning parser parses all of it. With
        ``tool_choice="none"`` 0.11 builds no tool parser; we still parse and drop the calls, so
        their markup does not leak into content (as 0.32 does)."""

    @property
    def index(self) -> int:
        return getattr(self.output, "index", 0) or 0

    @property
    def finished(self) -> bool:
        return getattr(self.output, "finish_reason", None) is not None

    @property
    def has_reasoning_parser(self) -> bool:
        return getattr(self.serving, "reasoning_parser", None) is not None

    def starts_in_reasoning(self, ids: MarkerIds) -> bool:
        return ids.starts_in_reasoning(self.prompt)

    def response(self, ids: MarkerIds, mode: Mode) -> Response:
        """The linked response of the current choice."""
        index = self.index
        r = self.responses.get(index)
        if r is None:
            r = self.responses[index] = Response(
                mode, start_in_reasoning=self.starts_in_reasoning(ids), id_generator=vllm_ids
            )
            r.use_tools(self.request.tools)
            r.drop_reasoning = getattr(self.request, "include_reasoning", True) is False
            r.drop_tool_calls = self.request.tool_choice == "none"
        return r

    async def outputs(self, results: AsyncIterator[Any], one_at_a_time: bool) -> AsyncIterator[Any]:
        """The engine's outputs, noting the one being processed. ``one_at_a_time`` splits a
        ``RequestOutput`` holding several choices into one per choice (the stream generator
        handles each choice of a ``RequestOutput`` independently)."""
        async for res in results:
            self.prompt = res.prompt_token_ids
            outputs = res.outputs
            if not one_at_a_time or len(outputs) <= 1:
                self.output = outputs[0] if len(outputs) == 1 else None
                yield res
                continue
            for output in outputs:
                part = copy.copy(res)
                part.outputs = [output]
                self.output = output
                yield part


_SERVED: ContextVar[ServedRequest | None] = ContextVar("minimax_rs_served", default=None)


def final_delta(delta: Any) -> Any:
    """The last delta of a choice: when its first tool-call entry carries arguments,
    ``chat_completion_stream_generator`` replaces the whole delta with its own "remaining
    arguments" guess (``_should_check_for_unstreamed_tool_arg_tokens``). Everything was streamed
    already, so that entry is split into a head without arguments and its arguments (same
    index), and the guess never fires."""
    if delta is None or not delta.tool_calls:
        return delta
    first = delta.tool_calls[0]
    if first.function is None or first.function.arguments is None:
        return delta
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
    delta.tool_calls = [head, *(rest if args else []), *delta.tool_calls[1:]]
    return delta


class MinimaxRsReasoningParser(TokenIdAnswers, ReasoningParser):  # type: ignore[misc]
    """Reasoning parser ``minimax_rs``: reasoning in ``reasoning``, the rest in content."""

    mode: Mode = "separate"
    name = REASONING_PARSER_NAME

    def __init__(self, tokenizer: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(tokenizer, *args, **kwargs)
        self.ids: MarkerIds = m2_marker_ids(tokenizer, f"--reasoning-parser {self.name}")
        self._served = _SERVED.get()
        self._first: dict[int, FirstReasoning] = {}  # standalone, per choice
        self._step_ids: tuple[Any, ...] = ()  # the id lists of the current step (linked)

    # -- token-id helpers (the rest: TokenIdAnswers) -------------------------------------
    def is_reasoning_end(self, input_ids: Sequence[int]) -> bool:
        for owned in self._step_ids:
            if input_ids is owned:
                # The stream generator asking whether to hand this response over to the tool
                # parser: linked, we parse it to the end ourselves.
                return False
        return super().is_reasoning_end(input_ids)

    # -- non-streaming -------------------------------------------------------------------
    def extract_reasoning(self, model_output: str, request: Any) -> tuple[str | None, Any]:
        """Linked: parses the whole output once and returns SPEC's reasoning and content (0.11
        keeps the content it got from here when no call is found); our tool parser, built next
        by ``_parse_tool_calls_from_content``, reuses the parse."""
        served = self._served
        if served is not None and served.linked:
            r = Response(
                self.mode, start_in_reasoning=served.starts_in_reasoning(self.ids),
                id_generator=vllm_ids,
            )  # fmt: skip
            r.use_tools(request.tools)
            msg = r.parse(model_output)
            served.parsed = (msg.content or "", msg)
            return msg.reasoning, msg.content
        if served is not None and not served.starts_in_reasoning(self.ids):
            return None, model_output
        first = FirstReasoning(self.mode)
        events, rest = first.feed(model_output)
        events += first.finish()
        reasoning = "".join(e.text for e in events if isinstance(e, mp.ReasoningDelta))
        if self.mode == "inline":
            return None, rest
        return reasoning or None, rest.strip() or None

    # -- streaming -----------------------------------------------------------------------
    def extract_reasoning_streaming(
        self,
        previous_text: str,
        current_text: str,
        delta_text: str,
        previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int],
        delta_token_ids: Sequence[int],
    ) -> Any:
        """Feeds ``delta_text`` only (never the growing ``previous_text``/``current_text``)."""
        served = self._served
        finished = served is not None and served.finished
        if served is not None and served.linked:
            self._step_ids = (delta_token_ids, served.prompt)
            r = served.response(self.ids, self.mode)
            events = r.feed(delta_text)
            if finished:
                events += r.finish()
            r.record(events)
            delta = to_delta(TYPES, events)
            return final_delta(delta) if finished else delta
        index = served.index if served is not None else 0
        first = self._first.get(index)
        if first is None:
            drop = served is not None and served.request.include_reasoning is False
            first = self._first[index] = FirstReasoning(self.mode, drop_reasoning=drop)
            first.done = served is not None and not served.starts_in_reasoning(self.ids)
        events, rest = first.feed(delta_text)
        if finished:
            events += first.finish()
        delta = to_delta(TYPES, events)
        if rest:
            delta = delta or DeltaMessage()
            delta.content = rest
        return delta


class MinimaxRsAppendThinkReasoningParser(MinimaxRsReasoningParser):
    """Reasoning parser ``minimax_rs_append_think``: think blocks stay in content, tags included."""

    mode: Mode = "inline"
    name = APPEND_THINK_PARSER_NAME


class MinimaxRsToolParser(ToolParser):  # type: ignore[misc]
    """Tool-call parser ``minimax_rs``.

    Linked, the reasoning parser does the parsing and this class reports the calls made (vLLM
    reads ``prev_tool_call_arr`` / ``streamed_args_for_tool`` at the end of each choice). On its
    own it parses what it is given starting outside reasoning: the raw text after another
    reasoning parser, or (no reasoning parser configured) the whole response with think markup
    kept as content.
    """

    def __init__(self, tokenizer: Any) -> None:
        super().__init__(tokenizer)
        m2_marker_ids(tokenizer, f"--tool-call-parser {TOOL_PARSER_NAME}")
        self._served = _SERVED.get()
        self._choices: dict[int, Response] = {}  # standalone, per choice

    def _standalone(self, index: int, request: Any) -> Response:
        r = self._choices.get(index)
        if r is None:
            served = self._served
            mode: Mode = "inline" if served and not served.has_reasoning_parser else "separate"
            r = self._choices[index] = Response(
                mode, start_in_reasoning=False, id_generator=vllm_ids
            )
            r.use_tools(getattr(request, "tools", None))
            r.drop_reasoning = getattr(request, "include_reasoning", True) is False
        return r

    def _current(self) -> Response | None:
        served = self._served
        index = served.index if served is not None else 0
        if served is not None and served.linked:
            return served.responses.get(index)
        return self._choices.get(index)

    # vLLM reads these for the choice whose last delta it is handling; ToolParser.__init__
    # assigns empty lists, which the setters ignore.
    @property
    def prev_tool_call_arr(self) -> list[dict[str, Any]]:
        r = self._current()
        return r.calls if r is not None else []

    @prev_tool_call_arr.setter
    def prev_tool_call_arr(self, value: list[dict[str, Any]]) -> None:
        pass

    @property
    def streamed_args_for_tool(self) -> list[str]:
        r = self._current()
        return r.streamed_arguments() if r is not None else []

    @streamed_args_for_tool.setter
    def streamed_args_for_tool(self, value: list[str]) -> None:
        pass

    def adjust_request(self, request: Any) -> Any:
        request = super().adjust_request(request)
        request.skip_special_tokens = False
        return request

    def extract_tool_calls(self, model_output: str, request: Any) -> Any:
        served = self._served
        if served is not None and served.parsed is not None and served.parsed[0] == model_output:
            msg = served.parsed[1]
        else:
            r = Response(
                "inline" if served and not served.has_reasoning_parser else "separate",
                start_in_reasoning=False,
                id_generator=vllm_ids,
            )
            r.use_tools(getattr(request, "tools", None))
            msg = r.parse(model_output)
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
        """Feeds ``delta_text`` only; after another reasoning parser's hand-off the first call's
        ``delta_text`` is the content that parser left over."""
        served = self._served
        r = self._standalone(served.index if served is not None else 0, request)
        events = r.feed(delta_text)
        finished = served is not None and served.finished
        if finished:
            events += r.finish()
        r.record(events)
        delta = to_delta(TYPES, events)
        return final_delta(delta) if finished else delta


# ---------------------------------------------------------------------------------------------
# The hook around OpenAIServingChat's two generators


def _hook_stream(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def chat_completion_stream_generator(
        self: Any, request: Any, result_generator: Any, *args: Any, **kwargs: Any
    ) -> AsyncIterator[str]:
        served = ServedRequest(self, request)
        results = served.outputs(result_generator, one_at_a_time=True)
        token = _SERVED.set(served)
        try:
            stream = original(self, request, results, *args, **kwargs)
            # The parsers are built before the first chunk; they keep `served` from then on.
            first = await anext(stream, None)
        finally:
            _SERVED.reset(token)
        if first is None:
            return
        yield first
        async for chunk in stream:
            yield chunk

    return chat_completion_stream_generator


def _hook_full(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def chat_completion_full_generator(
        self: Any, request: Any, result_generator: Any, *args: Any, **kwargs: Any
    ) -> Any:
        served = ServedRequest(self, request)
        token = _SERVED.set(served)
        try:
            results = served.outputs(result_generator, one_at_a_time=False)
            return await original(self, request, results, *args, **kwargs)
        finally:
            _SERVED.reset(token)

    return chat_completion_full_generator


def _install_hook() -> None:
    """Wraps the two generators of ``OpenAIServingChat`` (once), for the 0.11 releases."""
    version = Version(importlib.metadata.version("vllm"))
    low, high = HOOK_VERSIONS
    if not low <= Version(version.base_version) < high:
        logger.warning(
            "minimax_rs: the serving hook is written for vLLM 0.11, not %s; the parsers work on "
            "their own (choice 0, no prompt, no end-of-response flush)",
            version,
        )
        return
    for name, hook in (
        ("chat_completion_stream_generator", _hook_stream),
        ("chat_completion_full_generator", _hook_full),
    ):
        current = getattr(OpenAIServingChat, name)
        if getattr(current, _HOOK, False):
            continue
        params = list(inspect.signature(current).parameters)
        assert params[:3] == ["self", "request", "result_generator"], (name, params)
        wrapped = hook(current)
        setattr(wrapped, _HOOK, True)
        setattr(OpenAIServingChat, name, wrapped)


def register() -> None:
    module = "minimax_parser.vllm_plugin.v0_11"
    ToolParserManager.register_lazy_module(TOOL_PARSER_NAME, module, "MinimaxRsToolParser")
    ReasoningParserManager.register_lazy_module(
        REASONING_PARSER_NAME, module, "MinimaxRsReasoningParser"
    )
    ReasoningParserManager.register_lazy_module(
        APPEND_THINK_PARSER_NAME, module, "MinimaxRsAppendThinkReasoningParser"
    )
    _install_hook()

"""Client-side post-processing of OpenAI-compatible responses whose ``content`` still holds the raw
MiniMax-M2 or MiniMax-M3 markup (Ollama, LM Studio, MLX servers, engines started without parser
flags).

``wrap_stream`` / ``awrap_stream`` rewrite a stream of ``chat.completion.chunk`` objects (the
``openai`` SDK's ``ChatCompletionChunk`` or plain dicts of the same shape) and ``wrap_completion`` a
whole ``chat.completion``: reasoning moves to ``reasoning_content``, the markup leaves ``content``,
and tool calls appear in ``tool_calls`` exactly as the OpenAI API streams them. Each result is the
same kind of object as its input. The ``openai`` package is never imported here: SDK objects are
recognised by their pydantic ``model_dump``/``model_validate`` methods.

Every function takes the parser's options as keywords: ``dialect="m3"`` for MiniMax-M3 output
(default ``"m2"``); ``start_in_reasoning`` defaults to the dialect's start state (m2: inside
reasoning; m3: in content, as its default ``thinking_mode`` "adaptive" renders the prompt), so a
request made with M3's ``chat_template_kwargs={"thinking_mode": "enabled"}`` is read with
``start_in_reasoning=True``.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence
from typing import Any, Literal, TypeVar

from ._core import (
    ContentDelta,
    ReasoningDelta,
    StreamParser,
    ToolCallDelta,
    ToolCallStart,
    parse,
)

__all__ = ["StreamRewriter", "awrap_stream", "wrap_completion", "wrap_stream"]

T = TypeVar("T")

#: Fields a reasoning-aware upstream uses for reasoning it already separated.
_REASONING_FIELDS = ("reasoning_content", "reasoning")
#: Delta fields that make a chunk worth sending even without text.
_CARRIERS = ("role", "refusal", "function_call", "audio")


def _to_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return copy.deepcopy(obj)
    dump = getattr(obj, "model_dump", None)
    if dump is None:
        raise TypeError(
            f"expected a dict or an openai SDK object (with model_dump), got {type(obj).__name__}"
        )
    data: dict[str, Any] = dump(exclude_unset=True)
    return data


def _like(original: T, data: dict[str, Any]) -> T:
    """``data`` as the same kind of object as ``original``."""
    if isinstance(original, dict):
        return data  # type: ignore[return-value]
    result: T = type(original).model_validate(data)  # type: ignore[attr-defined]
    return result


class _Choice:
    """Parsing state of one choice index of a stream."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.parser: StreamParser | None = None
        self.made_calls = False
        self.finished = False

    def get_parser(self, upstream_reasoning: bool) -> StreamParser:
        if self.parser is None:
            opts = dict(self.options)
            if upstream_reasoning:
                # The upstream already took the reasoning out: content starts outside it.
                opts["start_in_reasoning"] = False
            self.parser = StreamParser(**opts)
        return self.parser


class StreamRewriter:
    """Rewrites decoded ``chat.completion.chunk`` dicts one by one; the engine under the adapters
    and the proxy. ``process`` returns the chunks to send (zero or one), ``finish`` what is left
    when the stream ends without a finish reason."""

    def __init__(
        self,
        *,
        tools: Sequence[Any] | None = None,
        dialect: Literal["m2", "m3"] = "m2",
        **options: Any,
    ) -> None:
        self._options = {"tools": tools, "dialect": dialect, **options}
        # Fail on bad options now, not at the first content.
        StreamParser(**self._options)
        self._choices: dict[int, _Choice] = {}
        self._last: dict[str, Any] | None = None

    def _choice(self, index: int) -> _Choice:
        if index not in self._choices:
            self._choices[index] = _Choice(self._options)
        return self._choices[index]

    def process(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        """The rewritten chunk, or ``[]`` when it carries nothing after parsing."""
        self._last = chunk
        choices = chunk.get("choices") or []
        meaningful = bool(chunk.get("usage")) or not choices
        out_choices = []
        for choice in choices:
            state = self._choice(int(choice.get("index", 0)))
            delta = dict(choice.get("delta") or {})
            upstream_reasoning = any(delta.get(f) for f in _REASONING_FIELDS)
            text = delta.pop("content", None)
            events = []
            if text or upstream_reasoning:
                parser = state.get_parser(upstream_reasoning)
                if text and not parser.finished:
                    events = parser.feed(text)
            finish_reason = choice.get("finish_reason")
            if finish_reason is not None and not state.finished:
                if state.parser is not None and not state.parser.finished:
                    events += state.parser.finish()
                state.finished = True
            _apply(delta, events, state)
            if finish_reason == "stop" and state.made_calls:
                finish_reason = "tool_calls"
            new_choice = dict(choice)
            new_choice["delta"] = delta
            new_choice["finish_reason"] = finish_reason
            out_choices.append(new_choice)
            if text is not None and "content" not in delta and delta.get("role"):
                delta["content"] = ""  # the usual first chunk: role and empty content
            if finish_reason is not None or _carries(delta):
                meaningful = True
        if not meaningful:
            return []
        out = dict(chunk)
        out["choices"] = out_choices
        return [out]

    def finish(self) -> list[dict[str, Any]]:
        """Flushes choices whose stream ended without a finish reason (a cut-off response)."""
        if self._last is None:
            return []
        out_choices = []
        for index, state in sorted(self._choices.items()):
            if state.finished or state.parser is None:
                continue
            state.finished = True
            delta: dict[str, Any] = {}
            _apply(delta, state.parser.finish(), state)
            if _carries(delta):
                out_choices.append({"index": index, "delta": delta, "finish_reason": None})
        if not out_choices:
            return []
        out = {k: v for k, v in self._last.items() if k not in ("choices", "usage")}
        out["choices"] = out_choices
        return [out]


def _carries(delta: dict[str, Any]) -> bool:
    return bool(
        delta.get("content")
        or delta.get("tool_calls")
        or any(delta.get(f) for f in _REASONING_FIELDS)
        or any(delta.get(f) is not None for f in _CARRIERS)
    )


def _apply(delta: dict[str, Any], events: Sequence[Any], state: _Choice) -> None:
    """Writes parser events into an OpenAI delta dict."""
    content = ""
    reasoning = ""
    calls: list[dict[str, Any]] = list(delta.get("tool_calls") or [])
    for e in events:
        if isinstance(e, ContentDelta):
            content += e.text
        elif isinstance(e, ReasoningDelta):
            reasoning += e.text
        elif isinstance(e, ToolCallStart):
            state.made_calls = True
            calls.append(
                {
                    "index": e.index,
                    "id": e.id,
                    "type": "function",
                    "function": {"name": e.name, "arguments": ""},
                }
            )
        elif isinstance(e, ToolCallDelta):
            if calls and calls[-1]["index"] == e.index:
                calls[-1]["function"]["arguments"] += e.arguments
            else:
                calls.append({"index": e.index, "function": {"arguments": e.arguments}})
    if content:
        delta["content"] = content
    if reasoning:
        delta["reasoning_content"] = (delta.get("reasoning_content") or "") + reasoning
    if calls:
        delta["tool_calls"] = calls


def wrap_stream(
    chunks: Iterable[T],
    *,
    tools: Sequence[Any] | None = None,
    dialect: Literal["m2", "m3"] = "m2",
    **options: Any,
) -> Iterator[T]:
    """Yields ``chunks`` with their content parsed (see the module docstring).

    ``dialect`` is the model's format (``"m2"`` or ``"m3"``); ``options`` are the other parser
    options (``reasoning``, ``start_in_reasoning``, ``tool_calls_in_reasoning``,
    ``id_generator``); bad ones raise here, not at the first chunk."""
    rewriter = StreamRewriter(tools=tools, dialect=dialect, **options)

    def rewrite() -> Iterator[T]:
        last: T | None = None
        for chunk in chunks:
            last = chunk
            for out in rewriter.process(_to_dict(chunk)):
                yield _like(chunk, out)
        if last is not None:
            for out in rewriter.finish():
                yield _like(last, out)

    return rewrite()


def awrap_stream(
    chunks: AsyncIterable[T],
    *,
    tools: Sequence[Any] | None = None,
    dialect: Literal["m2", "m3"] = "m2",
    **options: Any,
) -> AsyncIterator[T]:
    """:func:`wrap_stream` for async iterables (``AsyncOpenAI`` streams)."""
    rewriter = StreamRewriter(tools=tools, dialect=dialect, **options)

    async def rewrite() -> AsyncIterator[T]:
        last: T | None = None
        async for chunk in chunks:
            last = chunk
            for out in rewriter.process(_to_dict(chunk)):
                yield _like(chunk, out)
        if last is not None:
            for out in rewriter.finish():
                yield _like(last, out)

    return rewrite()


def wrap_completion(
    completion: T,
    *,
    tools: Sequence[Any] | None = None,
    dialect: Literal["m2", "m3"] = "m2",
    **options: Any,
) -> T:
    """Returns ``completion`` (a ``chat.completion``) with each choice's message parsed; the
    options are :func:`wrap_stream`'s."""
    opts = {"tools": tools, "dialect": dialect, **options}
    data = _to_dict(completion)
    for choice in data.get("choices") or []:
        message = choice.get("message") or {}
        text = message.get("content")
        if not isinstance(text, str):
            continue
        upstream = next((f for f in _REASONING_FIELDS if message.get(f)), None)
        # The upstream already took the reasoning out: content starts outside it.
        msg = parse(text, **(opts if upstream is None else {**opts, "start_in_reasoning": False}))
        message["content"] = msg.content
        if msg.reasoning is not None:
            field = upstream or "reasoning_content"
            message[field] = (message.get(field) or "") + msg.reasoning
        if msg.tool_calls:
            message["tool_calls"] = list(message.get("tool_calls") or []) + [
                c.to_openai() for c in msg.tool_calls
            ]
            if choice.get("finish_reason") == "stop":
                choice["finish_reason"] = "tool_calls"
        choice["message"] = message
    return _like(completion, data)

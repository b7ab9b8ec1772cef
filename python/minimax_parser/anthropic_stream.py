"""The Anthropic Messages API over an OpenAI-compatible server that passes MiniMax-M2 or MiniMax-M3
markup through in ``content`` (Ollama, LM Studio, vLLM or SGLang started without parser flags).

Pure Python, no dependencies (the ``anthropic`` package is never imported); the proxy's
``POST /v1/messages`` (:mod:`minimax_parser.proxy_anthropic`) is built on it, and a Python app can
use it in-process:

* :func:`to_chat_request` turns a Messages request body into a chat completion request body:
  ``system`` (a string or text blocks) becomes the system message; ``text`` blocks become
  content (``image`` blocks with a ``base64`` or ``url`` source become ``image_url`` parts);
  ``tool_result`` blocks become ``tool`` messages (their text blocks joined); an assistant's
  ``tool_use`` blocks become ``tool_calls`` and its ``thinking`` blocks that turn's reasoning,
  written back as the dialect's think block before its content (``restore="inline"``, the
  default), in ``reasoning_content`` (``"field"``) or dropped (``"off"``); ``tools`` become
  function tools; ``tool_choice`` ``auto``/``any``/``tool``/``none`` becomes ``"auto"``,
  ``"required"``, a named function or ``"none"``; ``max_tokens``, ``stop_sequences``
  (``stop``), ``temperature``, ``top_p``, ``top_k`` and ``stream`` are carried over (a stream
  asks for usage). With ``dialect="m3"``, ``thinking`` ``{"type": "enabled"}`` /
  ``{"type": "disabled"}`` becomes ``chat_template_kwargs.thinking_mode``.
* :class:`MessageStream` turns chat completion chunks into Anthropic stream events (dicts with
  a ``type``) and keeps the message they add up to; :func:`wrap_stream` / :func:`awrap_stream`
  do it for an iterable / async iterable of chunks (dicts or ``openai`` SDK objects) and
  :func:`to_message` for a whole ``chat.completion``. By default the chunks are a raw upstream's
  (the markup is parsed here, typed by the request's tools: the Anthropic form
  ``{name, input_schema}`` is accepted as it is); ``parsed=True`` takes chunks whose
  reasoning, content and tool calls are already separated (within one chunk: the arguments
  continuing the open call, reasoning, content, then the other calls; arguments for a call
  whose block was closed by later text are dropped).
* :func:`sse` encodes an event as ``event:``/``data:`` lines; :func:`error_body` is an
  Anthropic error object.

What the events say: ``message_start`` (usage ``input_tokens`` 0: an OpenAI upstream counts
tokens at the end), a block per run of one kind in the order the model wrote them: ``thinking``
(``thinking_delta``, then a ``signature_delta`` before its ``content_block_stop``: the
signature is ``"minimax-parser:"`` and a SHA-256 of the thinking, nothing Anthropic checks),
``text`` (``text_delta``) and ``tool_use`` (``input_json_delta``: each fragment extends a JSON
prefix, the whole is the arguments object typed by the tool's schema; a call cut off by the end
of the output closes with the arguments so far), then ``message_delta`` with the stop reason and
the usage (``input_tokens`` and ``output_tokens`` from the upstream's) and ``message_stop``.
Stop reasons: ``max_tokens`` when the upstream stopped for length (even after calls),
``stop_sequence`` when it names one of the request's stop sequences (vLLM's ``stop_reason``),
``refusal`` for ``content_filter``, ``tool_use`` when calls were made, else ``end_turn``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from ._core import ContentDelta, ReasoningDelta, StreamParser, ToolCallDelta, ToolCallStart
from .render import think_block

__all__ = [
    "MessageStream",
    "RequestError",
    "awrap_stream",
    "completion_chunk",
    "error_body",
    "error_type",
    "parser_tools",
    "sse",
    "to_chat_request",
    "to_message",
    "wrap_stream",
]

Dialect = Literal["m2", "m3"]
Restore = Literal["inline", "field", "off"]
_REASONING_FIELDS = ("reasoning_content", "reasoning")
#: Anthropic error types by HTTP status (others: ``api_error``).
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


class RequestError(ValueError):
    """A Messages request that cannot be translated (a 400 ``invalid_request_error``)."""


def error_type(status: int) -> str:
    """The Anthropic error type for an HTTP status."""
    return _ERROR_TYPES.get(status, "invalid_request_error" if 400 <= status < 500 else "api_error")


def error_body(status: int, message: str) -> dict[str, Any]:
    """``{"type": "error", "error": {"type": ..., "message": ...}}`` for ``status``."""
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def sse(event: Mapping[str, Any]) -> bytes:
    """One event as server-sent event lines, named by its ``type``."""
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


# -- requests ------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    """``content`` (a string or a list of blocks) as a list of blocks."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise RequestError(f"{where} must be a string or a list of blocks, got {_kind(content)}")
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise RequestError(f"{where}[{i}] must be an object with a string 'type'")
    return content


def _text(block: dict[str, Any], where: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise RequestError(f"{where}.text must be a string, got {_kind(text)}")
    return text


def _image(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "base64":
        url = f"data:{source.get('media_type')};base64,{source.get('data')}"
    elif isinstance(source, dict) and source.get("type") == "url":
        url = str(source.get("url"))
    else:
        raise RequestError(f"{where}.source must be a base64 or url image source")
    return {"type": "image_url", "image_url": {"url": url}}


def _user_content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def _tool_result(block: dict[str, Any], where: str) -> dict[str, Any]:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str):
        raise RequestError(f"{where}.tool_use_id must be a string, got {_kind(call_id)}")
    texts = []
    for i, part in enumerate(_blocks(block.get("content", ""), f"{where}.content")):
        if part["type"] == "text":
            texts.append(_text(part, f"{where}.content[{i}]"))
        # other kinds (images) have no place in a chat tool message: left out
    return {"role": "tool", "tool_call_id": call_id, "content": "\n".join(texts)}


def _user(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for i, block in enumerate(_blocks(message.get("content"), f"{where}.content")):
        at = f"{where}.content[{i}]"
        kind = block["type"]
        if kind == "tool_result":
            out.append(_tool_result(block, at))
        elif kind == "text":
            parts.append({"type": "text", "text": _text(block, at)})
        elif kind == "image":
            parts.append(_image(block, at))
        # documents, search results and other kinds: not translated, left out
    if parts:
        out.append({"role": "user", "content": _user_content(parts)})
    return out


def _assistant(
    message: dict[str, Any], where: str, dialect: Dialect, restore: Restore
) -> dict[str, Any]:
    text, reasoning = "", ""
    calls = []
    for i, block in enumerate(_blocks(message.get("content"), f"{where}.content")):
        at = f"{where}.content[{i}]"
        kind = block["type"]
        if kind == "text":
            text += _text(block, at)
        elif kind == "thinking":
            thinking = block.get("thinking")
            if not isinstance(thinking, str):
                raise RequestError(f"{at}.thinking must be a string, got {_kind(thinking)}")
            reasoning += thinking
        elif kind in ("tool_use", "server_tool_use"):
            call_id, name, args = block.get("id"), block.get("name"), block.get("input", {})
            if not isinstance(call_id, str) or not isinstance(name, str):
                raise RequestError(f"{at} must have a string 'id' and 'name'")
            if not isinstance(args, dict):
                raise RequestError(f"{at}.input must be an object, got {_kind(args)}")
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)},
                }
            )
        # redacted_thinking and other kinds: nothing the upstream could read
    out: dict[str, Any] = {"role": "assistant", "content": text}
    if reasoning and restore == "inline":
        out["content"] = think_block(reasoning, dialect) + text
    elif reasoning and restore == "field":
        out["reasoning_content"] = reasoning
    if calls:
        out["tool_calls"] = calls
    return out


def _tools(tools: Any) -> list[dict[str, Any]]:
    """The request's custom tools (server tools, with another ``type``, have no schema here)."""
    if not isinstance(tools, list):
        raise RequestError(f"'tools' must be a list of objects, got {_kind(tools)}")
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise RequestError(f"'tools[{i}]' must be an object, got {_kind(tool)}")
        if tool.get("type", "custom") != "custom":
            continue
        name, schema = tool.get("name"), tool.get("input_schema")
        if not isinstance(name, str) or not name:
            raise RequestError(f"'tools[{i}].name' must be a non-empty string")
        if not isinstance(schema, dict):
            raise RequestError(f"'tools[{i}].input_schema' must be an object, got {_kind(schema)}")
        out.append(tool)
    return out


def parser_tools(body: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The request's custom tools as the parser takes them (``{name, input_schema}``)."""
    tools = body.get("tools")
    if tools is None:
        return None
    return [{"name": t["name"], "input_schema": t["input_schema"]} for t in _tools(tools)]


def _tool_choice(choice: Any, names: Sequence[str]) -> tuple[Any, bool | None]:
    """The chat ``tool_choice`` and ``parallel_tool_calls`` for an Anthropic ``tool_choice``."""
    if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
        raise RequestError(
            '\'tool_choice\' must be {"type": "auto"|"any"|"none"} or {"type": "tool", "name": ...}'
        )
    parallel = False if choice.get("disable_parallel_tool_use") is True else None
    kind = choice["type"]
    if kind == "tool":
        name = choice.get("name")
        if name not in names:
            raise RequestError(f"'tool_choice' names the tool {name!r}, which is not in 'tools'")
        return {"type": "function", "function": {"name": name}}, parallel
    if kind == "any" and not names:
        raise RequestError('tool_choice {"type": "any"} needs a non-empty \'tools\' list')
    return {"auto": "auto", "any": "required", "none": "none"}[kind], parallel


def to_chat_request(
    body: Mapping[str, Any], *, dialect: Dialect = "m2", restore: Restore = "inline"
) -> dict[str, Any]:
    """The chat completion request body for a Messages request ``body`` (see the module
    docstring); raises :class:`RequestError` saying what is wrong."""
    if not isinstance(body, Mapping):
        raise RequestError(f"the request body must be a JSON object, got {_kind(body)}")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise RequestError(f"'messages' must be a list of objects, got {_kind(messages)}")
    model = body.get("model")
    if not isinstance(model, str):
        raise RequestError(f"'model' must be a string, got {_kind(model)}")
    out: dict[str, Any] = {"model": model, "messages": []}
    chat = out["messages"]
    system = body.get("system")
    if system is not None:
        texts = [_text(b, f"system[{i}]") for i, b in enumerate(_blocks(system, "'system'"))]
        if texts:
            chat.append({"role": "system", "content": "\n\n".join(texts)})
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise RequestError(f"{where} must be an object, got {_kind(message)}")
        role = message.get("role")
        if role == "user":
            chat.extend(_user(message, where))
        elif role == "assistant":
            chat.append(_assistant(message, where, dialect, restore))
        else:
            raise RequestError(f"{where}.role must be 'user' or 'assistant', got {role!r}")
    tools = _tools(body["tools"]) if body.get("tools") is not None else []
    if tools:
        out["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t["name"],
                    **({"description": t["description"]} if "description" in t else {}),
                    "parameters": t["input_schema"],
                },
            }
            for t in tools
        ]
    if body.get("tool_choice") is not None:
        choice, parallel = _tool_choice(body["tool_choice"], [t["name"] for t in tools])
        if tools or choice == "none":
            out["tool_choice"] = choice
        if parallel is not None and tools:
            out["parallel_tool_calls"] = parallel
    max_tokens = body.get("max_tokens")
    if max_tokens is not None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise RequestError(f"'max_tokens' must be a positive integer, got {max_tokens!r}")
        out["max_tokens"] = max_tokens
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise RequestError("'stop_sequences' must be a list of strings")
        if stops:
            out["stop"] = stops
    for name in ("temperature", "top_p", "top_k"):
        if body.get(name) is not None:
            value = body[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RequestError(f"'{name}' must be a number, got {_kind(value)}")
            out[name] = value
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise RequestError(f"'stream' must be a boolean, got {_kind(stream)}")
    out["stream"] = bool(stream)
    if stream:
        out["stream_options"] = {"include_usage": True}
    thinking = body.get("thinking")
    modes = ("enabled", "disabled")
    if dialect == "m3" and isinstance(thinking, dict) and thinking.get("type") in modes:
        out["chat_template_kwargs"] = {"thinking_mode": thinking["type"]}
    return out


# -- responses -----------------------------------------------------------------------------------


def _signature(thinking: str) -> str:
    return "minimax-parser:" + hashlib.sha256(thinking.encode("utf-8")).hexdigest()


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


class MessageStream:
    """Chat completion chunks (dicts) in, Anthropic stream events out, one call per chunk.

    :meth:`start` gives ``message_start`` and a ``ping``; :meth:`process` the events of one
    chunk (of its first choice); :meth:`finish` the last ones (closing blocks, ``message_delta``,
    ``message_stop``); :attr:`message` is the message the events so far add up to (complete after
    :meth:`finish`), as the non-streaming API returns it. ``tools`` type the calls' arguments
    (any form the parser takes); ``drop_calls`` leaves calls out (``tool_choice`` ``none``);
    ``stop_sequences`` are the request's (to tell ``stop_sequence`` from ``end_turn``);
    ``parsed``: the chunks are already parsed (see the module docstring); ``options`` are the
    parser's (``dialect``, ``start_in_reasoning``, ...)."""

    def __init__(
        self,
        *,
        model: str = "",
        tools: Sequence[Any] | None = None,
        drop_calls: bool = False,
        stop_sequences: Sequence[str] = (),
        parsed: bool = False,
        message_id: str | None = None,
        **options: Any,
    ) -> None:
        self._options = {"tools": tools, **options}
        if not parsed:
            StreamParser(**self._options)  # fail on bad options now, not at the first content
        self._parsed = parsed
        self._parser: StreamParser | None = None
        self._drop_calls = drop_calls
        self._stop_sequences = list(stop_sequences)
        self.message: dict[str, Any] = {
            "id": message_id or "msg_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        self._open: tuple[str, int] | None = None  # kind and call index (-1) of the open block
        self._args: dict[int, str] = {}  # block index -> arguments so far (tool_use blocks)
        self._calls: dict[int, int] = {}  # the parser's call index -> block index
        self._finish: str | None = None
        self._stop: str | None = None  # vLLM's stop_reason: the stop string matched
        self.finished = False  # a finish reason arrived
        self._done = False

    # events

    def start(self) -> list[dict[str, Any]]:
        """``message_start`` (the message with no content) and a ``ping``."""
        head = copy.deepcopy(self.message)
        head["content"] = []
        return [{"type": "message_start", "message": head}, {"type": "ping"}]

    def _close(self) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        index = len(self.message["content"]) - 1
        block = self.message["content"][index]
        out = []
        if block["type"] == "thinking":
            block["signature"] = _signature(block["thinking"])
            delta = {"type": "signature_delta", "signature": block["signature"]}
            out.append({"type": "content_block_delta", "index": index, "delta": delta})
        elif block["type"] == "tool_use":
            args = self._args.get(index, "")
            try:
                block["input"] = json.loads(args) if args else {}
            except ValueError:
                block["input"] = {}
        out.append({"type": "content_block_stop", "index": index})
        self._open = None
        return out

    def _begin(self, kind: str, block: dict[str, Any], call: int = -1) -> list[dict[str, Any]]:
        out = self._close()
        self.message["content"].append(block)
        self._open = (kind, call)
        index = len(self.message["content"]) - 1
        start = copy.deepcopy(block)
        out.append({"type": "content_block_start", "index": index, "content_block": start})
        return out

    def _thinking(self, text: str) -> list[dict[str, Any]]:
        if not text:
            return []
        out = []
        if self._open is None or self._open[0] != "thinking":
            out = self._begin("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        index = len(self.message["content"]) - 1
        self.message["content"][index]["thinking"] += text
        delta = {"type": "thinking_delta", "thinking": text}
        out.append({"type": "content_block_delta", "index": index, "delta": delta})
        return out

    def _text(self, text: str) -> list[dict[str, Any]]:
        if not text:
            return []
        out = []
        if self._open is None or self._open[0] != "text":
            out = self._begin("text", {"type": "text", "text": ""})
        index = len(self.message["content"]) - 1
        self.message["content"][index]["text"] += text
        delta = {"type": "text_delta", "text": text}
        out.append({"type": "content_block_delta", "index": index, "delta": delta})
        return out

    def _call_start(self, call: int, call_id: str, name: str) -> list[dict[str, Any]]:
        if self._drop_calls:
            return []
        block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
        out = self._begin("tool_use", block, call)
        self._calls[call] = len(self.message["content"]) - 1
        return out

    def _call_args(self, call: int, fragment: str) -> list[dict[str, Any]]:
        index = self._calls.get(call)
        if not fragment or index is None:
            return []
        if self._open != ("tool_use", call):  # only the open block takes deltas
            return []
        self._args[index] = self._args.get(index, "") + fragment
        delta = {"type": "input_json_delta", "partial_json": fragment}
        return [{"type": "content_block_delta", "index": index, "delta": delta}]

    def _events(self, events: Sequence[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for e in events:
            if isinstance(e, ContentDelta):
                out += self._text(e.text)
            elif isinstance(e, ReasoningDelta):
                out += self._thinking(e.text)
            elif isinstance(e, ToolCallStart):
                out += self._call_start(e.index, e.id, e.name)
            elif isinstance(e, ToolCallDelta):
                out += self._call_args(e.index, e.arguments)
        return out

    def _parser_for(self, upstream_reasoning: bool) -> StreamParser:
        if self._parser is None:
            opts = dict(self._options)
            if upstream_reasoning:
                # The upstream already took the reasoning out: content starts outside it.
                opts["start_in_reasoning"] = False
            self._parser = StreamParser(**opts)
        return self._parser

    def process(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The events of one chunk (a dict)."""
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage(usage)
        choices = chunk.get("choices") or []
        choice = next((c for c in choices if c.get("index", 0) == 0), None)
        if choice is None or self.finished:
            return []
        delta = choice.get("delta") or {}
        out: list[dict[str, Any]] = []
        upstream = "".join(delta.get(f) or "" for f in _REASONING_FIELDS)
        text = delta.get("content") or ""
        calls = delta.get("tool_calls") or []
        if self._parsed and calls and self._open is not None and self._open[0] == "tool_use":
            # Arguments of the open call continue it: they come before the chunk's text.
            first = calls[0]
            if not first.get("id") and int(first.get("index", 0)) == self._open[1]:
                out += self._call_args(
                    self._open[1], (first.get("function") or {}).get("arguments") or ""
                )
                calls = calls[1:]
        out += self._thinking(upstream)
        if self._parsed:
            out += self._text(text)
            for call in calls:
                fn = call.get("function") or {}
                index = int(call.get("index", 0))
                if call.get("id"):
                    out += self._call_start(index, call["id"], fn.get("name") or "")
                out += self._call_args(index, fn.get("arguments") or "")
        elif text or upstream:
            parser = self._parser_for(bool(upstream))
            if text and not parser.finished:
                out += self._events(parser.feed(text))
        finish = choice.get("finish_reason")
        if finish is not None:
            self.finished = True
            self._finish = finish
            stop = choice.get("stop_reason")
            self._stop = stop if isinstance(stop, str) else None
            if self._parser is not None and not self._parser.finished:
                out += self._events(self._parser.finish())
        return out

    def _usage(self, usage: dict[str, Any]) -> None:
        u = self.message["usage"]
        for ours, theirs in (
            ("input_tokens", "prompt_tokens"),
            ("output_tokens", "completion_tokens"),
        ):
            value = usage.get(theirs)
            if isinstance(value, int) and not isinstance(value, bool):
                u[ours] = value

    def stop_reason(self) -> tuple[str, str | None]:
        """The stop reason and stop sequence for what arrived so far."""
        calls = any(b["type"] == "tool_use" for b in self.message["content"])
        if self._finish == "length":
            return "max_tokens", None
        if self._stop is not None and self._stop in self._stop_sequences:
            return "stop_sequence", self._stop
        if self._finish == "content_filter":
            return "refusal", None
        return ("tool_use" if calls else "end_turn"), None

    def finish(self) -> list[dict[str, Any]]:
        """Flushes what the parser holds and ends the message: closes the open block, then
        ``message_delta`` and ``message_stop``. Once only; later calls return ``[]``."""
        if self._done:
            return []
        self._done = True
        out = []
        if self._parser is not None and not self._parser.finished:
            out += self._events(self._parser.finish())
        out += self._close()
        reason, sequence = self.stop_reason()
        self.message["stop_reason"] = reason
        self.message["stop_sequence"] = sequence
        delta = {"stop_reason": reason, "stop_sequence": sequence}
        usage = dict(self.message["usage"])
        out.append({"type": "message_delta", "delta": delta, "usage": usage})
        out.append({"type": "message_stop"})
        return out


def wrap_stream(
    chunks: Iterable[Any],
    *,
    model: str = "",
    tools: Sequence[Any] | None = None,
    dialect: Dialect = "m2",
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """The Anthropic stream events (dicts) for a stream of chat completion chunks (dicts or
    ``openai`` SDK objects) from a raw upstream; ``options`` are :class:`MessageStream`'s and the
    parser's. Bad options raise here, not at the first chunk."""
    stream = MessageStream(model=model, tools=tools, dialect=dialect, **options)

    def events() -> Iterator[dict[str, Any]]:
        yield from stream.start()
        for chunk in chunks:
            yield from stream.process(_to_dict(chunk))
        yield from stream.finish()

    return events()


def awrap_stream(
    chunks: AsyncIterable[Any],
    *,
    model: str = "",
    tools: Sequence[Any] | None = None,
    dialect: Dialect = "m2",
    **options: Any,
) -> AsyncIterator[dict[str, Any]]:
    """:func:`wrap_stream` for async iterables (``AsyncOpenAI`` streams)."""
    stream = MessageStream(model=model, tools=tools, dialect=dialect, **options)

    async def events() -> AsyncIterator[dict[str, Any]]:
        for event in stream.start():
            yield event
        async for chunk in chunks:
            for event in stream.process(_to_dict(chunk)):
                yield event
        for event in stream.finish():
            yield event

    return events()


def completion_chunk(completion: Mapping[str, Any]) -> dict[str, Any]:
    """A whole ``chat.completion`` (dict) as one chunk: its first choice's message as the delta."""
    choices = completion.get("choices") or []
    choice: dict[str, Any] = next((c for c in choices if c.get("index", 0) == 0), {})
    chunk: dict[str, Any] = {
        "choices": [
            {
                "index": 0,
                "delta": dict(choice.get("message") or {}),
                "finish_reason": choice.get("finish_reason") or "stop",
                **({"stop_reason": choice["stop_reason"]} if "stop_reason" in choice else {}),
            }
        ]
    }
    if completion.get("usage") is not None:
        chunk["usage"] = completion["usage"]
    return chunk


def to_message(
    completion: Any,
    *,
    model: str = "",
    tools: Sequence[Any] | None = None,
    dialect: Dialect = "m2",
    **options: Any,
) -> dict[str, Any]:
    """The Anthropic message (a dict) for a whole ``chat.completion`` (a dict or an ``openai``
    SDK object) from a raw upstream: the same blocks the stream of the same text adds up to."""
    stream = MessageStream(model=model, tools=tools, dialect=dialect, **options)
    stream.process(completion_chunk(_to_dict(completion)))
    stream.finish()
    return stream.message

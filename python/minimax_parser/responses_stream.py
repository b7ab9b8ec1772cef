"""The OpenAI Responses API (``POST /v1/responses``) on top of a chat completions server that
passes MiniMax-M2 or MiniMax-M3 markup through in ``content``: the Responses adapter of the proxy
and of an in-process app, with no dependency beyond the parser.

* :func:`chat_request` translates a Responses request into a chat completions request for the
  upstream: ``instructions`` and the leading ``system``/``developer`` items become one system
  message; ``input`` (a string, or items: messages, ``function_call``, ``function_call_output``,
  ``reasoning``) becomes ``messages``, each ``reasoning`` item going back as the reasoning of the
  assistant turn it precedes (``restore="inline"``: the dialect's think block before its
  content, ``"field"``: ``reasoning_content``, ``"off"``: dropped); function tools
  ``{type: "function", name, parameters}`` become chat tools; ``tool_choice``,
  ``max_output_tokens``, ``temperature``, ``top_p``, ``parallel_tool_calls`` and a JSON
  ``text.format`` carry over. What cannot be translated raises :class:`RequestError`.
* :class:`ResponsesStream` turns the upstream's ``chat.completion.chunk`` dicts (raw markup in
  ``content``; reasoning an upstream already separated and calls it already parsed pass
  through) into the Responses stream events, parsing the markup in order, so that each
  ``reasoning``, ``message`` and ``function_call`` item comes out where the model wrote it;
  :meth:`ResponsesStream.response` is the final ``response`` object.
  :func:`stream_events` / :func:`astream_events` wrap a (sync / async) chunk iterator,
  :func:`response_from_completion` converts a whole ``chat.completion``, :func:`sse` encodes an
  event, :func:`error_body` is an error object.

One parse gives both forms: a non-streamed response is the final object of the same machine fed
the whole completion, so a client that accumulates the stream gets the non-streamed response
(apart from the ids and ``created_at``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from ._core import (
    ContentDelta,
    ReasoningDelta,
    StreamParser,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
)
from .openai_stream import _to_dict
from .render import think_block

__all__ = [
    "RequestError",
    "ResponsesStream",
    "astream_events",
    "chat_request",
    "error_body",
    "response_from_completion",
    "sse",
    "stream_events",
]

Restore = Literal["inline", "field", "off"]

#: Request fields copied to the chat request under the same name.
_SAME_FIELDS = ("model", "temperature", "top_p", "parallel_tool_calls", "user")
#: Fields of the chat API (or of vLLM / SGLang / Ollama) a Responses client may add through its
#: ``extra_body``; copied as they are.
_CHAT_EXTRAS = (
    "chat_template_kwargs",
    "top_k",
    "min_p",
    "repetition_penalty",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "stop",
)
#: Responses fields accepted and not forwarded: they have no chat counterpart, or only OpenAI's
#: service uses them.
_IGNORED_FIELDS = frozenset(
    {
        "store",
        "include",
        "metadata",
        "reasoning",
        "truncation",
        "service_tier",
        "prompt_cache_key",
        "safety_identifier",
        "stream_options",
        "top_logprobs",
        "background",
        "max_tool_calls",
        "text",
        "instructions",
        "input",
        "tools",
        "tool_choice",
        "stream",
        "max_output_tokens",
        "prompt_cache_retention",
        "client_metadata",
    }
)
_REASONING_FIELDS = ("reasoning_content", "reasoning")


class RequestError(ValueError):
    """A Responses request that cannot be translated (the proxy answers 400 with its message)."""


def _what(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


# -- request translation -------------------------------------------------------------------------


def _text_parts(content: Any, where: str) -> str | list[dict[str, Any]]:
    """A Responses message content (a string or parts) as chat content: a string when it is
    text only (text parts joined by newlines), else chat parts (text and ``image_url``)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise RequestError(f"{where}.content must be a string or a list, got {_what(content)}")
    parts: list[dict[str, Any]] = []
    for i, part in enumerate(content):
        at = f"{where}.content[{i}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text", "summary_text", "reasoning_text"):
            text = part.get("text")
            if not isinstance(text, str):
                raise RequestError(f"{at}.text must be a string, got {_what(text)}")
            parts.append({"type": "text", "text": text})
        elif kind == "refusal":
            parts.append({"type": "text", "text": str(part.get("refusal") or "")})
        elif kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str):
                raise RequestError(f"{at}: only input_image parts with an image_url are supported")
            image: dict[str, Any] = {"url": url}
            if isinstance(part.get("detail"), str):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            raise RequestError(f"{at}: content parts of type {kind!r} are not supported")
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def _reasoning_text(item: Mapping[str, Any], where: str) -> str:
    """The text of a replayed ``reasoning`` item: its ``reasoning_text`` content (what this
    adapter sends), else its summary."""
    for name in ("content", "summary"):
        parts = item.get(name)
        if isinstance(parts, list) and parts:
            text = _text_parts(parts, where)
            if isinstance(text, str) and text:
                return text
    return ""


def _function_tool(tool: Any, where: str) -> dict[str, Any] | None:
    """A Responses tool as a chat tool; ``None`` for the kinds without a chat counterpart
    (hosted tools such as ``web_search``, ``custom`` tools)."""
    if not isinstance(tool, dict):
        raise RequestError(f"{where} must be an object, got {_what(tool)}")
    if tool.get("type", "function") != "function":
        return None
    if isinstance(tool.get("function"), dict):  # already the chat form
        return tool
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise RequestError(f"{where}.name must be a non-empty string")
    if tool.get("parameters") is not None and not isinstance(tool["parameters"], dict):
        raise RequestError(f"{where}.parameters must be an object, got {_what(tool['parameters'])}")
    function: dict[str, Any] = {"name": name}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    return {"type": "function", "function": function}


def _flat_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool as the response repeats it: the Responses form (a chat-form function tool
    flattened)."""
    function = tool.get("function")
    if tool.get("type", "function") != "function":
        return tool
    return {"type": "function", **(function if isinstance(function, dict) else tool)}


def _tool_choice(value: Any) -> Any:
    if value is None or value in ("auto", "none", "required"):
        return value
    if isinstance(value, dict) and value.get("type") == "function":
        name = value.get("name")
        if not isinstance(name, str) or not name:
            raise RequestError("tool_choice {type: 'function'} needs a 'name'")
        return {"type": "function", "function": {"name": name}}
    raise RequestError(
        "tool_choice must be 'auto', 'none', 'required' or {type: 'function', name}; "
        f"got {json.dumps(value)[:100]}"
    )


def _response_format(text: Any) -> dict[str, Any] | None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return None
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    raise RequestError(f"text.format of type {fmt.get('type')!r} is not supported")


class _History:
    """Builds chat messages from Responses input items, merging the assistant side of a turn
    (reasoning, output messages, function calls) into one assistant message."""

    def __init__(self, dialect: Literal["m2", "m3"], restore: Restore) -> None:
        self.dialect = dialect
        self.restore = restore
        self.messages: list[dict[str, Any]] = []
        self.system: list[str] = []  # leading system/developer text, before any other message
        self._assistant: dict[str, Any] | None = None  # the open assistant message
        self._reasoning: list[str] = []  # the open assistant turn's reasoning

    def _open_assistant(self) -> dict[str, Any]:
        if self._assistant is None:
            self._assistant = {"role": "assistant", "content": ""}
            self.messages.append(self._assistant)
        return self._assistant

    def close(self) -> None:
        """Ends the assistant turn being built: its reasoning goes in by the restore mode."""
        message, reasoning = self._assistant, "".join(self._reasoning)
        self._assistant, self._reasoning = None, []
        if message is None or not reasoning or self.restore == "off":
            return
        if self.restore == "field":
            message["reasoning_content"] = reasoning
        else:
            message["content"] = think_block(reasoning, self.dialect) + message["content"]

    def add(self, item: Any, where: str) -> None:
        if not isinstance(item, dict):
            raise RequestError(f"{where} must be an object, got {_what(item)}")
        kind = item.get("type", "message")
        if kind == "message":
            self._message(item, where)
        elif kind == "reasoning":
            self._reasoning.append(_reasoning_text(item, where))
            self._open_assistant()
        elif kind == "function_call":
            call_id, name, args = item.get("call_id"), item.get("name"), item.get("arguments")
            for key, value in (("call_id", call_id), ("name", name), ("arguments", args)):
                if not isinstance(value, str):
                    raise RequestError(f"{where}.{key} must be a string, got {_what(value)}")
            message = self._open_assistant()
            call = {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": args},
            }
            message.setdefault("tool_calls", []).append(call)
        elif kind == "function_call_output":
            self.close()
            call_id = item.get("call_id")
            if not isinstance(call_id, str):
                raise RequestError(f"{where}.call_id must be a string, got {_what(call_id)}")
            output = item.get("output")
            text = output if isinstance(output, str) else _text_parts(output, where)
            self.messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
        else:
            raise RequestError(
                f"{where}: input items of type {kind!r} are not supported (the proxy "
                "translates messages, reasoning, function_call and function_call_output items)"
            )

    def _message(self, item: Mapping[str, Any], where: str) -> None:
        role = item.get("role")
        if role not in ("user", "system", "developer", "assistant"):
            raise RequestError(f"{where}.role must be user, system, developer or assistant")
        content = _text_parts(item.get("content"), where)
        if role == "assistant":
            message = self._open_assistant()
            text = content if isinstance(content, str) else _joined(content)
            message["content"] += text
            return
        self.close()
        if role in ("system", "developer"):
            if not self.messages and isinstance(content, str):
                self.system.append(content)
                return
            role = "system"
        self.messages.append({"role": role, "content": content})


def _joined(parts: list[dict[str, Any]]) -> str:
    return "\n".join(p.get("text", "") for p in parts if p.get("type") == "text")


def chat_request(
    body: Mapping[str, Any],
    *,
    dialect: Literal["m2", "m3"] = "m2",
    restore: Restore = "inline",
) -> dict[str, Any]:
    """The chat completions request for a Responses request ``body`` (see the module
    docstring). ``dialect`` is the model's markup, used for the think block of replayed
    reasoning (``restore="inline"``). Raises :class:`RequestError` for what has no
    translation (``previous_response_id``: the proxy keeps no responses, send the history)."""
    if not isinstance(body, Mapping):
        raise RequestError(f"the request body must be a JSON object, got {_what(body)}")
    if body.get("previous_response_id") is not None:
        raise RequestError(
            "previous_response_id is not supported: the proxy stores no responses; send the "
            "whole conversation in 'input' (with store=false, as Codex does)"
        )
    if body.get("conversation") is not None or body.get("prompt") is not None:
        raise RequestError("'conversation' and 'prompt' (stored objects) are not supported")
    history = _History(dialect, restore)
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise RequestError(f"'instructions' must be a string, got {_what(instructions)}")
    if instructions:
        history.system.append(instructions)
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list):
        raise RequestError(f"'input' must be a string or a list of items, got {_what(items)}")
    for i, item in enumerate(items):
        history.add(item, f"input[{i}]")
    history.close()
    messages = history.messages
    if history.system:
        messages.insert(0, {"role": "system", "content": "\n\n".join(history.system)})
    out: dict[str, Any] = {"messages": messages}
    for name in _SAME_FIELDS + _CHAT_EXTRAS:
        if body.get(name) is not None:
            out[name] = body[name]
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise RequestError(f"'tools' must be a list, got {_what(tools)}")
        converted = [_function_tool(t, f"tools[{i}]") for i, t in enumerate(tools)]
        chat_tools = [t for t in converted if t is not None]
        if chat_tools:
            out["tools"] = chat_tools
    choice = _tool_choice(body.get("tool_choice"))
    if choice is not None and (out.get("tools") or choice == "none"):
        out["tool_choice"] = choice
    if body.get("max_output_tokens") is not None:
        out["max_tokens"] = body["max_output_tokens"]
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        out["response_format"] = response_format
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise RequestError(f"'stream' must be a boolean, got {_what(stream)}")
    if stream:
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    return out


# -- the response --------------------------------------------------------------------------------


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _usage(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None

    def count(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    prompt = usage.get("prompt_tokens_details")
    completion = usage.get("completion_tokens_details")
    cached = count(prompt.get("cached_tokens")) if isinstance(prompt, dict) else 0
    reasoning = count(completion.get("reasoning_tokens")) if isinstance(completion, dict) else 0
    return {
        "input_tokens": count(usage.get("prompt_tokens")),
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": count(usage.get("completion_tokens")),
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": count(usage.get("total_tokens")),
    }


def _part(kind: str, text: str) -> dict[str, Any]:
    """The content part of a reasoning or message item."""
    if kind == "reasoning":
        return {"type": "reasoning_text", "text": text}
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


class _Item:
    """One output item being streamed."""

    def __init__(self, index: int, kind: str, data: dict[str, Any]) -> None:
        self.index = index
        self.kind = kind  # "reasoning", "message" or "function_call"
        self.data = data
        self.text: list[str] = []


class ResponsesStream:
    """Turns the chunks of one chat completion stream into Responses events (dicts with their
    ``type`` and ``sequence_number``).

    ``tools`` (chat or Responses form) type the call arguments, ``dialect`` and ``options`` are
    the parser's; ``request`` is the Responses request, whose ``model``, ``instructions``,
    ``tools``, ``tool_choice`` and sampling fields the response object repeats (its
    ``tool_choice="none"`` drops parsed calls, as the chat proxy does). :meth:`start` gives the
    opening events, :meth:`feed` those of one chunk (only choice 0 is read), :meth:`finish` the
    closing ones (``response.completed``, or ``response.incomplete`` when the upstream stopped
    for length or a content filter, or ``response.failed`` when ``error`` is given: a stream
    that broke off)."""

    def __init__(
        self,
        *,
        request: Mapping[str, Any] | None = None,
        tools: Sequence[Any] | None = None,
        dialect: Literal["m2", "m3"] = "m2",
        **options: Any,
    ) -> None:
        if tools is not None:  # hosted tools (web_search, ...) have no schema to type by
            tools = [
                t
                for t in tools
                if not isinstance(t, dict) or t.get("type", "function") == "function"
            ]
        self._options = {"tools": tools or None, "dialect": dialect, **options}
        StreamParser(**self._options)  # bad options fail here
        request = request or {}
        self._drop_calls = request.get("tool_choice") == "none"
        self._parser: StreamParser | None = None
        self._seq = 0
        self._items: list[_Item] = []
        self._open: _Item | None = None
        self._calls: dict[int, _Item] = {}  # upstream or parser call index -> its item
        self._finish_reason: str | None = None
        self._usage: dict[str, Any] | None = None
        self._started = False
        self._finished = False
        self.response_object: dict[str, Any] = {
            "id": _id("resp"),
            "object": "response",
            "created_at": int(time.time()),
            "status": "in_progress",
            "error": None,
            "incomplete_details": None,
            "instructions": request.get("instructions"),
            "max_output_tokens": request.get("max_output_tokens"),
            "model": request.get("model") or "",
            "output": [],
            "parallel_tool_calls": request.get("parallel_tool_calls", True),
            "temperature": request.get("temperature"),
            "tool_choice": request.get("tool_choice") or "auto",
            "tools": [_flat_tool(t) for t in request.get("tools") or [] if isinstance(t, dict)],
            "top_p": request.get("top_p"),
            "metadata": request.get("metadata") or {},
            "text": request.get("text") or {"format": {"type": "text"}},
            "usage": None,
        }

    # -- events ----------------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event

    def _snapshot(self) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(self.response_object))
        return copy  # a copy no later change reaches

    def start(self) -> list[dict[str, Any]]:
        """``response.created`` and ``response.in_progress`` (once; :meth:`feed` and
        :meth:`finish` call it when it was not called)."""
        if self._started:
            return []
        self._started = True
        return [
            self._event("response.created", response=self._snapshot()),
            self._event("response.in_progress", response=self._snapshot()),
        ]

    def _close(self, status: str = "completed") -> list[dict[str, Any]]:
        item, self._open = self._open, None
        if item is None:
            return []
        out = []
        where = {"item_id": item.data["id"], "output_index": item.index}
        text = "".join(item.text)
        if item.kind == "reasoning":
            part = _part("reasoning", text)
            out.append(
                self._event("response.reasoning_text.done", content_index=0, text=text, **where)
            )
            out.append(
                self._event("response.content_part.done", content_index=0, part=part, **where)
            )
            item.data["content"] = [part]
        elif item.kind == "message":
            part = _part("message", text)
            done = self._event(
                "response.output_text.done", content_index=0, text=text, logprobs=[], **where
            )
            out.append(done)
            out.append(
                self._event("response.content_part.done", content_index=0, part=part, **where)
            )
            item.data["content"] = [part]
        else:
            item.data["arguments"] = text
            out.append(
                self._event("response.function_call_arguments.done", arguments=text, **where)
            )
        item.data["status"] = status
        out.append(
            self._event("response.output_item.done", output_index=item.index, item=item.data)
        )
        self.response_object["output"].append(item.data)
        return out

    def _item(self, kind: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        out = self._close()
        item = self._open = _Item(len(self._items), kind, data)
        self._items.append(item)
        added = dict(data, status="in_progress")
        out.append(self._event("response.output_item.added", output_index=item.index, item=added))
        where = {"item_id": data["id"], "output_index": item.index, "content_index": 0}
        if kind == "reasoning":
            part = _part("reasoning", "")
            out.append(self._event("response.content_part.added", part=part, **where))
        elif kind == "message":
            part = _part("message", "")
            out.append(self._event("response.content_part.added", part=part, **where))
        return out

    def _text(self, kind: str, text: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not text:
            return out
        if self._open is None or self._open.kind != kind:
            if kind == "reasoning":
                data = {"id": _id("rs"), "type": "reasoning", "summary": [], "content": []}
            else:
                data = {"id": _id("msg"), "type": "message", "role": "assistant", "content": []}
            out += self._item(kind, data)
        assert self._open is not None
        self._open.text.append(text)
        where = {"item_id": self._open.data["id"], "output_index": self._open.index}
        if kind == "reasoning":
            out.append(
                self._event("response.reasoning_text.delta", content_index=0, delta=text, **where)
            )
        else:
            out.append(
                self._event(
                    "response.output_text.delta", content_index=0, delta=text, logprobs=[], **where
                )
            )
        return out

    def _call_start(self, index: int, call_id: str, name: str) -> list[dict[str, Any]]:
        if self._drop_calls:
            return []
        data = {
            "id": _id("fc"),
            "type": "function_call",
            "call_id": call_id,
            "name": name,
            "arguments": "",
        }
        out = self._item("function_call", data)
        self._calls[index] = self._items[-1]
        return out

    def _call_args(self, index: int, arguments: str) -> list[dict[str, Any]]:
        item = self._calls.get(index)
        if item is None or not arguments:
            return []
        item.text.append(arguments)
        if item is not self._open:  # a late fragment of a call already closed (upstream-parsed)
            return []
        where = {"item_id": item.data["id"], "output_index": item.index}
        return [self._event("response.function_call_arguments.delta", delta=arguments, **where)]

    def _parsed(self, events: Iterable[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for e in events:
            if isinstance(e, ReasoningDelta):
                out += self._text("reasoning", e.text)
            elif isinstance(e, ContentDelta):
                out += self._text("message", e.text)
            elif isinstance(e, ToolCallStart):
                out += self._call_start(e.index, e.id, e.name)
            elif isinstance(e, ToolCallDelta):
                out += self._call_args(e.index, e.arguments)
            elif isinstance(e, ToolCallEnd):
                item = self._calls.get(e.index)
                if item is not None and item is self._open:
                    out += self._close("incomplete" if e.incomplete else "completed")
        return out

    # -- input -----------------------------------------------------------------------------------

    def feed(self, chunk: Any) -> list[dict[str, Any]]:
        """The events for one ``chat.completion.chunk`` (a dict or an SDK object)."""
        data = _to_dict(chunk) if not isinstance(chunk, dict) else chunk
        out = self.start()
        if self._finished:
            return out
        if isinstance(data.get("usage"), dict):
            self._usage = data["usage"]
        for choice in data.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            out += self._delta(delta)
            reason = choice.get("finish_reason")
            if reason is not None and self._finish_reason is None:
                if self._parser is not None and not self._parser.finished:
                    out += self._parsed(self._parser.finish())
                self._finish_reason = reason
        return out

    def _delta(self, delta: Mapping[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        upstream = next((delta[f] for f in _REASONING_FIELDS if delta.get(f)), None)
        if isinstance(upstream, str):  # reasoning the upstream separated itself
            out += self._text("reasoning", upstream)
        text = delta.get("content")
        if (text or upstream) and self._parser is None:
            opts = dict(self._options)
            if upstream:  # content then starts outside reasoning
                opts["start_in_reasoning"] = False
            self._parser = StreamParser(**opts)
        if isinstance(text, str) and text and self._parser is not None:
            if not self._parser.finished:
                out += self._parsed(self._parser.feed(text))
        for call in delta.get("tool_calls") or []:  # calls the upstream parsed itself
            if not isinstance(call, dict):
                continue
            index = 1_000_000 + int(call.get("index", 0))  # apart from the parser's indexes
            function = call.get("function") or {}
            if call.get("id"):
                out += self._call_start(index, call["id"], function.get("name") or "")
            out += self._call_args(index, function.get("arguments") or "")
        return out

    def finish(self, error: str | None = None) -> list[dict[str, Any]]:
        """The closing events: what the parser held back, the open item's end and
        ``response.completed`` / ``response.incomplete`` / ``response.failed`` (``error``: the
        message of a stream that broke off). Further calls return ``[]``."""
        out = self.start()
        if self._finished:
            return out
        if self._parser is not None and not self._parser.finished:
            out += self._parsed(self._parser.finish())
        self._finished = True
        reason = self._finish_reason
        cut = error is not None or reason in ("length", "content_filter")
        out += self._close("incomplete" if cut else "completed")
        r = self.response_object
        r["usage"] = _usage(self._usage)
        if error is not None:
            r["status"] = "failed"
            r["error"] = {"code": "server_error", "message": error}
            kind = "response.failed"
        elif cut:
            r["status"] = "incomplete"
            why = "max_output_tokens" if reason == "length" else "content_filter"
            r["incomplete_details"] = {"reason": why}
            kind = "response.incomplete"
        else:
            r["status"] = "completed"
            kind = "response.completed"
        out.append(self._event(kind, response=self._snapshot()))
        return out

    @property
    def response(self) -> dict[str, Any]:
        """The ``response`` object as it stands (complete after :meth:`finish`)."""
        return self.response_object

    @property
    def tool_calls(self) -> int:
        """Function calls in the output so far."""
        return sum(1 for item in self._items if item.kind == "function_call")


# -- wrappers ------------------------------------------------------------------------------------


def stream_events(
    chunks: Iterable[Any],
    *,
    request: Mapping[str, Any] | None = None,
    tools: Sequence[Any] | None = None,
    dialect: Literal["m2", "m3"] = "m2",
    **options: Any,
) -> Iterator[dict[str, Any]]:
    """The Responses events of a chat completion chunk stream (dicts or ``openai`` SDK
    chunks; see :class:`ResponsesStream`). ``tools`` default to the ``request``'s."""
    if tools is None and request is not None:
        tools = request.get("tools")
    machine = ResponsesStream(request=request, tools=tools, dialect=dialect, **options)

    def run() -> Iterator[dict[str, Any]]:
        yield from machine.start()
        for chunk in chunks:
            yield from machine.feed(chunk)
        yield from machine.finish()

    return run()


def astream_events(
    chunks: AsyncIterable[Any],
    *,
    request: Mapping[str, Any] | None = None,
    tools: Sequence[Any] | None = None,
    dialect: Literal["m2", "m3"] = "m2",
    **options: Any,
) -> AsyncIterator[dict[str, Any]]:
    """:func:`stream_events` for async iterables (``AsyncOpenAI`` streams)."""
    if tools is None and request is not None:
        tools = request.get("tools")
    machine = ResponsesStream(request=request, tools=tools, dialect=dialect, **options)

    async def run() -> AsyncIterator[dict[str, Any]]:
        for event in machine.start():
            yield event
        async for chunk in chunks:
            for event in machine.feed(chunk):
                yield event
        for event in machine.finish():
            yield event

    return run()


def completion_chunk(completion: Mapping[str, Any]) -> dict[str, Any]:
    """A whole ``chat.completion`` (choice 0) as the one chunk that streams it."""
    choices = completion.get("choices") or []
    choice = next((c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0), None)
    out: dict[str, Any] = {"choices": [], "usage": completion.get("usage")}
    if choice is not None:
        message = dict(choice.get("message") or {})
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            message["tool_calls"] = [dict(c, index=i) for i, c in enumerate(calls)]
        out["choices"] = [
            {"index": 0, "delta": message, "finish_reason": choice.get("finish_reason")}
        ]
    return out


def response_from_completion(
    completion: Any,
    *,
    request: Mapping[str, Any] | None = None,
    tools: Sequence[Any] | None = None,
    dialect: Literal["m2", "m3"] = "m2",
    **options: Any,
) -> dict[str, Any]:
    """The ``response`` object for a whole ``chat.completion`` (a dict or an SDK object) whose
    content holds the raw markup: the final object of :class:`ResponsesStream` fed it at once."""
    if tools is None and request is not None:
        tools = request.get("tools")
    machine = ResponsesStream(request=request, tools=tools, dialect=dialect, **options)
    data = _to_dict(completion)
    machine.feed(completion_chunk(data))
    machine.finish()
    return machine.response


def sse(event: Mapping[str, Any]) -> bytes:
    """One event as server-sent event bytes, named by its ``type`` (as OpenAI sends them)."""
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def error_body(
    message: str, type_: str = "invalid_request_error", code: str | None = None
) -> dict[str, Any]:
    """An OpenAI error object: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}

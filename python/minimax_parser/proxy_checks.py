"""The proxy's checks of what it is given: strict JSON (requests and upstream documents alike),
the shape of ``chat.completion`` and ``chat.completion.chunk`` documents as far as the rewriter
reads them, chat completion requests, and the paths of ``GET /v1/models/{id}``. Each check raises
a ``ValueError`` subclass whose message says what is wrong; :mod:`minimax_parser.proxy` turns
them into error responses and SSE error events. No aiohttp here."""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_JSON_DEPTH",
    "BadRequest",
    "ChatRequest",
    "Malformed",
    "NotFound",
    "chat_request",
    "chat_request_body",
    "check_document",
    "event_name_ok",
    "function_tools",
    "loads",
    "models_path",
    "shorten",
    "upstream_chunk",
]

#: Deepest nesting of lists and objects accepted in a request body or an upstream document (the
#: parser takes tool schemas 128 levels deep; OpenAI chunks nest about 8).
MAX_JSON_DEPTH = 256
_TOOL_CHOICE_FORM = '"auto", "none", "required" or {"type": "function", "function": {"name": ...}}'


def shorten(text: str, limit: int = 300) -> str:
    """``text``, its middle elided when longer than ``limit`` characters."""
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return text[:half] + "…" + text[-half:]


class Malformed(ValueError):
    """A JSON document (request or upstream) that is not what it should be."""


class BadRequest(ValueError):
    """A chat completion request the proxy refuses (a 400)."""


class NotFound(ValueError):
    """A path the proxy does not forward (a 404)."""


# -- strict JSON and the shapes the rewriter reads ----------------------------------------------


def _no_constant(name: str) -> Any:
    raise Malformed(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Malformed(f"{shorten(text, 40)} is out of range for a JSON number")
    return value


def loads(raw: bytes | str, what: str) -> Any:
    """``raw`` decoded as strict UTF-8 and strict JSON (no NaN/Infinity, no infinite floats, at
    most :data:`MAX_JSON_DEPTH` levels); raises :class:`Malformed` saying why not."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Malformed(f"{what} is not valid UTF-8 ({e.reason} at byte {e.start})") from None
    else:
        text = raw
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise Malformed(f"{what} is not valid UTF-8 (at character {e.start})") from None
    too_deep = Malformed(f"{what} is nested too deeply (the limit is {MAX_JSON_DEPTH} levels)")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise too_deep from None
    except ValueError as e:
        raise Malformed(f"{what} is not valid JSON: {e}") from None
    if not _within_depth(value, MAX_JSON_DEPTH):
        raise too_deep
    return value


def _within_depth(value: Any, limit: int) -> bool:
    """Whether ``value`` nests at most ``limit`` lists and dicts deep. Iterative, so it holds
    whatever the interpreter's recursion limit is (``json.loads`` goes as deep as that allows)."""
    if not isinstance(value, (dict, list)):
        return True
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return False
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return True


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _expect(value: Any, types: tuple[type, ...], where: str, wanted: str) -> None:
    if value is not None and not isinstance(value, types):
        raise Malformed(f"{where} must be {wanted} or null, got {_type_name(value)}")


def _index(value: Any, where: str) -> None:
    if type(value) is not int or value < 0:
        raise Malformed(f"{where} must be a non-negative integer, got {shorten(repr(value), 40)}")


#: A JSON escape of a UTF-16 surrogate (U+D800 to U+DFFF): the only way valid UTF-8 JSON text can
#: decode to a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def upstream_document(raw: bytes | str, what: str, part: str) -> dict[str, Any]:
    """An upstream body (``part="message"``) or SSE chunk (``part="delta"``) as a checked dict:
    strict JSON (:func:`loads`), the OpenAI types the rewriter reads (:func:`check_document`), and
    no lone surrogate in any string — walked for only when the text holds a surrogate escape, so
    the usual chunk costs no second pass."""
    doc = check_document(loads(raw, what), part)
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    if _SURROGATE_ESCAPE.search(text):
        _no_lone_surrogate(doc)
    return doc


def check_document(doc: Any, part: str) -> dict[str, Any]:
    """``doc`` if it is a ``chat.completion`` (``part="message"``) or ``chat.completion.chunk``
    (``part="delta"``) whose fields the rewriter reads have their OpenAI types; unknown fields
    pass. Raises :class:`Malformed` naming the first wrong field."""
    if not isinstance(doc, dict):
        raise Malformed(f"expected a JSON object, got {_type_name(doc)}")
    choices = doc.get("choices")
    _expect(choices, (list,), "'choices'", "a list")
    for i, choice in enumerate(choices or []):
        where = f"choices[{i}]"
        if not isinstance(choice, dict):
            raise Malformed(f"{where} must be an object, got {_type_name(choice)}")
        if "index" in choice or part == "delta":
            _index(choice.get("index", 0), f"{where}.index")
        _expect(choice.get("finish_reason"), (str,), f"{where}.finish_reason", "a string")
        body = choice.get(part)
        _expect(body, (dict,), f"{where}.{part}", "an object")
        if not body:
            continue
        for name in ("role", "content", "reasoning_content", "reasoning", "refusal"):
            _expect(body.get(name), (str,), f"{where}.{part}.{name}", "a string")
        calls = body.get("tool_calls")
        _expect(calls, (list,), f"{where}.{part}.tool_calls", "a list")
        for j, call in enumerate(calls or []):
            at = f"{where}.{part}.tool_calls[{j}]"
            if not isinstance(call, dict):
                raise Malformed(f"{at} must be an object, got {_type_name(call)}")
            if part == "delta":
                _index(call.get("index"), f"{at}.index")
            _expect(call.get("id"), (str,), f"{at}.id", "a string")
            function = call.get("function")
            _expect(function, (dict,), f"{at}.function", "an object")
            for name in ("name", "arguments"):
                _expect((function or {}).get(name), (str,), f"{at}.function.{name}", "a string")
    return doc


def _no_lone_surrogate(doc: Any) -> None:
    """Raises :class:`Malformed` if any string of ``doc`` (a key or a value, anywhere) holds a
    lone surrogate (a ``\\ud800`` escape): text that is not Unicode, which a client decoding
    strictly refuses. Iterative, like :func:`_within_depth`."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise Malformed(
                    f"a string holds a lone surrogate: {shorten(repr(item), 60)}"
                ) from None


def _control(c: str) -> bool:
    """C0 and C1 controls, DEL, and the line and paragraph separators (U+2028, U+2029), which
    some line splitters take for line ends."""
    o = ord(c)
    return o < 0x20 or 0x7F <= o <= 0x9F or o in (0x2028, 0x2029)


def event_name_ok(event: str | None) -> bool:
    """Whether an upstream SSE event name may be repeated to the client: valid UTF-8, no control
    characters (no way to end a line or smuggle another field)."""
    if event is None:
        return True
    try:
        event.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(_control(c) for c in event)


def upstream_chunk(event: str | None, data: str) -> dict[str, Any]:
    """One upstream SSE event as a checked ``chat.completion.chunk`` dict."""
    if not event_name_ok(event):
        raise Malformed("the event name is not valid UTF-8 or holds a control character")
    return upstream_document(data, "the chunk", "delta")


# -- requests ------------------------------------------------------------------------------------


def function_tools(tools: Any) -> Any:
    """The request's function tools (OpenAI or bare form); other tool kinds have no schema here."""
    if not isinstance(tools, list):
        return tools
    return [t for t in tools if not isinstance(t, dict) or t.get("type", "function") == "function"]


def _tool_name(tool: Mapping[str, Any]) -> Any:
    function = tool.get("function")
    return function.get("name") if isinstance(function, dict) else tool.get("name")


@dataclass
class ChatRequest:
    """What the proxy needs from a chat completion request body."""

    stream: bool
    tools: list[Any] | None
    #: "auto", "none", "required" or "named"
    tool_choice: str
    #: ``chat_template_kwargs.thinking_mode`` when it is a string (MiniMax-M3's template renders
    #: the prompt by it), else None
    thinking_mode: str | None = None


def _tool_choice(value: Any, tools: list[Any] | None) -> str:
    if value is None or value == "auto":
        return "auto"
    if value in ("none", "required"):
        if value == "required" and not tools:
            raise BadRequest("tool_choice \"required\" needs a non-empty 'tools' list")
        return str(value)
    function = value.get("function") if isinstance(value, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if (
        not isinstance(value, dict)
        or value.get("type", "function") != "function"
        or not isinstance(name, str)
        or not name
    ):
        raise BadRequest(
            f"'tool_choice' must be {_TOOL_CHOICE_FORM}, got {shorten(json.dumps(value), 100)}"
        )
    if name not in [_tool_name(t) for t in tools or []]:
        raise BadRequest(f"'tool_choice' names the function {name!r}, which is not in 'tools'")
    return "named"


def chat_request(raw: bytes) -> ChatRequest:
    """The checked request; raises :class:`BadRequest` saying what is wrong."""
    return chat_request_body(raw)[0]


def chat_request_body(raw: bytes) -> tuple[ChatRequest, dict[str, Any]]:
    """:func:`chat_request`, and the parsed body (``messages`` checked to be a list of objects)."""
    try:
        body = loads(raw, "the request body")
    except Malformed as e:
        raise BadRequest(str(e)) from None
    if not isinstance(body, dict):
        raise BadRequest(f"the request body must be a JSON object, got {_type_name(body)}")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise BadRequest(f"'messages' must be a list of objects, got {_type_name(messages)}")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise BadRequest(f"'messages[{i}]' must be an object, got {_type_name(message)}")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise BadRequest(f"'stream' must be a boolean, got {_type_name(stream)}")
    tools = function_tools(body.get("tools"))
    if tools is not None and not isinstance(tools, list):
        raise BadRequest(f"'tools' must be a list of objects, got {_type_name(tools)}")
    for i, tool in enumerate(tools or []):
        if not isinstance(tool, dict):
            raise BadRequest(f"'tools[{i}]' must be an object, got {_type_name(tool)}")
    kwargs = body.get("chat_template_kwargs")
    mode = kwargs.get("thinking_mode") if isinstance(kwargs, dict) else None
    req = ChatRequest(
        bool(stream),
        tools,
        _tool_choice(body.get("tool_choice"), tools),
        mode if isinstance(mode, str) else None,
    )
    return req, body


def models_path(raw_path: str) -> str:
    """The upstream path (under its base) of ``GET /v1/models[/{id}]``, from the raw request
    target: each segment of the id percent-decoded, checked and re-encoded. Anything that could
    leave ``{upstream}/models`` (a dot segment, an empty one, an encoded ``/`` or ``\\``, a
    control character, bytes that are not UTF-8) raises :class:`NotFound`."""
    path, _, query = raw_path.partition("?")
    segments = path.split("/")[3:]  # "", "v1", "models", id...
    lowered = path.lower()
    bad = "%2f" in lowered or "%5c" in lowered
    out = []
    for segment in segments:
        try:
            text = urllib.parse.unquote(segment, errors="strict")
        except UnicodeDecodeError:
            bad = True
            break
        if text in ("", ".", "..") or "\\" in text or any(ord(c) < 32 or c == "\x7f" for c in text):
            bad = True
            break
        out.append(urllib.parse.quote(text, safe=":@!$&'()*+,;=~"))
    if bad:
        raise NotFound(
            f"not found: GET {shorten(path, 200)}; a model id is one or more path segments "
            "without '.', '..', encoded '/' or '\\', or control characters",
        )
    tail = "".join("/" + s for s in out)
    if query:
        tail += "?" + urllib.parse.quote(query, safe="=&+%/:@!$'()*,;?~")
    return "/models" + tail

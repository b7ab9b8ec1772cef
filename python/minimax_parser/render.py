"""Rendering an assistant message back into the text of its turn (SPEC §8).

The MiniMax chat templates put the model's earlier reasoning back into the next prompt, and most
OpenAI-style clients drop ``reasoning_content`` from the history they send. This module gives the
exact text the official chat template writes for an assistant turn (:func:`render`), and moves a
history's reasoning into ``content`` as the template's think block (:func:`inline_reasoning`),
where every official template splits it out again and any other template passes it through.

Pure Python and no dependencies: it follows the templates' logic step by step rather than
running them, so the base package needs no Jinja.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from ._core import Message

__all__ = ["inline_reasoning", "render", "think_block"]

Dialect: TypeAlias = Literal["m2", "m3"]

#: M3's marker in front of every structural tag of a tool-call block.
N = "]<]minimax[>["
_THINK = {"m2": ("<think>", "</think>"), "m3": ("<mm:think>", "</mm:think>")}
_REASONING_KEYS = ("reasoning_content", "reasoning")


def think_block(reasoning: str, dialect: Dialect = "m2") -> str:
    """The think block the chat template writes for ``reasoning`` at the start of a turn.

    M2: ``"<think>\\n" + reasoning + "\\n</think>\\n\\n"``; M3: ``"<mm:think>" + reasoning +
    "</mm:think>"``. Put in front of a message's content, every official template splits it back
    out into the reasoning of that turn.

    >>> think_block("Need the weather.")
    '<think>\\nNeed the weather.\\n</think>\\n\\n'
    """
    opener, closer = _THINK[_check_dialect(dialect)]
    if dialect == "m2":
        return f"{opener}\n{reasoning}\n{closer}\n\n"
    return f"{opener}{reasoning}{closer}"


def render(message: Any, *, dialect: Dialect = "m2") -> str:
    """The text of an assistant turn, byte for byte as the official chat template writes it
    between the role header ``]~b]ai\\n`` and the end-of-turn token ``[e~[``.

    ``message`` is a :class:`Message`, its ``to_openai()`` dict, any mapping of that shape, or an
    OpenAI SDK message (anything with ``model_dump()``). Each tool call's ``arguments`` may be a
    JSON object text or a mapping; parameters are written in order, and duplicate keys in a JSON
    text (which :func:`parse` keeps, B 12) are each written once, in order.

    What the templates do, and so what this does:

    * **Reasoning** is ``reasoning_content`` when it is a string (``reasoning`` is accepted as
      an alias, which the templates themselves do not read). Without it, a content holding the
      think closer is split as the template splits it: the reasoning is the text before the first
      closer, after the last opener, with newlines stripped; the content is the text after the
      last closer, newlines stripped.
    * **M2** (``dialect="m2"``: M2, M2.1, M2.5, M2.7): ``<think>\\nR\\n</think>\\n\\n`` when
      there is reasoning, then the content, then ``\\n<minimax:tool_call>\\n``, per call
      ``<invoke name="…">\\n`` with one ``<parameter name="…">VALUE</parameter>\\n`` per argument
      and ``</invoke>\\n``, and ``</minimax:tool_call>``. String values are written raw, other
      values as ``json.dumps(value, ensure_ascii=False)``. The M2 template writes the think block
      only for assistant turns after the last user message (inside a tool loop) and drops it for
      earlier turns; this function always writes it when the message has reasoning: it is the
      turn as the template renders it inside a tool loop.
    * **M3**: ``<mm:think>R</mm:think>`` when there is reasoning, a bare ``</mm:think>`` when
      there is none (every turn); the content; then ``N<tool_call>\\n``, per call
      ``N<invoke name="…">`` + the arguments as elements + ``N</invoke>\\n``, and
      ``N</tool_call>`` (``N`` is ``]<]minimax[>[``). Values as the template's ``to_xml``: strings
      raw, numbers as Python's ``str()``, booleans ``true``/``false``, ``None`` left out (an
      empty ``item`` in a list), lists as ``item`` children, mappings as child elements.
    * Content given as a list of parts contributes its text parts (M3 also writes its image and
      video placeholders); ``None`` contributes nothing.

    The text starts outside reasoning (the turn, not the continuation of a generation prompt), so
    ``parse(render(m), dialect=d, start_in_reasoning=False)`` reads it back.

    >>> import minimax_parser as mp
    >>> m = mp.parse('Need it.</think>Checking.<minimax:tool_call><invoke name="f">'
    ...              '<parameter name="days">3</parameter></invoke></minimax:tool_call>')
    >>> print(mp.render(m))
    <think>
    Need it.
    </think>
    <BLANKLINE>
    Checking.
    <minimax:tool_call>
    <invoke name="f">
    <parameter name="days">3</parameter>
    </invoke>
    </minimax:tool_call>
    """
    dialect = _check_dialect(dialect)
    msg = _as_dict(message, "message")
    opener, closer = _THINK[dialect]
    content = _visible_text(msg.get("content"), dialect)
    reasoning = _reasoning_of(msg)
    if reasoning is None:
        reasoning = ""
        if closer in content:
            parts = content.split(closer)
            reasoning = parts[0].strip("\n").split(opener)[-1].strip("\n")
            content = parts[-1].strip("\n")
    calls = msg.get("tool_calls") or []
    if dialect == "m2":
        out = think_block(reasoning, "m2") if reasoning else ""
        out += content
        if calls:
            out += "\n<minimax:tool_call>\n"
            out += "".join(_m2_invoke(call) for call in calls)
            out += "</minimax:tool_call>"
        return out
    out = think_block(reasoning, "m3") if reasoning else closer
    out += content
    if calls:
        out += f"{N}<tool_call>\n"
        out += "".join(_m3_invoke(call) for call in calls)
        out += f"{N}</tool_call>"
    return out


def inline_reasoning(messages: Iterable[Any], *, dialect: Dialect = "m2") -> list[Any]:
    """A copy of a chat history in which each assistant message's reasoning is in its content.

    Every assistant message with a non-empty ``reasoning_content`` (or ``reasoning``) string gets
    ``content = think_block(reasoning) + content`` and loses its reasoning fields, so any server
    and any chat template sees the reasoning: the official templates split it out again, others
    pass it through. Content given as a list of parts gets the think block as a first text part.
    A message whose content already holds a think block (``</think>`` for M2, ``</mm:think>`` for
    M3) is left as it is, and so is every other message.

    The input is never changed: mappings come back as new dicts (a changed message's content list
    is a new list), and objects such as OpenAI SDK messages are either passed through untouched
    or, when their reasoning moves, replaced by a dict of their fields.

    >>> inline_reasoning([{"role": "assistant", "content": "Hi.", "reasoning_content": "Greet."}])
    [{'role': 'assistant', 'content': '<think>\\nGreet.\\n</think>\\n\\nHi.'}]
    """
    dialect = _check_dialect(dialect)
    closer = _THINK[dialect][1]
    out: list[Any] = []
    for message in messages:
        if not isinstance(message, Mapping) and not _is_model(message):
            raise TypeError(f"each message must be a mapping, got {type(message).__name__}")
        msg = _as_dict(message, "message", drop_none=True) if _is_model(message) else message
        reasoning = _reasoning_of(msg)
        has_block = closer in _visible_text(msg.get("content"), dialect)
        if msg.get("role") != "assistant" or not reasoning or has_block:
            out.append(dict(message) if isinstance(message, Mapping) else message)
            continue
        new = {k: v for k, v in msg.items() if k not in _REASONING_KEYS}
        block = think_block(reasoning, dialect)
        content = msg.get("content")
        if isinstance(content, str) or content is None:
            new["content"] = block + (content or "")
        elif isinstance(content, Sequence):
            new["content"] = [{"type": "text", "text": block}, *content]
        else:
            raise TypeError(f"content must be a str, a list of parts or None, got {content!r}")
        out.append(new)
    return out


# ------------------------------------------------------------------------------------ helpers


def _check_dialect(dialect: str) -> Dialect:
    if dialect == "m2":
        return "m2"
    if dialect == "m3":
        return "m3"
    raise ValueError(f"dialect must be 'm2' or 'm3', got {dialect!r}")


def _is_model(obj: Any) -> bool:
    return isinstance(obj, Message) or callable(getattr(obj, "model_dump", None))


def _as_dict(obj: Any, what: str, *, drop_none: bool = False) -> Mapping[str, Any]:
    """A message or tool call as a mapping: ours via ``to_openai()``, pydantic via
    ``model_dump()`` (``drop_none``: without the SDK's unset fields, for a message sent on)."""
    if isinstance(obj, Mapping):
        return obj
    if isinstance(obj, Message):
        return obj.to_openai()
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        data = dump(exclude_none=True) if drop_none else dump()
        if isinstance(data, Mapping):
            return data
    to_openai = getattr(obj, "to_openai", None)  # our ToolCall
    if callable(to_openai):
        data = to_openai()
        if isinstance(data, Mapping):
            return data
    raise TypeError(f"{what} must be a mapping, a Message or a pydantic model, got {obj!r}")


def _reasoning_of(msg: Mapping[str, Any]) -> str | None:
    """The first string among ``reasoning_content`` and ``reasoning`` (the template reads only
    the first; a string there, even empty, wins)."""
    for key in _REASONING_KEYS:
        value = msg.get(key)
        if isinstance(value, str):
            return value
    return None


def _visible_text(content: Any, dialect: Dialect) -> str:
    """The template's ``visible_text``: a string as is, the text parts of a list, ``None`` as
    nothing."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping) or not isinstance(content, Iterable):
        return str(content)
    out = []
    for item in content:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Mapping):
            kind = item.get("type")
            if kind == "text":
                out.append(str(item.get("text", "")))
            elif dialect == "m3" and kind in ("image", "video"):
                out.append(f"]<]{kind}[>[")
    return "".join(out)


class _Pairs(list[tuple[str, Any]]):
    """A JSON object read with its keys in order, duplicates kept."""


def _function(call: Any) -> tuple[str, list[tuple[str, Any]]]:
    """A tool call's name and its arguments as (key, value) pairs in order."""
    call = _as_dict(call, "a tool call")
    function = call.get("function")
    if function:
        call = _as_dict(function, "a tool call's function")
    name = call.get("name")
    if not isinstance(name, str):
        raise TypeError(f"a tool call needs a str name, got {name!r}")
    args = call.get("arguments")
    if args is None or (isinstance(args, str) and not args.strip()):
        return name, []
    if isinstance(args, str):
        try:
            value = json.loads(args, object_pairs_hook=_Pairs)
        except ValueError as e:
            raise ValueError(f"the arguments of {name!r} are not valid JSON: {e}") from None
        if not isinstance(value, _Pairs):
            raise ValueError(f"the arguments of {name!r} are not a JSON object: {args!r}")
        return name, list(value)
    if isinstance(args, Mapping):
        return name, [(str(k), v) for k, v in args.items()]
    raise TypeError(f"the arguments of {name!r} must be a JSON text or a mapping, got {args!r}")


def _items(value: Any) -> list[tuple[Any, Any]] | None:
    if isinstance(value, _Pairs):
        return list(value)
    if isinstance(value, Mapping):
        return list(value.items())
    return None


def _dumps(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False)``, over objects read with duplicate keys."""
    items = _items(value)
    if items is not None:
        inner = ", ".join(f"{_dumps(str(k))}: {_dumps(v)}" for k, v in items)
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_dumps(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _m2_invoke(call: Any) -> str:
    name, args = _function(call)
    params = "".join(
        f'<parameter name="{k}">{v if isinstance(v, str) else _dumps(v)}</parameter>\n'
        for k, v in args
    )
    return f'<invoke name="{name}">\n{params}</invoke>\n'


def _to_xml(value: Any) -> str:
    """The M3 template's ``to_xml`` macro."""
    items = _items(value)
    if items is not None:
        return "".join(f"{N}<{k}>{_to_xml(v)}{N}</{k}>" for k, v in items if v is not None)
    if isinstance(value, list | tuple):
        return "".join(f"{N}<item>{_to_xml(v)}{N}</item>" for v in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _m3_invoke(call: Any) -> str:
    name, args = _function(call)
    return f'{N}<invoke name="{name}">{_to_xml(_Pairs(args))}{N}</invoke>\n'

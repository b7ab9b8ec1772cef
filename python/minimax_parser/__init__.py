"""Streaming parser for MiniMax-M2 and MiniMax-M3 output: reasoning, content and OpenAI-style
tool calls.

>>> import minimax_parser as mp
>>> msg = mp.parse('Thinking.</think>Hi!<minimax:tool_call><invoke name="f">'
...                '<parameter name="x">1</parameter></invoke></minimax:tool_call>')
>>> (msg.reasoning, msg.content, msg.tool_calls[0].arguments)
('Thinking.', 'Hi!', '{"x": 1}')

MiniMax-M3 writes another format (``dialect="m3"``), and starts outside reasoning by default:

>>> N = "]<]minimax[>["
>>> msg = mp.parse(f'<mm:think>Thinking.</mm:think>Hi!{N}<tool_call>{N}<invoke name="f">'
...                f'{N}<x>1{N}</x>{N}</invoke>{N}</tool_call>', dialect="m3")
>>> (msg.reasoning, msg.content, msg.tool_calls[0].arguments)
('Thinking.', 'Hi!', '{"x": 1}')

:func:`render` gives back the text the chat template writes for a turn, and
:func:`inline_reasoning` moves a history's reasoning into its content, so that the next prompt
keeps it:

>>> print(mp.render(msg, dialect="m3").replace(N, "N"))
<mm:think>Thinking.</mm:think>Hi!N<tool_call>
N<invoke name="f">N<x>1N</x>N</invoke>
N</tool_call>
>>> mp.inline_reasoning([{"role": "assistant", "content": "Hi!", "reasoning_content": "Hmm."}])
[{'role': 'assistant', 'content': '<think>\\nHmm.\\n</think>\\n\\nHi!'}]
"""

from __future__ import annotations

from typing import TypeAlias

from ._core import (
    ContentDelta,
    Message,
    ReasoningDelta,
    StreamParser,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    __version__,
    parse,
)
from .render import inline_reasoning, render

Event: TypeAlias = ReasoningDelta | ContentDelta | ToolCallStart | ToolCallDelta | ToolCallEnd
"""Any event returned by :meth:`StreamParser.feed` and :meth:`StreamParser.finish`."""

__all__ = [
    "ContentDelta",
    "Event",
    "Message",
    "ReasoningDelta",
    "StreamParser",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "__version__",
    "inline_reasoning",
    "parse",
    "render",
]

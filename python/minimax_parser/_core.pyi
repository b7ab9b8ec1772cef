"""Type stubs for the Rust extension. Model output never raises; misuse raises.

* ``ValueError``: an option value that is not one of the listed ones, a tool without a name.
* ``TypeError``: ``text`` that is not a ``str``, ``tools`` that is not a list of dicts, an
  ``id_generator`` that is not callable or does not return a ``str``.
* ``RuntimeError``: ``feed``/``finish`` after ``finish``; an internal error (a Rust panic), after
  which that parser refuses further use.

``dialect`` is the model's output format: ``"m2"`` (MiniMax-M2, M2.1, M2.5, M2.7: ``<think>``,
``<minimax:tool_call>``) or ``"m3"`` (MiniMax-M3: ``<mm:think>``, ``]<]minimax[>[`` tags).
``start_in_reasoning=None`` is the dialect's start state: inside reasoning for m2 (its template
opens ``<think>``), in content for m3 (its default ``thinking_mode``, "adaptive"); pass ``True``
for M3's ``thinking_mode="enabled"``.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, final

__all__ = [
    "ContentDelta",
    "Message",
    "ReasoningDelta",
    "StreamParser",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "__version__",
    "_panic_for_tests",
    "parse",
]

__version__: str

@final
class ReasoningDelta:
    kind: ClassVar[str]
    @property
    def text(self) -> str: ...
    def __new__(cls, text: str) -> ReasoningDelta: ...
    def to_openai_delta(self) -> dict[str, Any]: ...

@final
class ContentDelta:
    kind: ClassVar[str]
    @property
    def text(self) -> str: ...
    def __new__(cls, text: str) -> ContentDelta: ...
    def to_openai_delta(self) -> dict[str, Any]: ...

@final
class ToolCallStart:
    kind: ClassVar[str]
    @property
    def index(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    def __new__(cls, index: int, id: str, name: str) -> ToolCallStart: ...
    def to_openai_delta(self) -> dict[str, Any]: ...

@final
class ToolCallDelta:
    kind: ClassVar[str]
    @property
    def index(self) -> int: ...
    @property
    def arguments(self) -> str: ...
    def __new__(cls, index: int, arguments: str) -> ToolCallDelta: ...
    def to_openai_delta(self) -> dict[str, Any]: ...

@final
class ToolCallEnd:
    kind: ClassVar[str]
    @property
    def index(self) -> int: ...
    @property
    def arguments(self) -> str: ...
    @property
    def incomplete(self) -> bool: ...
    def __new__(cls, index: int, arguments: str, incomplete: bool = False) -> ToolCallEnd: ...
    def to_openai_delta(self) -> dict[str, Any]: ...

@final
class ToolCall:
    @property
    def index(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def arguments(self) -> str: ...
    @property
    def incomplete(self) -> bool: ...
    def __new__(
        cls, index: int, id: str, name: str, arguments: str, incomplete: bool = False
    ) -> ToolCall: ...
    def to_openai(self) -> dict[str, Any]: ...

@final
class Message:
    @property
    def reasoning(self) -> str | None: ...
    @property
    def content(self) -> str | None: ...
    @property
    def tool_calls(self) -> list[ToolCall]: ...
    def __new__(
        cls,
        reasoning: str | None = None,
        content: str | None = None,
        tool_calls: Sequence[ToolCall] = ...,
    ) -> Message: ...
    def to_openai(self) -> dict[str, Any]: ...

_Event = ReasoningDelta | ContentDelta | ToolCallStart | ToolCallDelta | ToolCallEnd

def parse(
    text: str,
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    reasoning: Literal["separate", "inline"] = "separate",
    start_in_reasoning: bool | None = None,
    tool_calls_in_reasoning: Literal["extract", "ignore"] = "extract",
    dialect: Literal["m2", "m3"] = "m2",
    id_generator: Callable[[int], str] | None = None,
) -> Message: ...

@final
class StreamParser:
    def __new__(
        cls,
        *,
        tools: Sequence[Mapping[str, Any]] | None = None,
        reasoning: Literal["separate", "inline"] = "separate",
        start_in_reasoning: bool | None = None,
        tool_calls_in_reasoning: Literal["extract", "ignore"] = "extract",
        dialect: Literal["m2", "m3"] = "m2",
        id_generator: Callable[[int], str] | None = None,
    ) -> StreamParser: ...
    def feed(self, text: str) -> list[_Event]: ...
    def finish(self) -> list[_Event]: ...
    @property
    def finished(self) -> bool: ...
    def message(self) -> Message: ...

def _panic_for_tests(message: str) -> None: ...

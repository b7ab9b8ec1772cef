"""The parsers for SGLang 0.5.x (written for 0.5.23): detector classes in SGLang's registries.

SGLang builds a ``ReasoningParser`` and a ``FunctionCallParser`` per response (per request and
choice; per call for a whole response) and each builds its detector from the class registered
under the configured name: ``ReasoningParser.DetectorMap`` and
``FunctionCallParser.ToolCallParserEnum``. Both pass the tokenizer to a detector whose
constructor takes one, which selects the dialect here.

The request's ``chat_template_kwargs`` reach SGLang's own detectors only through checks on their
built-in names (M3's ``thinking_mode``). For ours, :func:`register` adds an ``AFTER`` hook on
``ReasoningParser.__init__`` through SGLang's plugin ``HookRegistry``, which hands the request to
our reasoning detector.

Structural tags and EBNF (``tool_choice`` ``required`` / named, strict tools) are SGLang's own
MiniMax detector's answers for the same dialect.
"""

from __future__ import annotations

import inspect
from typing import Any

from sglang.srt.function_call.base_format_detector import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    BaseFormatDetector,
)
from sglang.srt.function_call.core_types import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    StreamingParseResult,
    ToolCallItem,
)
from sglang.srt.function_call.function_call_parser import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    FunctionCallParser,
)
from sglang.srt.function_call.minimax_m2 import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    MinimaxM2Detector,
)
from sglang.srt.function_call.minimax_m3 import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    MinimaxM3Detector,
)
from sglang.srt.parser import reasoning_parser as sgl_reasoning  # type: ignore[import-untyped, import-not-found, unused-ignore]
from sglang.srt.plugins.hook_registry import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    HookRegistry,
    HookType,
)

from minimax_parser.sglang.common import (
    APPEND_THINK_PARSER_NAME,
    REASONING_PARSER_NAME,
    THINKING_MODE,
    TOOL_PARSER_NAME,
    ReasoningSplit,
    Split,
    ToolStream,
    has_markup,
    start_in_reasoning,
    streamed_calls,
    tokenizer_dialect,
)
from minimax_parser.vllm_plugin.common import (
    M3_NAMESPACE,
    TOOL_CALL_END,
    TOOL_CALL_START,
    Dialect,
    Mode,
    think_tags,
    tool_dicts,
)

ReasoningParser = sgl_reasoning.ReasoningParser
_INIT = "sglang.srt.parser.reasoning_parser.ReasoningParser.__init__"
_registered = False


class MinimaxRsReasoningDetector(sgl_reasoning.BaseReasoningFormatDetector):  # type: ignore[misc]
    """Reasoning parser ``minimax-rs``: the first reasoning segment in ``reasoning_content``, the
    raw rest handed to the tool-call parser (or returned as content).

    MiniMax-M2 responses start inside reasoning. MiniMax-M3 responses start inside reasoning when
    the request's ``chat_template_kwargs`` ``thinking_mode`` is ``"enabled"``, else in content,
    where a leading ``<mm:think>`` opens reasoning and a leading ``</mm:think>`` is dropped.
    ``stream_reasoning=False`` sends the reasoning in one piece when it ends.
    """

    mode: Mode = "separate"

    def __init__(
        self,
        stream_reasoning: bool = True,
        force_reasoning: bool | None = None,
        continue_final_message: bool = False,
        previous_content: str = "",
        force_nonempty_content: bool = False,
        tokenizer: Any = None,
    ) -> None:
        self.dialect: Dialect = tokenizer_dialect(tokenizer) or "m2"
        opener, closer = think_tags(self.dialect)
        tool_start = TOOL_CALL_START if self.dialect == "m2" else M3_NAMESPACE
        super().__init__(
            opener,
            closer,
            force_reasoning=bool(force_reasoning),
            stream_reasoning=stream_reasoning,
            tool_start_token=tool_start,
            continue_final_message=continue_final_message,
            previous_content=previous_content or "",
            force_nonempty_content=force_nonempty_content,
        )
        self._force = force_reasoning
        self._split = ReasoningSplit(
            self.mode,
            self.dialect,
            start=start_in_reasoning(self.dialect, force_reasoning, None, self.previous_content),
            stream_reasoning=stream_reasoning,
        )

    def use_request(self, request: Any) -> None:
        """Takes M3's ``thinking_mode`` from the request's chat-template kwargs (unset: the
        template's default, ``"adaptive"``), before the first feed; called by the
        ``ReasoningParser.__init__`` hook. Without a request ``force_reasoning`` decides."""
        if request is None or self._split.started:
            return
        kwargs = getattr(request, "chat_template_kwargs", None) or {}
        mode = kwargs.get(THINKING_MODE) or "adaptive"  # unset: M3's template default
        self._split.start = start_in_reasoning(
            self.dialect, self._force, mode, self.previous_content
        )

    def get_self_opened_think_start_token_ids(self, tokenizer: Any) -> list[int] | None:
        if self.dialect == "m3":  # an adaptive M3 reply that thinks opens with <mm:think>
            return list(tokenizer.encode(self.think_start_token, add_special_tokens=False))
        return None

    def _result(self, split: Split) -> Any:
        return sgl_reasoning.StreamingParseResult(
            normal_text=split.normal, reasoning_text=split.reasoning
        )

    def detect_and_parse(self, text: str) -> Any:
        split = self._split.parse(text)
        if not has_markup(split.normal, self._split.dialect):
            # No tool-call parser will see this text (SGLang asks it only when there is markup):
            # it is the content, trimmed as a whole (SPEC §2), as streaming gives it.
            split = Split(split.reasoning, split.normal.strip())
        if self._force_nonempty_content and not split.normal.strip():
            split = Split("", split.reasoning + split.normal)
        return self._result(split)

    def parse_streaming_increment(self, new_text: str) -> Any:
        return self._result(self._split.feed(new_text))

    def finish(self) -> Any:
        return self._result(self._split.finish())


class MinimaxRsAppendThinkReasoningDetector(MinimaxRsReasoningDetector):
    """Reasoning parser ``minimax-rs-append-think``: think blocks stay in the content, tags
    included (the opener put in front when the response starts inside reasoning)."""

    mode: Mode = "inline"


class MinimaxRsDetector(BaseFormatDetector):  # type: ignore[misc]
    """Tool-call parser ``minimax-rs``: one :class:`~minimax_parser.StreamParser` per response,
    argument types from the request's tools, both dialects.

    It parses what SGLang hands it starting outside reasoning: the text after the reasoning
    parser, or the whole response when none ran. Calls to tools the request did not declare are
    kept (with string arguments), so it parses without tools too.
    """

    def __init__(self, tokenizer: Any = None) -> None:
        super().__init__()
        dialect = tokenizer_dialect(tokenizer)
        self.dialect: Dialect | None = dialect
        self._stream = ToolStream(dialect)
        self._tools_given = False
        builtin = MinimaxM3Detector if dialect == "m3" else MinimaxM2Detector
        # SGLang's own detector of the dialect: the structural-tag / EBNF answers.
        self._builtin = builtin()
        self.bot_token = self._builtin.tool_call_start_token if dialect != "m3" else M3_NAMESPACE
        self.eot_token = TOOL_CALL_END if dialect != "m3" else ""

    @classmethod
    def parses_without_tools(cls) -> bool:
        return True

    def has_tool_call(self, text: str) -> bool:
        """Whether ``text`` holds any MiniMax markup (tool block or think tag) to parse."""
        return has_markup(text, self.dialect)

    def detect_and_parse(self, text: str, tools: Any) -> Any:
        whole = ToolStream(self.dialect)
        whole.use_tools(tool_dicts(tools))
        normal, calls = whole.parse(text)
        items = [
            ToolCallItem(tool_index=i, name=name, parameters=arguments)
            for i, (name, arguments) in enumerate(calls)
        ]
        return StreamingParseResult(normal_text=normal, calls=items)

    def _result(self, normal: str, pieces: list[Any], final: bool = False) -> Any:
        items = [
            ToolCallItem(tool_index=p.tool_index, name=p.name, parameters=p.arguments)
            for p in pieces
        ]
        if pieces:
            last = int(getattr(self, "current_tool_id", -1))
            self.current_tool_id = max(last, max(p.tool_index for p in pieces))
            self.current_tool_name_sent = True
        if final:
            # SGLang reads these two only when the stream ends, to send argument text it thinks
            # is missing: built once here (building them per delta made each delta cost O(call)),
            # with the argument text exactly as streamed, so it finds nothing missing.
            self.prev_tool_call_arr = streamed_calls(self._stream)
            self.streamed_args_for_tool = [a["arguments"] for a in self.prev_tool_call_arr]
        return StreamingParseResult(normal_text=normal, calls=items)

    def _use_tools(self, tools: Any) -> None:
        # The request's tools are the same on every delta: converted once.
        if not self._tools_given:
            self._tools_given = True
            self._stream.use_tools(tool_dicts(tools))

    def parse_streaming_increment(self, new_text: str, tools: Any) -> Any:
        self._use_tools(tools)
        return self._result(*self._stream.feed(new_text))

    def finish(self, tools: Any) -> Any:
        self._use_tools(tools)
        return self._result(*self._stream.finish(), final=True)

    # -- constrained decoding: SGLang's own MiniMax detector of the dialect -------------------
    def supports_structural_tag(self) -> bool:
        return bool(self._builtin.supports_structural_tag())

    def structure_info(self) -> Any:
        return self._builtin.structure_info()

    def parses_required_natively(self) -> bool:
        return bool(self._builtin.parses_required_natively())

    def get_required_tool_parser(self, tool_choice: Any) -> Any:
        return self._builtin.get_required_tool_parser(tool_choice)

    def get_structural_tag_name(self) -> str | None:
        name = self._builtin.get_structural_tag_name()
        return None if name is None else str(name)

    def get_structural_tag(self, *args: Any, **kwargs: Any) -> Any:
        return self._builtin.get_structural_tag(*args, **kwargs)

    def get_auto_tool_call_structural_tag(self, *args: Any, **kwargs: Any) -> Any:
        return self._builtin.get_auto_tool_call_structural_tag(*args, **kwargs)


def _hand_request(result: Any, parser: Any, *args: Any, **kwargs: Any) -> Any:
    """``AFTER`` hook on ``ReasoningParser.__init__``: gives our detector the request."""
    detector = getattr(parser, "detector", None)
    if isinstance(detector, MinimaxRsReasoningDetector):
        bound = _INIT_SIGNATURE.bind_partial(parser, *args, **kwargs)
        detector.use_request(bound.arguments.get("request"))
    return result


_INIT_SIGNATURE = inspect.signature(ReasoningParser.__init__)


def register() -> None:
    """Adds our classes to SGLang's registries and installs the request hook (once)."""
    global _registered
    FunctionCallParser.ToolCallParserEnum[TOOL_PARSER_NAME] = MinimaxRsDetector
    ReasoningParser.DetectorMap[REASONING_PARSER_NAME] = MinimaxRsReasoningDetector
    ReasoningParser.DetectorMap[APPEND_THINK_PARSER_NAME] = MinimaxRsAppendThinkReasoningDetector
    if _registered:
        return
    _registered = True
    HookRegistry.register(_INIT, _hand_request, HookType.AFTER)
    # Applies now, for code that calls register() after SGLang's load_plugins(); targets
    # already patched are skipped, so load_plugins() applying them again is harmless.
    HookRegistry.apply_hooks()
